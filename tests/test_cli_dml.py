"""The `dml` CLI on a real sqlite store: listing, showing, promoting, rolling back, evaluating."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import compose_config
from declarative_ml.cli.main import main
from declarative_ml.runner import train

NAME = "breast_cancer-xgboost"


@pytest.fixture
def store(tracking_uri: str) -> str:
    """Two versions: a weak champion (v1) replaced by a strong one (v2), then a tie (v3)."""
    fast = (
        "experiment=xgb_baseline",
        f"tracking.uri={tracking_uri}",
        "run.log_plots=false",
        "run.isolate_training=false",
    )
    train(compose_config(*fast, "model.params.n_estimators=3", "model.params.max_depth=2"))
    train(compose_config(*fast))
    train(compose_config(*fast))
    return tracking_uri


def dml(capsys: pytest.CaptureFixture[str], uri: str, *args: str) -> tuple[int, str, str]:
    code = main(["--tracking-uri", uri, *args])
    out, err = capsys.readouterr()
    return code, out, err


def test_models_list_and_show(store: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = dml(capsys, store, "models", "list")
    assert code == 0
    header, row = out.splitlines()[:2]
    assert header.split() == ["name", "latest", "production", "staging", "updated"]
    assert row.split()[:4] == [NAME, "3", "2", "3"]
    assert "dml-lock" not in out

    code, out, _ = dml(capsys, store, "--json", "models", "list", NAME)
    versions = json.loads(out)
    assert [(v["version"], v["stage"], v["aliases"]) for v in versions] == [
        ("1", "archived", ""),
        ("2", "production", "@production"),
        ("3", "staging", "@staging"),
    ]

    code, out, _ = dml(capsys, store, "--json", "models", "show", f"{NAME}@production")
    shown = json.loads(out)
    assert shown["version"] == "2" and "test_roc_auc" in shown["metrics"]
    assert "Promotion decision" in shown["description"]


def test_metrics_by_ref_and_run_id(store: str, capsys: pytest.CaptureFixture[str]) -> None:
    _, out, _ = dml(capsys, store, "--json", "models", "show", f"models:/{NAME}/1")
    run_id = json.loads(out)["run_id"]
    _, by_ref, _ = dml(capsys, store, "--json", "metrics", f"{NAME}/1")
    _, by_run, _ = dml(capsys, store, "--json", "metrics", run_id)
    assert json.loads(by_ref) == json.loads(by_run)
    assert {"test_roc_auc", "model_size_mb", "training_duration_s"} <= set(json.loads(by_run))


def test_promote_checks_rules_unless_forced(store: str, capsys: pytest.CaptureFixture[str]):
    code, _, err = dml(capsys, store, "promote", NAME, "1", "--to", "production")
    assert code == 2
    assert err.startswith("error: version 1 of 'breast_cancer-xgboost' fails the production")
    assert "--force --reason" in err and len(err.strip().splitlines()) == 1

    code, _, err = dml(capsys, store, "promote", NAME, "1", "--to", "production", "--force")
    assert code == 2 and "--reason" in err

    code, out, _ = dml(
        capsys,
        store,
        "--json",
        "promote",
        NAME,
        "1",
        "--to",
        "production",
        "--force",
        "--reason",
        "incident 42",
    )
    assert code == 0
    moves = [(t["version"], t["from_stage"], t["to_stage"]) for t in json.loads(out)]
    assert moves == [("2", "production", "archived"), ("1", "archived", "production")]

    # rollback gives @production back to the version that held it before.
    code, out, _ = dml(capsys, store, "--json", "rollback", NAME)
    assert code == 0
    assert json.loads(out)[-1]["version"] == "2"
    _, out, _ = dml(capsys, store, "--json", "history", NAME)
    trail = json.loads(out)
    assert trail[-1]["to_stage"] == "production" and trail[-1]["version"] == "2"
    assert any(t["why"] == "incident 42" for t in trail)
    # training: v1 2 entries, v2 3 (incl. archiving v1), v3 2; forced promotion 2; rollback 2
    assert len(trail) == 11


def test_archive_drops_the_alias(store: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, _ = dml(capsys, store, "archive", NAME, "3", "--reason", "superseded")
    assert code == 0
    _, out, _ = dml(capsys, store, "--json", "models", "list", NAME)
    assert [v["aliases"] for v in json.loads(out)] == ["", "@production", ""]


@pytest.mark.parametrize(
    ("ref", "message"),
    [
        ("nope@production", "no registered model 'nope'; registered: breast_cancer-xgboost"),
        (f"{NAME}/99", "has no version 99; versions: 1, 2, 3"),
        (f"{NAME}@champ", "has no alias @champ; aliases: @production, @staging"),
        ("a/b/c", "is not NAME, NAME@ALIAS, NAME/VERSION"),
    ],
)
def test_unknown_references_are_one_line_errors(store: str, capsys, ref: str, message: str):
    code, out, err = dml(capsys, store, "models", "show", ref)
    assert code == 2 and out == ""
    assert message in err and len(err.strip().splitlines()) == 1


def test_evaluate_scores_on_new_data(store: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = dml(
        capsys, store, "--json", "evaluate", f"{NAME}@production", "dataset=breast_cancer"
    )
    assert code == 0
    result = json.loads(out)
    assert result["rows"] == 569
    assert set(result["metrics"]) == {"roc_auc", "f1", "accuracy", "log_loss"}
    assert 0.9 < result["metrics"]["roc_auc"] <= 1.0
    import mlflow

    run = mlflow.MlflowClient(store).get_run(result["run_id"])
    assert run.info.status == "FINISHED"
    assert run.data.metrics["eval_roc_auc"] == pytest.approx(result["metrics"]["roc_auc"])
    assert run.data.tags["dml.evaluation.model"] == f"{NAME}/2"


def test_console_script_help(tmp_path: Path) -> None:
    proc = subprocess.run(
        [
            sys.executable,
            "-c",
            "from declarative_ml.cli.main import entry; "
            "import sys; sys.argv=['dml','--help']; entry()",
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert proc.returncode == 0
    for command in ("models", "metrics", "promote", "archive", "rollback", "history", "evaluate"):
        assert command in proc.stdout
