"""What one run logs to MLflow: params, metrics, tags, inputs, artifacts, plots, git state,
and how it ends (FINISHED, or FAILED with the error) on a real sqlite store."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from omegaconf import DictConfig, OmegaConf

from conftest import REPO, compose_config
from declarative_ml import __version__
from declarative_ml.metrics import RUN_METRICS, SPLITS
from declarative_ml.runner import RunResult, train
from declarative_ml.tracking.record import config_sha256

HEX64 = re.compile(r"^[0-9a-f]{64}$")
HEX16 = re.compile(r"^[0-9a-f]{16}$")
FAST = (
    "model.params.n_estimators=10",
    "run.log_plots=false",
    "run.log_model=false",
    "run.latency_rows=100",
)


def run_experiment(uri: str, *overrides: str) -> tuple[DictConfig, RunResult, list[str]]:
    """Compose ``overrides`` against ``uri`` and train in this process (forking as configured)."""
    overrides_with_uri = [*overrides, f"tracking.uri='{uri}'"]
    cfg = compose_config(*overrides_with_uri)
    result = train(cfg, overrides=overrides_with_uri)
    return cfg, result, overrides_with_uri


def client_for(uri: str) -> Any:
    from mlflow import MlflowClient

    return MlflowClient(tracking_uri=uri)


def leaves(node: Any, prefix: str = "") -> dict[str, Any]:
    """Leaf values of a nested mapping under dotted keys (empty mappings are leaves)."""
    if isinstance(node, dict) and node:
        out: dict[str, Any] = {}
        for key, value in node.items():
            out.update(leaves(value, f"{prefix}.{key}" if prefix else str(key)))
        return out
    return {prefix: node}


@dataclass(frozen=True)
class Logged:
    cfg: DictConfig
    result: RunResult
    overrides: list[str]
    run: Any
    client: Any
    root: Path


@pytest.fixture(scope="module")
def baseline(tmp_path_factory: pytest.TempPathFactory) -> Logged:
    """One xgb_baseline run with plots and model, in the default forked child."""
    root = tmp_path_factory.mktemp("baseline")
    uri = f"sqlite:///{root / 'mlflow.db'}"
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(root)  # MLflow's default artifact root (./mlruns) goes here
        mp.delenv("MLFLOW_TRACKING_URI", raising=False)
        cfg, result, overrides = run_experiment(
            uri, "experiment=xgb_baseline", "model.params.n_estimators=10", "run.latency_rows=100"
        )
    client = client_for(uri)
    return Logged(cfg, result, overrides, client.get_run(result.run_id), client, root)


# ------------------------------------------------------------------ params and metrics


def test_run_finished(baseline: Logged) -> None:
    info = baseline.run.info
    assert info.status == "FINISHED"
    assert info.end_time is not None and info.end_time >= info.start_time
    assert baseline.result.plan.task == "binary"


def test_params_are_the_flattened_resolved_config(baseline: Logged) -> None:
    params = baseline.run.data.params
    assert params["model.params.max_depth"] == "6"
    assert params["model.params.n_estimators"] == "10"  # the override, not the YAML's 100
    assert params["dataset.split.test_size"] == "0.2"
    assert params["dataset.split.seed"] == "42"  # ${seed}, resolved
    assert params["dataset.task"] == "binary"
    assert params["model.estimator.classification"] == "xgboost.XGBClassifier"
    assert json.loads(params["metrics"]) == ["roc_auc", "f1", "accuracy", "log_loss"]
    expected = leaves(OmegaConf.to_container(baseline.cfg, resolve=True, enum_to_str=True))
    assert set(params) == set(expected)


def test_metrics_cover_every_split_and_the_costs(baseline: Logged) -> None:
    metrics = baseline.run.data.metrics
    configured = list(baseline.cfg.metrics)
    expected = {f"{s}_{m}" for s in SPLITS for m in configured} | set(RUN_METRICS)
    assert expected <= set(metrics)
    for split in SPLITS:
        assert 0.9 <= metrics[f"{split}_roc_auc"] <= 1.0
        assert 0.0 <= metrics[f"{split}_accuracy"] <= 1.0
        assert metrics[f"{split}_log_loss"] > 0
    assert metrics["training_duration_s"] > 0
    assert 0 < metrics["model_size_mb"] < 50
    assert metrics["predict_latency_ms"] > 0
    assert metrics == pytest.approx(baseline.result.metrics)


# ------------------------------------------------------------------------------- tags


def test_tags_identify_config_version_and_data(baseline: Logged) -> None:
    from declarative_ml.data.prepare import prepare_data

    tags = baseline.run.data.tags
    assert HEX64.match(tags["dml.config_sha256"])
    assert tags["dml.config_sha256"] == config_sha256(baseline.cfg)
    assert tags["dml.version"] == __version__
    assert tags["dml.task"] == "binary"
    assert tags["dml.estimator"] == "xgboost.XGBClassifier"
    assert "dml.device" not in tags  # recorded for torch models only
    digests = {k: tags[f"dml.dataset.digest.{k}"] for k in ("train", "val", "test", "all")}
    assert all(HEX16.match(d) for d in digests.values())
    assert len(set(digests.values())) == 4
    # The digests are of the exact rows each split held: recomputed, they agree.
    assert prepare_data(baseline.cfg.dataset, "binary").digests == digests


def test_config_hash_equal_for_equal_configs_and_changes_with_a_param(
    tracking_uri: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    base = ("experiment=xgb_baseline", *FAST)
    _, first, _ = run_experiment(tracking_uri, *base)
    _, again, _ = run_experiment(tracking_uri, *base)
    _, deeper, _ = run_experiment(tracking_uri, *base, "model.params.max_depth=3")
    client = client_for(tracking_uri)
    sha = {
        r.run_id: client.get_run(r.run_id).data.tags["dml.config_sha256"]
        for r in (first, again, deeper)
    }
    assert first.run_id != again.run_id
    assert sha[first.run_id] == sha[again.run_id]
    assert sha[deeper.run_id] != sha[first.run_id]
    assert all(HEX64.match(s) for s in sha.values())


# ----------------------------------------------------------------------------- inputs


def test_each_split_is_a_dataset_input_with_its_context(baseline: Logged) -> None:
    inputs = baseline.client.get_run(baseline.result.run_id).inputs.dataset_inputs
    assert len(inputs) == 3
    by_context = {}
    for dataset_input in inputs:
        contexts = [t.value for t in dataset_input.tags if t.key == "mlflow.data.context"]
        assert len(contexts) == 1
        by_context[contexts[0]] = dataset_input.dataset
    assert set(by_context) == {"train", "val", "test"}
    tags = baseline.run.data.tags
    rows = 0
    for context, dataset in by_context.items():
        assert dataset.name == f"breast_cancer-{context}"
        assert dataset.digest == tags[f"dml.dataset.digest.{context}"]
        assert "mean radius" in dataset.schema and "target" in dataset.schema
        rows += json.loads(dataset.profile)["num_rows"]
    assert rows == 569


# -------------------------------------------------------------------------- artifacts


def test_config_snapshot_reloads_as_the_composed_config(baseline: Logged, tmp_path: Path) -> None:
    folder = Path(
        baseline.client.download_artifacts(baseline.result.run_id, "config", str(tmp_path))
    )
    assert sorted(p.name for p in folder.iterdir()) == ["config.yaml", "overrides.yaml"]
    stored = OmegaConf.load(folder / "config.yaml")
    assert OmegaConf.to_container(stored) == OmegaConf.to_container(
        baseline.cfg, resolve=True, enum_to_str=True
    )
    # The stored config composes back into a run with the same hash.
    assert config_sha256(stored) == baseline.run.data.tags["dml.config_sha256"]
    assert OmegaConf.to_container(OmegaConf.load(folder / "overrides.yaml")) == baseline.overrides


def _png(path: Path) -> bool:
    return path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and path.stat().st_size > 1000


def test_classification_plots(baseline: Logged, tmp_path: Path) -> None:
    listed = {a.path for a in baseline.client.list_artifacts(baseline.result.run_id, "plots")}
    expected = {"plots/confusion_matrix.png", "plots/roc_curve.png", "plots/feature_importance.png"}
    assert listed == expected
    assert expected <= set(baseline.result.artifacts)
    folder = Path(
        baseline.client.download_artifacts(baseline.result.run_id, "plots", str(tmp_path))
    )
    assert all(_png(folder / Path(p).name) for p in expected)


def test_regression_plots(
    tracking_uri: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    _, result, _ = run_experiment(
        tracking_uri, "experiment=ridge_diabetes", "run.log_model=false", "run.latency_rows=100"
    )
    client = client_for(tracking_uri)
    listed = {a.path for a in client.list_artifacts(result.run_id, "plots")}
    assert listed == {"plots/residuals.png", "plots/feature_importance.png"}
    folder = Path(client.download_artifacts(result.run_id, "plots", str(tmp_path / "dl")))
    assert _png(folder / "residuals.png")


# ------------------------------------------------------------------------------- git


def _git(repo: Path, *args: str) -> str:
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@example.com",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@example.com",
    }
    return subprocess.run(
        ["git", "-c", "commit.gpgsign=false", *args],
        cwd=repo,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()


@pytest.mark.skipif(shutil.which("git") is None, reason="needs the git executable")
def test_git_commit_and_dirty_flag(
    tracking_uri: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    _git(repo, "init", "-q")
    (repo / "notes.txt").write_text("first\n")
    _git(repo, "add", "notes.txt")
    _git(repo, "commit", "-q", "-m", "first")
    head = _git(repo, "rev-parse", "HEAD")
    monkeypatch.chdir(repo)

    _, clean, _ = run_experiment(tracking_uri, "experiment=xgb_baseline", *FAST)
    (repo / "notes.txt").write_text("changed\n")
    _, dirty, _ = run_experiment(tracking_uri, "experiment=xgb_baseline", *FAST)

    client = client_for(tracking_uri)
    clean_tags = client.get_run(clean.run_id).data.tags
    dirty_tags = client.get_run(dirty.run_id).data.tags
    assert clean_tags["dml.git.commit"] == head
    assert clean_tags["mlflow.source.git.commit"] == head
    assert clean_tags["dml.git.dirty"] == "false"  # ./mlruns is untracked: not dirty
    assert dirty_tags["dml.git.commit"] == head
    assert dirty_tags["dml.git.dirty"] == "true"


def test_no_git_tags_outside_a_repository(baseline: Logged) -> None:
    # The baseline ran in a temporary folder that is no git repository.
    assert not any(k.startswith("dml.git.") for k in baseline.run.data.tags)


# ----------------------------------------------------------------- how a run ends


@pytest.mark.parametrize("isolate", ["true", "false"])
def test_a_failing_fit_ends_the_run_failed(
    isolate: str, tracking_uri: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from declarative_ml.models.build import build_estimator

    monkeypatch.chdir(tmp_path)
    # Two constraints for four iris features: a valid value that only fit() can refuse.
    overrides = [
        "experiment=rf_iris",
        "+model.params.monotonic_cst=[1,0]",
        "model.params.n_estimators=5",
        "run.log_plots=false",
        f"run.isolate_training={isolate}",
        f"tracking.uri='{tracking_uri}'",
    ]
    cfg = compose_config(*overrides)
    build_estimator(cfg.model, "multiclass")  # accepted when built, with scikit-learn's checks

    with pytest.raises(ValueError, match="monotonic_cst"):
        train(cfg, overrides=overrides)

    client = client_for(tracking_uri)
    experiment = client.get_experiment_by_name("iris")
    runs = client.search_runs([experiment.experiment_id])
    assert len(runs) == 1
    run = runs[0]
    assert run.info.status == "FAILED"
    assert run.data.tags["dml.error"].startswith("ValueError: monotonic_cst")
    assert "error.txt" in {a.path for a in client.list_artifacts(run.info.run_id)}
    running = client.search_runs(
        [experiment.experiment_id], filter_string="attributes.status = 'RUNNING'"
    )
    assert running == []
    assert client.search_registered_models() == []  # the registry is untouched


def test_training_in_a_child_or_in_process_gives_the_same_run(
    tracking_uri: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    results = {
        isolate: run_experiment(
            tracking_uri, "experiment=rf_iris", *FAST, f"run.isolate_training={isolate}"
        )[1]
        for isolate in ("true", "false")
    }
    client = client_for(tracking_uri)
    runs = {k: client.get_run(r.run_id) for k, r in results.items()}
    assert all(r.info.status == "FINISHED" for r in runs.values())
    scores = {
        k: {m: v for m, v in r.data.metrics.items() if m.split("_")[0] in SPLITS}
        for k, r in runs.items()
    }
    assert scores["true"] and scores["true"] == scores["false"]
    digests = {
        k: {t: v for t, v in r.data.tags.items() if t.startswith("dml.dataset.digest")}
        for k, r in runs.items()
    }
    assert digests["true"] == digests["false"]


def test_a_password_in_the_tracking_uri_is_not_logged(
    tracking_uri: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from declarative_ml.config.validate import validate_config
    from declarative_ml.data.prepare import prepare_data
    from declarative_ml.tracking.session import Tracker

    monkeypatch.chdir(tmp_path)
    # A PostgreSQL-backed store, as DESIGN.md's "Scaling out" suggests. The run itself goes
    # to the sqlite store: what is checked is what gets written about the configured URI.
    secret = "s3cret-pw"
    override = f"tracking.uri='postgresql://dml:{secret}@db.internal:5432/mlflow'"
    cfg = compose_config("experiment=rf_iris", override)
    plan = validate_config(cfg)
    data = prepare_data(cfg.dataset, plan.task)
    client = client_for(tracking_uri)
    tracker = Tracker(tracking_uri, client, client.create_experiment("iris"))
    with tracker.run(cfg, [override], plan=plan, data=data) as run:
        run.log_artifacts(tmp_path / "artifacts", hydra_config=None)

    logged = client.get_run(run.run_id)
    assert logged.data.params["tracking.uri"].startswith("postgresql://dml:")
    folder = Path(client.download_artifacts(run.run_id, "config", str(tmp_path / "dl")))
    texts = {
        **{f"param {k}": v for k, v in logged.data.params.items()},
        **{f"tag {k}": v for k, v in logged.data.tags.items()},
        **{f"artifact {p.name}": p.read_text() for p in folder.iterdir()},
    }
    leaks = sorted(where for where, text in texts.items() if secret in text)
    assert leaks == []


HANG_SCRIPT = """
import sys
import numpy as np
import xgboost

