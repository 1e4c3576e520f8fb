"""`dml reproduce` and `dml lineage` on a real sqlite store, inside a real git repository."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import mlflow
import pytest

from conftest import compose_config
from declarative_ml.cli.main import main
from declarative_ml.config.resolvers import DATA_DIR
from declarative_ml.runner import train


def git(repo: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=repo, check=True, capture_output=True, text=True
    ).stdout.strip()


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """The test's working directory as a git repository with one commit."""
    git(tmp_path, "init", "-q")
    git(tmp_path, "config", "user.email", "ci@example.com")
    git(tmp_path, "config", "user.name", "ci")
    (tmp_path / "notes.txt").write_text("experiments\n")
    git(tmp_path, "add", "notes.txt")
    git(tmp_path, "commit", "-qm", "start")
    return tmp_path


def dml(capsys: pytest.CaptureFixture[str], uri: str, *args: str) -> tuple[int, str, str]:
    code = main(["--tracking-uri", uri, *args])
    out, err = capsys.readouterr()
    return code, out, err


def _train(uri: str, *overrides: str):
    return train(compose_config(f"tracking.uri={uri}", "run.log_plots=false", *overrides))


@pytest.mark.parametrize("experiment", ["xgb_baseline", "rf_iris"])
def test_reproduce_matches_exactly(repo: Path, tracking_uri: str, capsys, experiment: str):
    original = _train(tracking_uri, f"experiment={experiment}")
    code, out, err = dml(capsys, tracking_uri, "--json", "reproduce", original.run_id)
    assert code == 0, err
    report = json.loads(out)
    assert report["matches"] is True and report["warnings"] == []
    names = {m["name"] for m in report["metrics"]}
    assert {"test_accuracy", "model_size_mb"} <= names
    assert "training_duration_s" not in names  # wall-clock times are not compared
    client = mlflow.MlflowClient(tracking_uri)
    new = client.get_run(report["run_id"])
    assert new.data.tags["dml.reproduces"] == original.run_id
    assert new.data.tags["dml.config_sha256"] != ""
    versions = client.search_model_versions("")
    assert len(versions) == 1  # the reproduction registered nothing


def test_reproduce_warns_about_new_commit_and_changed_data(
    repo: Path, tracking_uri: str, capsys
) -> None:
    data = repo / "penguins.csv"
    shutil.copy(DATA_DIR / "penguins.csv", data)
    original = _train(
        tracking_uri, "experiment=xgb_penguins", f"dataset.path={data}", "promotion.enabled=false"
    )
    (repo / "notes.txt").write_text("a later commit\n")
    git(repo, "commit", "-qam", "later")
    lines = data.read_text().splitlines()
    lines[5] = lines[5].replace("Torgersen", "Dream")  # one row of the training data changes
    data.write_text("\n".join(lines) + "\n")

    code, out, _ = dml(capsys, tracking_uri, "--json", "reproduce", original.run_id)
    report = json.loads(out)
    assert any(w.startswith("git commit differs") for w in report["warnings"])
    assert any(w.startswith("dataset digest all differs") for w in report["warnings"])
    assert code in (0, 1) and report["matches"] is (code == 0)


def test_reproduce_with_an_override_reports_differences(
    repo: Path, tracking_uri: str, capsys
) -> None:
    original = _train(tracking_uri, "experiment=xgb_baseline")
    code, out, err = dml(
        capsys, tracking_uri, "reproduce", original.run_id, "model.params.max_depth=1"
    )
    assert code == 1
    assert "NOT reproduced" in out and "| NO" not in out and " NO" in out
    last = err.strip().splitlines()[-1]  # (MLflow's own log lines from training come first)
    assert last.startswith("error: ") and "differ from run" in last


def test_reproduce_unknown_run_is_one_line(tracking_uri: str, capsys) -> None:
    _train(tracking_uri, "experiment=xgb_baseline", "promotion.enabled=false")
    code, out, err = dml(capsys, tracking_uri, "reproduce", "0" * 32)
    assert code == 2 and out == ""
    assert err.strip().splitlines()[-1] == f"error: no run '{'0' * 32}' in this tracking store"


def test_lineage_walks_version_run_config_data_commit(
    repo: Path, tracking_uri: str, capsys
) -> None:
    result = _train(tracking_uri, "experiment=xgb_baseline")
    head = git(repo, "rev-parse", "HEAD")
    code, out, _ = dml(
        capsys, tracking_uri, "--json", "lineage", "breast_cancer-xgboost@production"
    )
    assert code == 0
    chain = json.loads(out)
    client = mlflow.MlflowClient(tracking_uri)
    tags = client.get_run(result.run_id).data.tags
    assert chain["model"] == {
        "name": "breast_cancer-xgboost",
        "version": "1",
        "stage": "production",
        "source": chain["model"]["source"],
    }
    assert chain["run"]["id"] == result.run_id and chain["run"]["experiment"] == "breast_cancer"
    assert chain["config"]["sha256"] == tags["dml.config_sha256"]
    assert chain["config"]["snapshot"] == f"runs:/{result.run_id}/config/config.yaml"
    assert set(chain["data"]["digests"]) == {"all", "train", "val", "test"}
    assert {i["context"] for i in chain["data"]["inputs"]} == {"train", "val", "test"}
    assert chain["code"]["git_commit"] == head and chain["code"]["git_dirty"] == "false"
    moves = [(h["from_stage"], h["to_stage"]) for h in chain["promotion"]["history"]]
    assert moves == [("-", "none"), ("none", "production")]

    code, out, _ = dml(capsys, tracking_uri, "lineage", "breast_cancer-xgboost/1")
    assert f"git {head}" in out and "train  digest" in out
