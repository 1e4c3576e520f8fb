"""Bad input through the real command line (DESIGN.md, Commands).

Each case: a non-zero exit, exactly one ``error:`` line on stderr naming the
override, key, file or column at fault and what is allowed, no traceback, no MLflow
run left RUNNING and nothing in the model registry. ``DML_DEBUG=1`` (or Hydra's own
``HYDRA_FULL_ERROR=1``) brings the traceback back.
"""

from __future__ import annotations

import os
import socket
import subprocess
import time
from pathlib import Path

import pandas as pd
import pytest
from hydra.errors import HydraException

from conftest import compose_config, run_cli
from declarative_ml.config.errors_hydra import format_hydra_error, is_config_error, one_line
from declarative_ml.config.resolvers import DATA_DIR

PENGUINS_CSV = DATA_DIR / "penguins.csv"
DATASETS = ("breast_cancer", "diabetes", "iris", "penguins", "wine")
# dataset=penguins with the multiclass promotion rules that fit it.
PENGUINS = "experiment=xgb_penguins"
ALLOWLIST_HINT = "estimators must come from sklearn, xgboost"


def dml(
    tmp_path: Path, *args: str, env: dict[str, str] | None = None, uri: str | None = None
) -> subprocess.CompletedProcess[str]:
    """The CLI in ``tmp_path``, by default against a sqlite store there.

    Hydra's own ``HYDRA_FULL_ERROR`` is switched off whatever the caller's shell says.
    """
    uri = uri or f"sqlite:///{tmp_path / 'mlflow.db'}"
    return run_cli(
        *args,
        f"tracking.uri={uri}",
        cwd=tmp_path,
        env={"HYDRA_FULL_ERROR": "0", **(env or {})},
        timeout=120,
    )


def error_line(proc: subprocess.CompletedProcess[str]) -> str:
    """The one ``error:`` line; fails on a zero exit, a traceback or any other stderr output."""
    assert proc.returncode != 0, f"exit 0\nstdout:\n{proc.stdout}\nstderr:\n{proc.stderr}"
    assert "Traceback" not in proc.stderr, proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, f"expected one stderr line, got {len(lines)}:\n{proc.stderr}"
    assert lines[0].startswith("error: "), lines[0]
    return lines[0]


def store_runs(tmp_path: Path) -> list[object]:
    """Runs in the test's store (none if it was never created); asserts the store is clean.

    Clean: no run RUNNING and no registered model.
    """
    db = tmp_path / "mlflow.db"
    if not db.exists():
        return []
    from mlflow import MlflowClient
    from mlflow.entities import ViewType

    client = MlflowClient(tracking_uri=f"sqlite:///{db}")
    experiments = [e.experiment_id for e in client.search_experiments(view_type=ViewType.ALL)]
    runs = client.search_runs(experiments, run_view_type=ViewType.ALL) if experiments else []
    assert [r.info.status for r in runs if r.info.status == "RUNNING"] == []
    assert client.search_registered_models() == []
    return list(runs)


def bad_input(tmp_path: Path, *args: str, env: dict[str, str] | None = None) -> str:
    """Run the CLI expecting bad input; the error line after checking exit, stderr and store."""
    line = error_line(dml(tmp_path, *args, env=env))
    store_runs(tmp_path)
    return line


def penguins_copy(tmp_path: Path, name: str, **changes: dict[int, object]) -> Path:
    """A copy of the shipped penguins CSV with ``column={row: value}`` changes."""
    frame = pd.read_csv(PENGUINS_CSV)
    for column, rows in changes.items():
        frame[column] = frame[column].astype(object)
        for row, value in rows.items():
            frame.loc[row, column] = value
    path = tmp_path / name
    frame.to_csv(path, index=False)
    return path


# a. unknown group option ---------------------------------------------------------------


def test_unknown_group_option_lists_the_options(tmp_path: Path) -> None:
    line = bad_input(tmp_path, "dataset=nope")
    assert line.startswith("error: dataset=nope: no such option; available: ")
    for option in DATASETS:
        assert option in line
    assert "base_dataset" not in line  # the schema, not an option


