"""Multirun sweeps through the real CLI: parent and child runs, summary, best-trial promotion."""

from __future__ import annotations

import csv
from pathlib import Path

import mlflow
import pytest

from conftest import run_cli

FAST = ("experiment=xgb_baseline", "run.log_plots=false", "model.params.n_estimators=20")


def _runs(uri: str) -> tuple[object, list[object]]:
    client = mlflow.MlflowClient(uri)
    runs = client.search_runs([e.experiment_id for e in client.search_experiments()])
    parents = [r for r in runs if r.data.tags.get("dml.sweep") == "parent"]
    assert len(parents) == 1
    children = [r for r in runs if r.data.tags.get("mlflow.parentRunId") == parents[0].info.run_id]
    return parents[0], children


def test_grid_sweep_with_a_failing_trial(tmp_path: Path) -> None:
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    proc = run_cli(
        "-m",
        *FAST,
        f"tracking.uri={uri}",
        "model.params.max_depth=2,4",
        "++model.params.objective=binary:logistic,nope",  # XGBoost refuses 'nope' in fit
        cwd=tmp_path,
        env={"MLFLOW_RUN_ID": "0" * 32},
    )  # a stray run id must not re-parent trials
    assert proc.returncode == 0, proc.stderr
    assert "trial 1 of 4" in proc.stdout and "trial 4 of 4" in proc.stdout
    assert "best so far val_roc_auc" in proc.stdout
    assert "sweep: 4 trials, 2 failed; best trial #" in proc.stdout
    assert proc.stderr.count("error: trial #") == 2

    parent, children = _runs(uri)
    client = mlflow.MlflowClient(uri)
    assert parent.info.status == "FINISHED"
    assert len(children) == 4
    assert sorted(r.info.status for r in children) == ["FAILED", "FAILED", "FINISHED", "FINISHED"]
    assert parent.data.metrics["n_trials"] == 4 and parent.data.metrics["n_failed"] == 2
    best = [r for r in children if r.data.tags.get("dml.sweep.best") == "true"]
    assert len(best) == 1 and best[0].info.run_id == parent.data.tags["dml.sweep.best_run_id"]
    finished = [r for r in children if r.info.status == "FINISHED"]
    assert best[0].data.metrics["val_roc_auc"] == max(
        r.data.metrics["val_roc_auc"] for r in finished
    )
    assert parent.data.metrics["best_val_roc_auc"] == best[0].data.metrics["val_roc_auc"]

    table = client.download_artifacts(parent.info.run_id, "sweep/trials.csv", str(tmp_path))
    with open(table) as handle:
        rows = list(csv.DictReader(handle))
    assert [r["status"] for r in rows].count("FAILED") == 2
    assert {r["model.params.max_depth"] for r in rows} == {"2", "4"}
    assert [r["best"] for r in rows].count("True") == 1
    names = [a.path for a in client.list_artifacts(parent.info.run_id, "sweep")]
    assert names == ["sweep/objective.png", "sweep/trials.csv"]

    # on_sweep: best -> only the best trial was considered for the registry
    versions = client.search_model_versions("name = 'breast_cancer-xgboost'")
    assert [v.run_id for v in versions] == [best[0].info.run_id]


def test_a_trial_with_a_bad_param_value_fails_before_its_run(tmp_path: Path) -> None:
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    proc = run_cli(
        "-m", *FAST, f"tracking.uri={uri}", "model.params.learning_rate=0.3,-1", cwd=tmp_path
    )
    assert proc.returncode == 0, proc.stderr
    assert "error: trial #1: model.params.learning_rate: must be a float" in proc.stderr
    assert "sweep: 2 trials, 1 failed; best trial #0" in proc.stdout
    _, children = _runs(uri)
    assert [r.info.status for r in children] == ["FINISHED"]  # no run for the refused trial


