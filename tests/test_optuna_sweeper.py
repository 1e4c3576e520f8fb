"""The ``dml_optuna`` Hydra sweeper: search space, Optuna bookkeeping, real sweeps.

Three layers: the pure parts in-process (search space, overrides, outcomes,
direction, seeded sampling); a tiny Hydra app with a synthetic objective that
can raise or return None (fast, and independent of training); and the real
``python -m declarative_ml -m ... sweep=xgb_optuna`` CLI against sqlite MLflow.
"""

from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.core.utils import JobReturn, JobStatus
from omegaconf import OmegaConf

from conftest import compose_config, run_cli
from declarative_ml.errors import ConfigError
from hydra_plugins.dml_optuna_sweeper import _space, _study
from hydra_plugins.dml_optuna_sweeper.dml_optuna_sweeper import RESULTS_FILE

optuna = pytest.importorskip("optuna")
CONF = Path(__file__).resolve().parents[1] / "src" / "declarative_ml" / "conf"


def _sweep_params(name: str) -> dict[str, Any]:
    return yaml.safe_load((CONF / "sweep" / f"{name}.yaml").read_text())["hydra"]["sweeper"][
        "params"
    ]


# --- search space -------------------------------------------------------------------


def test_structured_entries_become_distributions() -> None:
    space = _space.parse_search_space(
        {
            "model.params.max_depth": {"type": "int", "low": 2, "high": 10},
            "model.params.learning_rate": {"type": "float", "low": 0.01, "high": 0.3, "log": True},
            "model.params.booster": {"type": "categorical", "choices": ["gbtree", "dart"]},
            "model.params.subsample": [0.5, 1.0],
            "++model.params.gamma": {"type": "float", "low": 0.0, "high": 1.0, "step": 0.25},
            "model.params.n_jobs": 1,
        }
    )
    d = space.distributions
    assert d["model.params.max_depth"] == optuna.distributions.IntDistribution(2, 10)
    assert d["model.params.learning_rate"] == optuna.distributions.FloatDistribution(
        0.01, 0.3, log=True
    )
    assert d["model.params.booster"].choices == ("gbtree", "dart")
    assert d["model.params.subsample"].choices == (0.5, 1.0)
    assert d["model.params.gamma"].step == 0.25
    assert space.prefixes == {"model.params.gamma": "++"}
    assert space.fixed == {"model.params.n_jobs": 1}


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ({"type": "banana"}, "unknown type 'banana'; allowed: int, float, categorical"),
        ({"type": "int", "low": 2}, "needs 'low' and 'high'; 'high' is missing"),
        ({"low": 2, "high": 5}, "missing 'type'"),
        ({"type": "int", "low": 2.5, "high": 5}, ".low: 2.5 is not a valid int"),
        ({"type": "int", "low": 2, "high": 5, "lg": True}, "unknown field 'lg' for type int"),
        ({"type": "float", "low": 1.0, "high": 0.1}, "low"),  # Optuna's own check, one line
        ({"type": "float", "low": 0.0, "high": 1.0, "log": True}, "log"),
        ({"type": "categorical"}, "needs 'choices: [a, b, ...]'"),
        ({"type": "categorical", "choices": []}, "no choices"),
        ({"type": "categorical", "choices": [[1, 2]]}, "is not a number, string, bool or null"),
    ],
)
def test_bad_entries_name_the_key(spec: dict[str, Any], expected: str) -> None:
    with pytest.raises(ConfigError) as info:
        _space.parse_search_space({"model.params.max_depth": spec})
    message = str(info.value)
    assert message.startswith("hydra.sweeper.params.model.params.max_depth")
    assert expected in message
    assert "\n" not in message


def test_command_line_sweeps_become_distributions() -> None:
    parser = OverridesParser.create()

    def dist(text: str) -> Any:
        return _space.distribution_from_override(parser.parse_override(text))

    assert dist("a=range(2,8)") == optuna.distributions.IntDistribution(2, 7)
    assert dist("a=range(2,9,3)") == optuna.distributions.IntDistribution(2, 8, step=3)
    assert dist("a=tag(log,interval(0.01,1))") == optuna.distributions.FloatDistribution(
        0.01, 1.0, log=True
    )
    assert dist("a=x,'y z',3").choices == ("x", "y z", 3)