def test_unknown_experiment_is_an_error(tmp_path: Path) -> None:
    line = bad_input(tmp_path, "experiment=nope", "run.log_model=false", "run.log_plots=false")
    assert "experiment=nope" in line and "xgb_baseline" in line


# b. unknown keys, wrong types, bad overrides, bad config files ---------------------------


@pytest.mark.parametrize(
    ("override", "expected"),
    [
        ("dataset.bogus=1", ["dataset.bogus: unknown key", "valid keys under dataset:", "split"]),
        ("datset=iris", ["datset: unknown key", "did you mean 'dataset'?"]),
        ("seed=abc", ["seed: 'abc' is not a valid int"]),
        ("dataset.split.test_size=big", ["dataset.split.test_size: 'big' is not a valid float"]),
        ("tracking.async=maybe", ["tracking.async: 'maybe' is not a valid bool"]),
        ("dataset.task=foo", ["dataset.task: 'foo' is not valid", "multiclass, regression"]),
        # model.params is free-form: a new key is fine, but Hydra wants it added with '+'
        ("model.params.bogus=1", ["model.params.bogus", "+model.params.bogus=1"]),
        (
            "model.params.max_depht=3",
            ["model.params.max_depht: no such key", "did you mean 'model.params.max_depth'?"],
        ),
        ("seed=[", ["seed=[: cannot parse this override", "hydra.cc"]),
        (
            "+model.estimator.classification=subprocess.run",
            ["model.estimator.classification already exists", "++model.estimator"],
        ),
    ],
)
def test_bad_override_names_the_key(tmp_path: Path, override: str, expected: list[str]) -> None:
    line = bad_input(tmp_path, override)
    for text in expected:
        assert text in line


def test_bad_key_in_a_user_config_file_names_the_file(tmp_path: Path) -> None:
    (tmp_path / "mine" / "dataset").mkdir(parents=True)
    (tmp_path / "mine" / "dataset" / "typo.yaml").write_text(
        "defaults:\n  - base_dataset\nname: typo\nsource: sklearn\nloader: iris\n"
        "task: multiclass\nsplitt: {test_size: 0.3}\n"
    )
    (tmp_path / "mine" / "dataset" / "broken.yaml").write_text("name: [unclosed\n")
    searchpath = f"hydra.searchpath=[file://{tmp_path / 'mine'}]"

    line = bad_input(tmp_path, searchpath, "dataset=typo")
    assert "dataset.splitt: unknown key (in dataset/typo.yaml)" in line
    assert "did you mean 'split'?" in line
    line = bad_input(tmp_path, searchpath, "dataset=broken")
    assert f"{tmp_path / 'mine' / 'dataset' / 'broken.yaml'}:2:1: not valid YAML" in line


# c-f. bad data ---------------------------------------------------------------------------


def test_missing_data_file(tmp_path: Path) -> None:
    line = bad_input(tmp_path, PENGUINS, "dataset.path=/nonexistent.csv")
    assert "dataset.path: file not found: /nonexistent.csv" in line
    assert [r.info.status for r in store_runs(tmp_path)] == []  # failed before any run


def test_missing_target_column_lists_the_columns(tmp_path: Path) -> None:
    line = bad_input(tmp_path, PENGUINS, "dataset.target=nope")
    assert "dataset.target: column 'nope' not found" in line
    assert "species" in line and "island" in line


def test_schema_violations_are_all_reported_in_one_line(tmp_path: Path) -> None:
    path = penguins_copy(tmp_path, "bad.csv", island={3: "Mars"}, body_mass_g={10: 99999})
    line = bad_input(tmp_path, PENGUINS, f"dataset.path={path}")
    assert f"{path} breaks dataset.schema: 2 check(s) failed" in line
    expected = ("column 'island'", "isin(", "'Mars'", "column 'body_mass_g'", "in_range(")
    for text in (*expected, "99999"):
        assert text in line


def test_single_class_target(tmp_path: Path) -> None:
    frame = pd.read_csv(PENGUINS_CSV).assign(species="Adelie")
    path = tmp_path / "one_class.csv"
    frame.to_csv(path, index=False)
    line = bad_input(tmp_path, PENGUINS, f"dataset.path={path}")
    assert "dataset.target: column 'species'" in line
    assert "one class ('Adelie')" in line and "at least 2" in line