@pytest.mark.slow
def test_joblib_sweep_on_a_fresh_store(tmp_path: Path) -> None:
    uri = f"sqlite:///{tmp_path / 'fresh' / 'mlflow.db'}"
    (tmp_path / "fresh").mkdir()
    proc = run_cli(
        "-m",
        *FAST,
        f"tracking.uri={uri}",
        "sweep=xgb_grid",
        "hydra/launcher=joblib",
        "hydra.launcher.n_jobs=2",
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr
    assert "sweep: 6 trials, 0 failed" in proc.stdout
    parent, children = _runs(uri)
    assert len(children) == 6 and {r.info.status for r in children} == {"FINISHED"}
    assert (
        len(
            {
                r.data.params["model.params.max_depth"]
                + r.data.params["model.params.learning_rate"]
                for r in children
            }
        )
        == 6
    )  # no trial double-counted


def test_on_sweep_each_promotes_every_trial(tmp_path: Path) -> None:
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    proc = run_cli(
        "-m",
        *FAST,
        f"tracking.uri={uri}",
        "model.params.max_depth=2,4",
        "promotion.on_sweep=each",
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr
    client = mlflow.MlflowClient(uri)
    assert len(client.search_model_versions("name = 'breast_cancer-xgboost'")) == 2


def test_a_trial_mlflow_cannot_record_fails_the_sweep(tmp_path: Path) -> None:
    """A trial whose run cannot be created in the sweep's store (here: it names another
    store) is not a failed model but a hole in the record: the sweep says which trial and
    exits non-zero."""
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"  # the sweep's: the default, in tmp_path
    proc = run_cli("-m", *FAST, "tracking.uri=sqlite:///mlflow.db,sqlite:///other.db", cwd=tmp_path)
    assert proc.returncode == 1, proc.stderr
    last = proc.stderr.strip().splitlines()[-1]
    assert last.startswith("error: the sweep is incomplete: trial #1 could not be recorded"), last
    assert "ended FAILED and nothing was promoted" in last
    parent, children = _runs(uri)
    assert parent.info.status == "FAILED" and len(children) == 1
    assert not mlflow.MlflowClient(uri).search_registered_models()


def test_unrecorded_trials_are_named() -> None:
    from declarative_ml.sweeps.callback import unrecorded_trials
    from declarative_ml.sweeps.context import Trial

    trials = [
        Trial(0, [], "FINISHED", 0.9, "a" * 32),
        Trial(1, [], "FAILED", error="database is locked", lost=True),
        Trial(3, [], "FAILED", error="model.params.x: bad"),  # its own config: not a hole
    ]
    assert unrecorded_trials(trials, 4) == [
        "trial #1 could not be recorded in MLflow (database is locked)",
        "trial(s) #2 left no record",
    ]
    assert unrecorded_trials(trials[:1], None) == []


def _no_runs(uri: str, tmp_path: Path) -> bool:
    """The store holds no run (it may not even exist)."""
    if not (tmp_path / "mlflow.db").exists():
        return True
    client = mlflow.MlflowClient(uri)
    return not client.search_runs([e.experiment_id for e in client.search_experiments()])


@pytest.mark.parametrize(
    ("overrides", "line"),
    [
        (
            ["sweep=xgb_optuna", "hydra.sweeper.storage=foo://bar"],
            "error: hydra.sweeper.storage: 'foo://bar': scheme 'foo' is not a database Optuna "
            "can use; use an RDB URL such as sqlite:///optuna.db, postgresql://HOST/DB or "
            "mysql://HOST/DB",
        ),
        (
            ["sweep=xgb_optuna", "hydra.sweeper.storage=sqlite:////proc/no/optuna.db"],
            "error: hydra.sweeper.storage: cannot open study 'dml-breast_cancer-xgboost' in "
            "'sqlite:////proc/no/optuna.db': OperationalError: ",
        ),
        (
            ["sweep=xgb_optuna", "+hydra.sweeper.params={model.params.max_depth: 'range(2,8)'}"],
            "error: hydra.sweeper.params.model.params.max_depth: 'range(2,8)' is a sweep written "
            "as text (hydra-optuna-sweeper's format), which this sweeper does not read; declare "
            "it as data: {type: int|float, low: .., high: ..} or a list of choices, or sweep it "
            "on the command line (model.params.max_depth=range(2,8))",
        ),
        (
            ["sweep=xgb_optuna", "+hydra.sweeper.params={model.params.booster: {type: banana}}"],
            "error: hydra.sweeper.params.model.params.booster: unknown type 'banana'; "
            "allowed: int, float, categorical",
        ),
        (
            ["model.params.max_depth=2,3", "hydra.sweep.dir=/proc/no/sweep"],
            "error: hydra.sweep.dir: cannot create or write /proc/no (No such file or directory); "
            "set hydra.sweep.dir to a folder you can write",
        ),
    ],
)
def test_a_sweep_that_cannot_start_leaves_no_run(
    tmp_path: Path, overrides: list[str], line: str
) -> None:
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    proc = run_cli("-m", *FAST, f"tracking.uri={uri}", *overrides, cwd=tmp_path)
    assert proc.returncode == 2
    assert proc.stderr.startswith(line) and len(proc.stderr.strip().splitlines()) == 1
    assert "trial 1" not in proc.stdout
    assert _no_runs(uri, tmp_path)  # no parent run left FAILED with no trials


def test_an_unwritable_run_dir_is_named(tmp_path: Path) -> None:
    (tmp_path / "a_file").write_text("")
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    proc = run_cli(
        *FAST, f"tracking.uri={uri}", f"hydra.run.dir={tmp_path}/a_file/run", cwd=tmp_path
    )
    assert proc.returncode == 2
    assert proc.stderr.splitlines() == [
        f"error: hydra.run.dir: cannot create or write {tmp_path}/a_file/run (Not a directory); "
        "set hydra.run.dir to a folder you can write"
    ]
    assert _no_runs(uri, tmp_path)


def test_a_shared_study_says_which_best_is_which(tmp_path: Path) -> None:
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    common = (
        "-m",
        *FAST,
        f"tracking.uri={uri}",
        "sweep=xgb_optuna",
        "hydra.sweeper.n_trials=1",
        f"hydra.sweeper.storage=sqlite:///{tmp_path / 'optuna.db'}",
        "hydra.sweeper.study_name=shared",
        "promotion.enabled=false",
    )
    first = run_cli(*common, "hydra.sweep.dir=one", cwd=tmp_path)
    second = run_cli(*common, "hydra.sweep.dir=two", cwd=tmp_path)
    assert first.returncode == 0 and second.returncode == 0, second.stderr
    log = second.stdout + second.stderr
    assert "Study best (all sweeps of study 'shared', 2 trials): Optuna trial " in log
    assert "sweep: 1 trials, 0 failed; best trial #0 of this sweep: val_roc_auc " in log