@pytest.mark.parametrize(
    "value",
    [
        "gbtree",
        "binary:logistic",
        "reg:squared error",
        "3",
        "true",
        "null",
        "it's",
        "a,b",
        "x=y",
        7,
        1e-05,
        0.1 + 0.2,
        True,
        None,
    ],
)
def test_values_round_trip_through_hydra_overrides(value: Any) -> None:
    text = _space.format_value(value)
    parsed = OverridesParser.create().parse_override(f"k={text}")
    assert not parsed.is_sweep_override()
    assert parsed.value() == value
    assert type(parsed.value()) is type(value)


@pytest.mark.parametrize("name", ["xgb_optuna", "rf_optuna"])
def test_shipped_search_spaces_compose_and_name_existing_keys(name: str) -> None:
    experiment = "xgb_baseline" if name.startswith("xgb") else "rf_iris"
    cfg = compose_config(f"experiment={experiment}", f"sweep={name}")
    params = _sweep_params(name)
    space = _space.parse_search_space(params)
    assert len(space.distributions) == 3 and not space.fixed
    for key in space.distributions:  # each is set as `key=value`, no '+' needed
        assert OmegaConf.select(cfg, key, default="absent") != "absent", key


# --- Optuna side --------------------------------------------------------------------


def _job(status: JobStatus, value: Any) -> JobReturn:
    job = JobReturn()
    job.status = status
    job.return_value = value
    return job


@pytest.mark.parametrize(
    ("job", "value", "problem"),
    [
        (_job(JobStatus.COMPLETED, 0.9), 0.9, ""),
        (_job(JobStatus.COMPLETED, 3), 3.0, ""),
        (_job(JobStatus.COMPLETED, None), None, "returned no objective value (None)"),
        (_job(JobStatus.COMPLETED, math.nan), None, "returned nan"),
        (_job(JobStatus.COMPLETED, "0.9"), None, "not a number"),
        (_job(JobStatus.COMPLETED, True), None, "not a number"),
        (_job(JobStatus.FAILED, ValueError("bad\nobjective")), None, "raised ValueError: bad"),
    ],
)
def test_trial_outcomes(job: JobReturn, value: float | None, problem: str) -> None:
    got_value, got_problem = _study.trial_outcome(job)  # never re-raises a job's exception
    assert got_value == value
    assert problem in got_problem and "\n" not in got_problem


def test_failed_outcomes_are_told_as_failed_trials() -> None:
    study = optuna.create_study(direction="maximize")
    for job in (_job(JobStatus.COMPLETED, 0.5), _job(JobStatus.FAILED, RuntimeError("x"))):
        _study.record(study, study.ask({"x": optuna.distributions.IntDistribution(0, 3)}), job)
    states = [t.state for t in study.trials]
    assert states == [optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.FAIL]


@pytest.mark.parametrize(
    ("overrides", "configured", "expected"),
    [
        (["experiment=xgb_baseline"], None, "maximize"),  # val_roc_auc
        (["experiment=xgb_baseline", "objective.metric=val_log_loss"], None, "minimize"),
        (["experiment=xgb_baseline", "metrics=[log_loss,roc_auc]"], None, "minimize"),
        (["experiment=ridge_diabetes"], None, "minimize"),  # rmse, the regression default
        (["experiment=xgb_baseline", "objective.direction=minimize"], None, "minimize"),
        (["experiment=xgb_baseline", "objective.direction=minimize"], "maximize", "maximize"),
    ],
)
def test_direction(overrides: list[str], configured: str | None, expected: str) -> None:
    assert _study.resolve_direction(configured, compose_config(*overrides)) == expected


def test_a_bad_direction_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="hydra.sweeper.direction: 'up' is not maximize"):
        _study.resolve_direction("up", compose_config())


def test_default_study_name() -> None:
    cfg = compose_config("experiment=rf_iris")
    assert _study.default_study_name(cfg) == "dml-iris-random_forest"


def _sampled(seed: int | None, n: int = 6) -> list[dict[str, Any]]:
    space = _space.parse_search_space(_sweep_params("xgb_optuna"))
    study = _study.open_study("s", "maximize", storage=None, seed=seed)
    params = []
    for _ in range(n):
        trial = study.ask(dict(space.distributions))
        params.append(trial.params)
        study.tell(trial, -abs(trial.params["model.params.max_depth"] - 4))
    return params


def test_the_same_seed_samples_the_same_trials() -> None:
    assert _sampled(7) == _sampled(7)
    assert _sampled(7) != _sampled(8)


# --- a tiny Hydra app: a synthetic objective that may raise or return None ---------------

