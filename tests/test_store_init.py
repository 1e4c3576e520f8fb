"""Eight jobs started at once on a store that does not exist yet all succeed.

Plain MLflow: most of them die ("table experiments already exists", "duplicate
column name", PostgreSQL ``UniqueViolation``), because each process initialises
the database and creates the experiment unguarded.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from mlflow import MlflowClient

from conftest import run_cli, start_cli

JOBS = 8
QUICK = [
    "experiment=xgb_baseline",
    "model.params.n_estimators=5",
    "run.log_plots=false",
    "run.log_model=false",
    "promotion.enabled=false",
    "tracking.experiment_name=fresh",
]


def _start_all(uri: str, cwd: Path) -> None:
    procs = [start_cli(*QUICK, f"tracking.uri={uri}", f"seed={i}", cwd=cwd) for i in range(JOBS)]
    failures = []
    for proc in procs:
        _, err = proc.communicate(timeout=300)
        if proc.returncode != 0:
            failures.append(err.strip())
    assert not failures, f"{len(failures)} of {JOBS} failed: {failures}"
    client = MlflowClient(uri)
    experiments = [e for e in client.search_experiments() if e.name == "fresh"]
    assert len(experiments) == 1
    runs = client.search_runs([experiments[0].experiment_id])
    assert len(runs) == JOBS
    assert {r.info.status for r in runs} == {"FINISHED"}


@pytest.mark.slow
def test_eight_processes_on_a_fresh_sqlite_file(tmp_path: Path) -> None:
    uri = f"sqlite:///{tmp_path / 'new' / 'mlflow.db'}"  # not even its folder exists yet
    _start_all(uri, tmp_path)


@pytest.mark.server
def test_eight_processes_on_a_fresh_postgresql_database(postgres_uri: str, tmp_path: Path) -> None:
    _start_all(postgres_uri, tmp_path)


@pytest.mark.server
def test_eight_processes_on_a_server_with_a_new_experiment(
    mlflow_server: str, tmp_path: Path
) -> None:
    _start_all(mlflow_server, tmp_path)


@pytest.mark.slow
def test_a_parallel_sweep_on_a_fresh_store(tmp_path: Path) -> None:
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    proc = run_cli(
        "-m", *QUICK, f"tracking.uri={uri}", "hydra/launcher=joblib",
        "hydra.launcher.n_jobs=2", "model.params.max_depth=2,3,4,5",
        cwd=tmp_path,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    client = MlflowClient(uri)
    experiment = client.get_experiment_by_name("fresh")
    runs = client.search_runs([experiment.experiment_id])
    assert len(runs) == 5  # the parent and four trials
    assert {r.info.status for r in runs} == {"FINISHED"}