# g. estimators outside the allowlist ------------------------------------------------------


@pytest.mark.parametrize(
    ("override", "key"),
    [
        ("model.estimator=os.system", "model.estimator"),
        ("model.estimator=builtins.open", "model.estimator"),
        ("model.estimator=pathlib.Path", "model.estimator"),
        ("model.estimator=logging.os.system", "model.estimator"),
        ("model.estimator.classification=subprocess.run", "model.estimator.classification"),
        ("++model.estimator.classification=subprocess.run", "model.estimator.classification"),
        ("model.estimator={classification:subprocess.run}", "model.estimator.classification"),
    ],
)
def test_estimator_outside_the_allowlist(tmp_path: Path, override: str, key: str) -> None:
    line = bad_input(tmp_path, override)
    value = override.split("=")[-1].strip("}")
    assert f"{key}: '{value.split(':')[-1]}' is not allowed" in line
    assert ALLOWLIST_HINT in line and "model.trusted_modules" in line


def importable_from(folder: Path) -> dict[str, str]:
    """The environment that puts ``folder`` on the child's import path."""
    paths = [str(folder), os.environ.get("PYTHONPATH", "")]
    return {"PYTHONPATH": os.pathsep.join(p for p in paths if p)}


EVIL_MODULE = """\
from pathlib import Path
Path(__file__).with_name("imported.marker").write_text("imported")

class Boom:
    def __init__(self, **params):
        raise ValueError("Boom was instantiated")

    def fit(self, X, y):
        return self
"""


@pytest.mark.parametrize(
    "override", ["model.estimator=dml_evil.Boom", "model.estimator.classification=dml_evil.Boom"]
)
def test_rejected_estimator_module_is_never_imported(tmp_path: Path, override: str) -> None:
    (tmp_path / "dml_evil.py").write_text(EVIL_MODULE)
    env = importable_from(tmp_path)
    line = bad_input(tmp_path, override, env=env)
    assert "'dml_evil.Boom' is not allowed" in line and "model.trusted_modules" in line
    assert not (tmp_path / "imported.marker").exists()


def test_trusted_module_is_imported_control(tmp_path: Path) -> None:
    """The probe above works: once trusted, the module is imported (and Boom fails in one line)."""
    (tmp_path / "dml_evil.py").write_text(EVIL_MODULE)
    env = importable_from(tmp_path)
    line = bad_input(
        tmp_path,
        "model.estimator=dml_evil.Boom",
        "model.family=sklearn",  # the family an estimator of one's own belongs to
        "model.trusted_modules=[dml_evil]",
        env=env,
    )
    assert (tmp_path / "imported.marker").exists()
    assert "Boom was instantiated" in line


# h. unreachable tracking server ----------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_unreachable_tracking_server_fails_fast(tmp_path: Path) -> None:
    uri = f"http://127.0.0.1:{free_port()}"
    start = time.monotonic()
    proc = dml(tmp_path, uri=uri)
    elapsed = time.monotonic() - start
    line = error_line(proc)
    assert elapsed < 20, f"took {elapsed:.1f} s"
    assert f"tracking.uri: cannot reach the MLflow tracking server at {uri}" in line
    assert not (tmp_path / "mlflow.db").exists()


# a run that started ends FAILED ----------------------------------------------------------


def test_error_after_the_run_started_ends_it_failed(tmp_path: Path) -> None:
    # XGBoost checks its objective only in fit, after the run is created.
    line = bad_input(tmp_path, "+model.params.objective=nope", "run.log_plots=false")
    assert "nope" in line
    runs = store_runs(tmp_path)
    assert [r.info.status for r in runs] == ["FAILED"]
    assert "nope" in runs[0].data.tags["dml.error"]


def test_sklearn_param_values_fail_before_the_run_starts(tmp_path: Path) -> None:
    line = bad_input(
        tmp_path, "model=random_forest", "model.params.n_estimators=-1", "run.log_plots=false"
    )
    assert line == (
        "error: model.params.n_estimators: must be an int in the range [1, inf); got -1 "
        "(sklearn.ensemble.RandomForestClassifier)"
    )
    assert store_runs(tmp_path) == []