APP = """
import math

import hydra


@hydra.main(version_base="1.3", config_path="conf", config_name="config")
def main(cfg):
    if cfg.mode == "raise":
        raise ValueError("this trial breaks")
    if cfg.mode == "none":
        return None
    sides = cfg.shape.sides if cfg.get("shape") else 0
    return -((cfg.x - 2.0) ** 2) + cfg.get("bonus", 0) + sides / 10


if __name__ == "__main__":
    main()
"""
CONFIG = """
defaults:
  - shape: null
  - override hydra/sweeper: dml_optuna
  - _self_
x: 0.0
mode: ok
objective: {metric: score, direction: null}
hydra:
  sweeper:
    n_trials: 4
    seed: 3
    params:
      x: {type: float, low: -5, high: 5}
"""


@pytest.fixture
def toy_app(tmp_path: Path) -> Path:
    (tmp_path / "conf" / "shape").mkdir(parents=True)
    (tmp_path / "app.py").write_text(APP)
    (tmp_path / "conf" / "config.yaml").write_text(CONFIG)
    (tmp_path / "conf" / "shape" / "circle.yaml").write_text("sides: 0\n")
    (tmp_path / "conf" / "shape" / "square.yaml").write_text("sides: 4\n")
    return tmp_path


def _run_toy(app: Path, *args: str, sweep_dir: str = "sweep") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(app / "app.py"), "-m", f"hydra.sweep.dir={app / sweep_dir}", *args],
        cwd=app,
        capture_output=True,
        text=True,
        timeout=120,
    )


def _results(sweep_dir: Path) -> dict[str, Any]:
    return yaml.safe_load((sweep_dir / RESULTS_FILE).read_text())


def test_failed_trials_are_counted_and_the_sweep_goes_on(toy_app: Path) -> None:
    storage = f"sqlite:///{toy_app / 'optuna.db'}"
    proc = _run_toy(
        toy_app,
        "hydra.sweeper.n_trials=8",
        "hydra.sweeper.seed=2",
        f"hydra.sweeper.storage={storage}",
        "hydra.sweeper.study_name=toy",
        "mode=ok,ok,raise,none",  # a command-line sweep: categorical
        "shape=circle,square",  # a config group without a default: `shape=...`
        "+hydra.sweeper.params.bonus=[0,1]",  # not in the config: written `++bonus=...`
    )
    assert proc.returncode == 0, proc.stderr
    study = optuna.load_study(study_name="toy", storage=storage)
    failed = [t for t in study.trials if t.state == optuna.trial.TrialState.FAIL]
    assert {t.params["mode"] for t in failed} <= {"raise", "none"}
    for t in study.trials:
        if t.state == optuna.trial.TrialState.COMPLETE:
            expected = -((t.params["x"] - 2) ** 2) + t.params["bonus"]
            expected += 0.4 if t.params["shape"] == "square" else 0
            assert t.value == pytest.approx(expected)
    assert 0 < len(failed) < 8
    results = _results(toy_app / "sweep")
    assert results["n_trials"] == 8 and results["n_failed"] == len(failed)
    assert results["best_value"] == pytest.approx(study.best_value)
    log = proc.stdout + proc.stderr  # Hydra's log lines
    for t in failed:
        why = (
            "raised ValueError: this trial breaks"
            if t.params["mode"] == "raise"
            else ("returned no objective value (None)")
        )
        assert f"Trial {t.number} failed: {why} (" in log
    assert {t.params["mode"] for t in failed} == {"raise", "none"}  # both kinds, with seed 2


def test_every_trial_failing_is_an_error(toy_app: Path) -> None:
    proc = _run_toy(toy_app, "hydra.sweeper.n_trials=3", "mode=raise")  # pinned: every trial
    assert proc.returncode != 0
    assert "all 3 trials of study 'dml-sweep' failed (first: raised ValueError" in proc.stderr
    assert _results(toy_app / "sweep")["n_failed"] == 3


def test_a_shared_study_collects_every_sweeps_trials(toy_app: Path) -> None:
    storage = f"sqlite:///{toy_app / 'shared.db'}"
    common = (
        "hydra.sweeper.n_trials=3",
        f"hydra.sweeper.storage={storage}",
        "hydra.sweeper.study_name=shared",
    )
    first = _run_toy(toy_app, *common, sweep_dir="one")
    second = _run_toy(toy_app, *common, sweep_dir="two")
    assert first.returncode == 0 and second.returncode == 0, second.stderr
    assert "already holds 3 trials" in second.stdout + second.stderr
    study = optuna.load_study(study_name="shared", storage=storage)
    assert len(study.trials) == 6
    xs = [t.params["x"] for t in study.trials]
    assert xs[3:] != xs[:3]  # the second sweep goes on searching, it does not repeat
    assert _results(toy_app / "two")["n_trials_in_study"] == 6


