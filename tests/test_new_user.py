"""The new-user bugs: every declared value is used or refused, nothing is lost silently.

A user's own config folder (``hydra.searchpath``, ``--config-dir``, or a searchpath in
their own primary config) is seen by every composition a run makes, not only the first;
keys nothing reads are refused; a tracking URI may carry credentials.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from mlflow import MlflowClient

from conftest import run_cli
from declarative_ml.config.resolvers import CONF_DIR, DATA_DIR

FAST = ("run.log_plots=false",)


def _user_folder(root: Path) -> Path:
    """``root/conf`` with datasets ``mine`` and ``mine_new`` (the penguins CSV copied beside
    them) and an experiment ``mine`` whose promotion scores on ``mine_new``."""
    conf = root / "conf"
    (conf / "dataset").mkdir(parents=True)
    (conf / "experiment").mkdir()
    shutil.copy(DATA_DIR / "penguins.csv", root / "birds.csv")
    (conf / "dataset" / "mine.yaml").write_text(
        f"defaults: [penguins, _self_]\nname: mine\npath: {root / 'birds.csv'}\nschema: null\n"
    )
    (conf / "dataset" / "mine_new.yaml").write_text(
        "defaults: [mine, _self_]\nname: mine_new\nwhere: {year: [2009]}\n"
    )
    (conf / "experiment" / "mine.yaml").write_text(
        "# @package _global_\n"
        "defaults:\n"
        "  - override /dataset: mine\n"
        "  - override /model: random_forest\n"
        "  - override /promotion: new_data\n"
        "model: {params: {n_estimators: 10}}\n"
        "metrics: [accuracy, f1_macro, log_loss]\n"
        "promotion: {new_data: mine_new}\n"
    )
    return conf


def _new_data_metrics(uri: str) -> dict[str, float]:
    client = MlflowClient(uri)
    experiment = client.get_experiment_by_name("mine")
    (run,) = client.search_runs([experiment.experiment_id])
    return {k: v for k, v in run.data.metrics.items() if k.startswith("new_data_")}


@pytest.mark.slow
@pytest.mark.parametrize("how", ["searchpath", "config-dir", "primary-config"])
def test_a_users_own_dataset_is_new_data(how: str, tmp_path: Path) -> None:
    conf = _user_folder(tmp_path)
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    if how == "searchpath":
        args = [f"hydra.searchpath=[file://{conf}]"]
    elif how == "config-dir":
        args = ["--config-dir", str(conf)]
    else:  # the user's own primary config names the folder
        primary = tmp_path / "primary"
        primary.mkdir()
        text = (CONF_DIR / "config.yaml").read_text()
        searchpath = f"[file://{CONF_DIR}, file://{conf}]"  # the package's groups, and theirs
        (primary / "app.yaml").write_text(text + f"\n  searchpath: {searchpath}\n")
        args = ["--config-path", str(primary), "--config-name", "app"]
    proc = run_cli(*args, "experiment=mine", f"tracking.uri={uri}", *FAST, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    metrics = _new_data_metrics(uri)
    assert {"new_data_accuracy", "new_data_f1_macro", "new_data_log_loss"} <= set(metrics)
    assert "mine-random_forest version 1" in proc.stdout


@pytest.mark.slow
def test_reproduce_finds_the_users_new_data_where_the_run_did(tmp_path: Path) -> None:
    conf = _user_folder(tmp_path)
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    trained = run_cli(
        f"hydra.searchpath=[file://{conf}]", "experiment=mine", f"tracking.uri={uri}", *FAST,
        cwd=tmp_path,
    )  # fmt: skip
    assert trained.returncode == 0, trained.stderr
    client = MlflowClient(uri)
    (run,) = client.search_runs([client.get_experiment_by_name("mine").experiment_id])
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    proc = subprocess.run(
        [str(Path(sys.executable).parent / "dml"), "reproduce", run.info.run_id],
        cwd=elsewhere,
        capture_output=True,
        text=True,
        env={"MLFLOW_TRACKING_URI": uri, "PATH": "/usr/bin:/bin"},
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    assert "new_data_accuracy" in proc.stdout and "reproduced: all" in proc.stdout


def test_the_run_reads_its_folders_off_hydras_config(tmp_path: Path) -> None:
    from declarative_ml.config.compose import ConfigLocation, compose_dataset, load_config

    conf = _user_folder(tmp_path)
    hydra = load_config([f"hydra.searchpath=[file://{conf}]"]).hydra
    location = ConfigLocation.from_hydra(hydra)
    assert location.searchpath == (f"file://{conf}",)
    assert compose_dataset("mine_new", location=location).name == "mine_new"
    assert ConfigLocation.from_dict(location.to_dict()) == location
    from declarative_ml.errors import ConfigError

    with pytest.raises(ConfigError, match="dataset=mine_new: no such option"):
        compose_dataset("mine_new")  # the package's folders alone do not have it


@pytest.mark.parametrize(
    ("override", "expected"),
    [
        (
            "dataset.target=no_such_col",
            "dataset.target: column 'no_such_col' not found in scikit-learn dataset "
            "'breast_cancer'; columns: mean radius,",
        ),
        (
            "+dataset.bogus_key=1",
            "dataset.bogus_key: unknown key; valid keys under dataset: name, source,",
        ),
        ("+model.familly=xgboost", "model.familly: unknown key; did you mean 'family'?"),
        ("+promotion.stagging=[]", "promotion.stagging: unknown key; did you mean 'staging'?"),
        ("dataset.path=x.csv", "dataset.path: not used by source 'sklearn'"),
        ("dataset.features=[nope]", "dataset.features: columns ['nope'] not found"),
        ("+dataset.where.nope=[1]", "dataset.where: column 'nope' not found"),
    ],
)
def test_declared_values_nothing_would_read_are_refused(
    override: str, expected: str, tmp_path: Path
) -> None:
    proc = run_cli("experiment=xgb_baseline", override, *FAST, cwd=tmp_path)
    assert proc.returncode == 2, proc.stdout
    assert proc.stderr.startswith("error: ") and expected in proc.stderr, proc.stderr
    assert (
        not (tmp_path / "mlflow.db").exists()
        or not MlflowClient(f"sqlite:///{tmp_path / 'mlflow.db'}").search_registered_models()
    )


def test_free_form_maps_still_take_new_keys() -> None:
    from conftest import compose_config
    from declarative_ml.config.checks import check_known_keys

    cfg = compose_config(
        "experiment=xgb_baseline",
        "+model.params.gamma=0.1",
        "+tracking.tags.team=ml",
        "+dataset.where.target=[0,1]",
    )
    check_known_keys(cfg)  # raises for a schema key; these maps are free-form


@pytest.mark.server
def test_a_tracking_uri_with_credentials(tmp_path: Path) -> None:
    from stores import auth_server

    password = "pw-Cr3dential-9a8b7c"
    with auth_server(tmp_path / "server", admin_password=password) as server:
        host = server.url.removeprefix("http://")
        uri = f"http://admin:{password}@{host}"
        proc = run_cli(
            "experiment=xgb_baseline", f"tracking.uri={uri}", *FAST,
            "hydra.run.dir=outputs/run", cwd=tmp_path,
        )  # fmt: skip
        assert proc.returncode == 0, proc.stderr
        assert "View run" not in proc.stdout  # MLflow's own line, with the URI in it
        by_env = run_cli(
            "experiment=xgb_baseline", f"tracking.uri={server.url}", *FAST, cwd=tmp_path,
            env={"MLFLOW_TRACKING_USERNAME": "admin", "MLFLOW_TRACKING_PASSWORD": password},
        )  # fmt: skip
        assert by_env.returncode == 0, by_env.stderr
        refused = run_cli(
            "experiment=xgb_baseline", f"tracking.uri=http://admin:wrong-password-1@{host}",
            *FAST, cwd=tmp_path,
        )  # fmt: skip
        assert refused.returncode != 0
        assert "401" in refused.stderr or "Unauthorized" in refused.stderr, refused.stderr
        assert password not in refused.stderr
        ours = [p for p in tmp_path.rglob("*") if p.is_file() and "server" not in p.parts]
        leaks = [p for p in ours if password.encode() in p.read_bytes()]
        assert leaks == []
        for text in (proc.stdout, proc.stderr, by_env.stdout, by_env.stderr):
            assert password not in text
        from mlflow import MlflowClient as Client

        client = Client(uri)
        runs = client.search_runs([client.get_experiment_by_name("breast_cancer").experiment_id])
        assert len(runs) == 2 and all(password not in str(r.data) for r in runs)


def _dml(*args: str, cwd: Path, uri: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(Path(sys.executable).parent / "dml"), *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        env={**os.environ, "MLFLOW_TRACKING_URI": uri},
        timeout=300,
    )


@pytest.mark.slow
def test_evaluate_and_rules_plan_see_the_users_folder(tmp_path: Path) -> None:
    conf = _user_folder(tmp_path)
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    trained = run_cli(
        "--config-dir", str(conf), "experiment=mine", f"tracking.uri={uri}", *FAST,
        cwd=tmp_path,
    )  # fmt: skip
    assert trained.returncode == 0, trained.stderr
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    # The dataset is found where the model's run found its configs.
    scored = _dml("evaluate", "mine-random_forest/1", "dataset=mine_new", cwd=elsewhere, uri=uri)
    assert scored.returncode == 0, scored.stderr
    assert "on mine_new (120 rows)" in scored.stdout
    plan = _dml(
        "rules", "plan", "--config-dir", str(conf), "experiment=mine", cwd=elsewhere, uri=uri
    )
    assert plan.returncode == 0, plan.stderr
    assert "### Promotion rules plan: `mine-random_forest`" in plan.stdout