@pytest.mark.parametrize(
    ("override", "expected"),
    [
        (
            "model.params.learning_rate=fast",
            "error: model.params.learning_rate: must be a float in the range [0.0, inf) or None; "
            "got 'fast' (xgboost.XGBClassifier)",
        ),
        ("model.params.max_depth=2.5", "error: model.params.max_depth: must be an int in the"),
        ("+model.params.subsample=1.5", "error: model.params.subsample: must be a float in the"),
    ],
)
def test_xgboost_param_values_fail_before_the_run_starts(
    tmp_path: Path, override: str, expected: str
) -> None:
    # XGBoost parses values only in fit: the run had started and ended FAILED with
    # "XGBoostError: Some trailing characters could not be parsed: 'ast'".
    line = bad_input(tmp_path, "experiment=xgb_baseline", override, "run.log_plots=false")
    assert line.startswith(expected)
    assert store_runs(tmp_path) == []


# tracebacks on request -------------------------------------------------------------------


@pytest.mark.parametrize("switch", ["DML_DEBUG", "HYDRA_FULL_ERROR"])
def test_debug_shows_the_traceback_of_a_config_error(tmp_path: Path, switch: str) -> None:
    proc = dml(tmp_path, "seed=abc", env={switch: "1"})
    assert proc.returncode != 0
    assert "Traceback (most recent call last)" in proc.stderr
    assert "Error merging override seed=abc" in proc.stderr


def test_debug_shows_the_traceback_from_the_training_process(tmp_path: Path) -> None:
    proc = dml(tmp_path, PENGUINS, "dataset.target=nope", env={"DML_DEBUG": "1"})
    assert proc.returncode != 0
    assert "In the training process:\nTraceback (most recent call last)" in proc.stderr
    assert "load_dataset" in proc.stderr  # the child's frames, not only the parent's
    store_runs(tmp_path)


# Hydra's own commands keep working ---------------------------------------------------------


def test_help_lists_the_config_groups(tmp_path: Path) -> None:
    proc = run_cli("--help", cwd=tmp_path, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert "== Config groups ==" in proc.stdout
    for group in ("dataset:", "model:", "tracking:", "experiment:"):
        assert group in proc.stdout


def test_cfg_job_prints_the_config(tmp_path: Path) -> None:
    proc = run_cli(PENGUINS, "seed=7", "--cfg", "job", cwd=tmp_path, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""
    assert "name: penguins" in proc.stdout and "seed: 7" in proc.stdout


def test_multirun_still_sweeps(tmp_path: Path) -> None:
    proc = dml(
        tmp_path,
        "-m",
        "experiment=rf_iris",
        "model.params.n_estimators=5,10",
        "run.log_plots=false",
        "run.log_model=false",
        "promotion.enabled=false",
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.count(" finished (") == 2
    runs = store_runs(tmp_path)  # two trials and the sweep's parent run
    assert sorted(r.info.status for r in runs) == ["FINISHED"] * 3
    assert sum(r.data.tags.get("dml.sweep") == "parent" for r in runs) == 1


def test_multirun_bad_sweep_value_is_one_line(tmp_path: Path) -> None:
    line = bad_input(tmp_path, "-m", "seed=1,abc")
    assert "seed: 'abc' is not a valid int" in line


# the formatter in-process ----------------------------------------------------------------


def test_formatter_on_composed_errors() -> None:
    with pytest.raises(HydraException) as missing:
        compose_config("model=nope")
    message = format_hydra_error(missing.value)
    assert message.startswith("model=nope: no such option; available: ")
    assert "random_forest" in message and "base_model" not in message
    with pytest.raises(HydraException) as typed:
        compose_config("run.latency_rows=lots")
    assert format_hydra_error(typed.value) == (
        "run.latency_rows: 'lots' is not a valid int (override run.latency_rows=lots)"
    )
    assert is_config_error(typed.value)


def test_formatter_falls_back_to_one_line() -> None:
    assert one_line("first\n\n  second\tpart\nConfig search path:\n\tx") == "first; second part"
    message = format_hydra_error(PermissionError("outputs/: denied\nmore"))
    assert message == "PermissionError: outputs/: denied; more (set DML_DEBUG=1 for the traceback)"
    assert not is_config_error(PermissionError())