def test_batches_run_in_parallel_with_joblib(toy_app: Path) -> None:
    proc = _run_toy(
        toy_app,
        "hydra/launcher=joblib",
        "hydra.launcher.n_jobs=2",
        "hydra.sweeper.n_jobs=2",
        "mode=ok,raise",
    )
    assert proc.returncode == 0, proc.stderr
    assert (proc.stdout + proc.stderr).count("Joblib.Parallel") == 2  # 4 trials, 2 per batch
    results = _results(toy_app / "sweep")
    assert results["n_trials"] == 4 and results["n_failed"] < 4


# --- the real CLI ---------------------------------------------------------------------


def _cli_results(cwd: Path) -> dict[str, Any]:
    (found,) = cwd.glob(f"multirun/*/*/{RESULTS_FILE}")
    return yaml.safe_load(found.read_text())


def test_xgb_optuna_sweep_end_to_end(tmp_path: Path, tracking_uri: str) -> None:
    proc = run_cli(
        "-m",
        "experiment=xgb_baseline",
        "sweep=xgb_optuna",
        "hydra.sweeper.n_trials=4",
        "hydra.sweeper.seed=1",
        "model.params.n_estimators=20",  # pinned: not searched, and fast
        "run.log_plots=false",
        "promotion.enabled=false",
        f"tracking.uri={tracking_uri}",
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr
    assert "model.params.n_estimators is set on the command line" in proc.stdout + proc.stderr
    results = _cli_results(tmp_path)
    assert results["n_trials"] == 4 and results["n_failed"] == 0
    assert 0.5 < results["best_value"] <= 1.0  # val_roc_auc
    assert set(results["best_params"]) == {"model.params.max_depth", "model.params.learning_rate"}

    from mlflow import MlflowClient

    client = MlflowClient(tracking_uri)
    experiment = client.get_experiment_by_name("breast_cancer")
    runs = client.search_runs([experiment.experiment_id], "attributes.status = 'FINISHED'")
    trials = [r for r in runs if "model.params.learning_rate" in r.data.params]
    assert len(trials) >= 4
    sampled = {
        (r.data.params["model.params.max_depth"], r.data.params["model.params.learning_rate"])
        for r in trials
    }
    assert len(sampled) >= 4
    assert {r.data.params["model.params.n_estimators"] for r in trials} == {"20"}


def test_a_trial_whose_fit_fails_is_counted_and_the_sweep_completes(
    tmp_path: Path, tracking_uri: str
) -> None:
    proc = run_cli(
        "-m",
        "experiment=xgb_baseline",
        "sweep=xgb_optuna",
        "hydra.sweeper.n_trials=3",
        "hydra.sweeper.seed=0",
        "++model.params.objective=binary:logistic,reg:no_such_objective",
        "model.params.n_estimators=10",
        "run.log_plots=false",
        "run.log_model=false",
        "promotion.enabled=false",
        f"tracking.uri={tracking_uri}",
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr
    overrides = [
        yaml.safe_load(p.read_text()) for p in tmp_path.glob("multirun/*/*/*/.hydra/overrides.yaml")
    ]
    bad = sum("++model.params.objective=reg:no_such_objective" in o for o in overrides)
    assert len(overrides) == 3 and 0 < bad < 3
    assert _cli_results(tmp_path)["n_failed"] == bad


def test_a_bad_search_space_is_one_error_line(tmp_path: Path, tracking_uri: str) -> None:
    proc = run_cli(
        "-m",
        "experiment=xgb_baseline",
        "sweep=xgb_optuna",
        "+hydra.sweeper.params={model.params.booster: {type: banana}}",  # merged in
        f"tracking.uri={tracking_uri}",
        cwd=tmp_path,
    )
    assert proc.returncode == 2
    errors = [line for line in proc.stderr.splitlines() if line.startswith("error:")]
    assert errors == [
        "error: hydra.sweeper.params.model.params.booster: unknown type 'banana'; "
        "allowed: int, float, categorical"
    ]
    assert "Traceback" not in proc.stderr