sys.path.insert(0, {tests!r})
from conftest import compose_config
from declarative_ml.runner import train

# XGBoost has run in this process, as after a champion was re-scored on new_data
# (promotion=new_data) or an earlier run.isolate_training=false run in a sweep.
xgboost.XGBClassifier(n_estimators=2, n_jobs=1).fit(np.random.rand(40, 3), np.arange(40) % 2)
cfg = compose_config("experiment=xgb_baseline", "tracking.uri='{uri}'",
                     "model.params.n_estimators=5", "run.log_plots=false",
                     "run.log_model=false", "run.isolate_training=true")
print("RUN", train(cfg).run_id)
"""


def test_isolated_training_after_xgboost_ran_in_this_process(
    tracking_uri: str, tmp_path: Path
) -> None:
    script = HANG_SCRIPT.format(tests=str(REPO / "tests"), uri=tracking_uri)
    env = {
        k: v for k, v in os.environ.items() if k not in ("OMP_NUM_THREADS", "MLFLOW_TRACKING_URI")
    }
    proc = subprocess.Popen(
        [sys.executable, "-c", script],
        cwd=tmp_path,
        env=env,
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    try:
        out, err = proc.communicate(timeout=15)  # about 5 s when it works
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)  # the parent and its hung training child
        proc.communicate()
        pytest.fail("training with run.isolate_training=true hung after XGBoost ran in-process")
    assert proc.returncode == 0, err[-2000:]
    run_id = out.split("RUN ")[1].strip()
    assert client_for(tracking_uri).get_run(run_id).info.status == "FINISHED"
