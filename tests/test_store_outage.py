"""The tracking server stops for 20 s in the middle of a run.

Either the run completes with every metric once the server is back, or it fails
with one clear line within ``tracking.retry_budget_s``; never a silent loss, never
a hang without output.
"""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import time
from pathlib import Path

import pytest
from mlflow import MlflowClient

from conftest import start_cli
from stores import MlflowServer

OUTAGE_S = 20
RUN = [
    "experiment=xgb_baseline",
    "model=random_forest",
    "model.params.n_estimators=1500",  # training lasts into the outage
    "run.log_plots=false",
    "promotion.enabled=false",
]


def _server(tmp_path: Path) -> tuple[MlflowServer, Path]:
    db = tmp_path / "server.db"
    server = MlflowServer(f"sqlite:///{db}", tmp_path / "server")
    server.folder.mkdir(parents=True)
    server.start()
    return server, db


def _start(uri: str, cwd: Path, *extra: str) -> subprocess.Popen[str]:
    return start_cli(*RUN, f"tracking.uri={uri}", *extra, cwd=cwd)


def _wait_running(db: Path, proc: subprocess.Popen[str], timeout_s: float = 120) -> str:
    """Read the server's own database (not through the server) until the run is RUNNING."""
    deadline = time.time() + timeout_s
    while time.time() < deadline:
        assert proc.poll() is None, proc.communicate()
        with sqlite3.connect(db, timeout=5) as connection:
            rows = connection.execute("SELECT run_uuid FROM runs WHERE status = 'RUNNING'")
            found = [r[0] for r in rows.fetchall()]
        if found:
            return found[0]
        time.sleep(0.2)
    raise AssertionError("the run never started")


@pytest.mark.server
def test_a_run_survives_a_20_s_outage_with_every_metric(tmp_path: Path) -> None:
    server, db = _server(tmp_path)
    try:
        proc = _start(server.url, tmp_path)
        run_id = _wait_running(db, proc)
        server.stop()
        time.sleep(OUTAGE_S)
        assert proc.poll() is None  # still waiting for the server, not failed or finished
        server.start()
        out, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err
        assert "not answering; retrying" in err  # the wait was announced, not silent

        reference = _start(server.url, tmp_path)  # the same run without an outage
        reference.communicate(timeout=300)
        assert reference.returncode == 0
        client = MlflowClient(server.url)
        run = client.get_run(run_id)
        assert run.info.status == "FINISHED"
        other = [r for r in client.search_runs([run.info.experiment_id]) if r.info.run_id != run_id]
        assert set(run.data.metrics) == set(other[0].data.metrics)
        for key in run.data.metrics:
            assert len(client.get_metric_history(run_id, key)) == 1  # none lost, none doubled
        assert "dml.model.sha256" in run.data.tags  # the model reached the store, verified
    finally:
        server.stop()


@pytest.mark.server
def test_a_server_that_stays_down_fails_within_the_budget(tmp_path: Path) -> None:
    server, db = _server(tmp_path)
    budget = 10
    try:
        proc = _start(server.url, tmp_path, f"tracking.retry_budget_s={budget}")
        _wait_running(db, proc)
        server.stop()
        stopped = time.time()
        try:
            _, err = proc.communicate(timeout=120)
        except subprocess.TimeoutExpired:
            proc.send_signal(signal.SIGKILL)
            raise AssertionError("the run hung after the server went away") from None
        elapsed = time.time() - stopped
    finally:
        server.stop()
    assert proc.returncode == 2
    last = err.strip().splitlines()[-1]
    assert last.startswith("error: tracking.uri: the tracking server at")
    assert f"retry_budget_s={budget}" in last
    assert "not answering; retrying" in err
    # The backoff sleeps of one request add up to at least the budget; the run gives up on
    # the first request that exhausts it (training time and slack on a shared machine).
    assert elapsed < 4 * budget + 30, elapsed
