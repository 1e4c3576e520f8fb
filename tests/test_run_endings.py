"""Every way a run can end is recorded truthfully, and no queued metric is lost on the way.

Plain MLflow leaves a SIGTERM'd run RUNNING forever and drops queued asynchronous
metrics; these tests fail on that behaviour and pass on ours.
"""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from mlflow import MlflowClient

from conftest import run_cli, start_cli

POINTS = 1000

# A process that opens a tracked run, queues POINTS metric points asynchronously
# (MLflow's own async logging, as tracking.async=true does), then ends as told.
SCRIPT = textwrap.dedent(
    """
    import os, signal, sys
    from mlflow import MlflowClient
    from declarative_ml.tracking.lifecycle import tracked_run
    from declarative_ml.tracking.store_init import initialised_store
    from declarative_ml.tracking.store import get_or_create_experiment

    uri, ending = sys.argv[1], sys.argv[2]
    with initialised_store(uri) as client:
        experiment_id = get_or_create_experiment(client, "endings")
    with tracked_run(client, experiment_id, run_name=ending, tags={}) as run_id:
        print(run_id, flush=True)
        for step in range(POINTS_):
            client.log_metric(run_id, "loss", 1.0 / (step + 1), step=step, synchronous=False)
        if ending == "exception":
            raise RuntimeError("boom")
        if ending == "exit1":
            sys.exit(1)
        if ending in ("SIGTERM", "SIGINT"):
            os.kill(os.getpid(), getattr(signal, ending))
            signal.pause()  # the signal arrives here at the latest
    """
).replace("POINTS_", str(POINTS))

EXPECTED = {
    "clean": "FINISHED",
    "exception": "FAILED",
    "exit1": "FAILED",
    "SIGTERM": "KILLED",
    "SIGINT": "KILLED",
}


@pytest.mark.parametrize("ending", list(EXPECTED))
def test_each_ending_is_recorded_and_no_queued_metric_is_lost(
    ending: str, tracking_uri: str
) -> None:
    proc = subprocess.run(
        [sys.executable, "-c", SCRIPT, tracking_uri, ending],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode != 0 or ending == "clean", proc.stderr
    run_id = proc.stdout.split()[0]
    client = MlflowClient(tracking_uri)
    run = client.get_run(run_id)
    assert run.info.status == EXPECTED[ending]
    history = client.get_metric_history(run_id, "loss")
    assert len(history) == POINTS
    assert sorted(m.step for m in history) == list(range(POINTS))
    if ending != "clean":
        assert run.data.tags["dml.error"]


def _running_ids(uri: str) -> list[str]:
    """RUNNING run ids, read with sqlite3 directly: an MlflowClient here would race the CLI
    on creating the store's tables (the very race the CLI guards against for its own)."""
    path = Path(uri.removeprefix("sqlite:///"))
    if not path.exists():
        return []
    try:
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5) as db:
            rows = db.execute("SELECT run_uuid FROM runs WHERE status = 'RUNNING'").fetchall()
    except sqlite3.OperationalError:  # tables not created yet
        return []
    return [r[0] for r in rows]


def _wait_for_running(
    uri: str, proc: subprocess.Popen[str], known: tuple[str, ...] = (), timeout_s: float = 120
) -> str:
    """The id of a RUNNING run not in ``known`` once the CLI has one (training under way)."""
    deadline = time.time() + timeout_s
    while time.time() < deadline:
        assert proc.poll() is None, proc.communicate()
        fresh = [r for r in _running_ids(uri) if r not in known]
        if fresh:
            return fresh[0]
        time.sleep(0.3)
    proc.kill()
    raise AssertionError("the run never started")


# A forest big enough that training lasts well beyond the moment the signal is sent.
SLOW = [
    "experiment=xgb_baseline",
    "model=random_forest",
    "model.params.n_estimators=40000",
    "run.log_plots=false",
    "promotion.enabled=false",
]


def _dml(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """The ``dml`` console script."""
    return subprocess.run(
        [str(Path(sys.executable).parent / "dml"), *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
    )


def _start_cli(tmp_path: Path, uri: str, *extra: str) -> subprocess.Popen[str]:
    return start_cli(*SLOW, f"tracking.uri={uri}", *extra, cwd=tmp_path)


@pytest.mark.slow
@pytest.mark.parametrize(("sig", "code"), [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_a_signalled_cli_run_ends_killed(
    sig: signal.Signals, code: int, tmp_path: Path, tracking_uri: str
) -> None:
    proc = _start_cli(tmp_path, tracking_uri)
    run_id = _wait_for_running(tracking_uri, proc)
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == code, err
    assert err.strip().count("\n") == 0 and "KILLED" in err  # one line
    run = MlflowClient(tracking_uri).get_run(run_id)
    assert run.info.status == "KILLED"
    assert run.data.tags["dml.error"]
    assert not MlflowClient(tracking_uri).search_registered_models()  # nothing registered


def _killed_run(tmp_path: Path, uri: str, experiment: str, known: tuple[str, ...] = ()) -> str:
    """A CLI run in ``experiment`` SIGKILLed mid-training: what plain MLflow leaves RUNNING."""
    proc = _start_cli(
        tmp_path, uri, "tracking.heartbeat_s=1", f"tracking.experiment_name={experiment}"
    )
    run_id = _wait_for_running(uri, proc, known)
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=60)  # its training child dies with it (the pipes close)
    assert MlflowClient(uri).get_run(run_id).info.status == "RUNNING"
    return run_id


@pytest.mark.slow
def test_a_sigkilled_run_is_reaped_by_the_command_and_by_the_next_run(
    tmp_path: Path, tracking_uri: str
) -> None:
    client = MlflowClient(tracking_uri)
    dead_a = _killed_run(tmp_path, tracking_uri, "a")
    dead_b = _killed_run(tmp_path, tracking_uri, "b", (dead_a,))
    # A run alive meanwhile is never touched: its heartbeat is fresh.
    alive = _start_cli(
        tmp_path, tracking_uri, "tracking.heartbeat_s=1", "tracking.experiment_name=c"
    )
    alive_id = _wait_for_running(tracking_uri, alive, (dead_a, dead_b))
    time.sleep(5)  # more than 4 missed beats of 1 s

    dry = _dml("runs", "reap", "--dry-run", f"--tracking-uri={tracking_uri}", cwd=tmp_path)
    assert dry.returncode == 0, dry.stderr
    assert dead_a in dry.stdout and dead_b in dry.stdout and alive_id not in dry.stdout
    assert client.get_run(dead_a).info.status == "RUNNING"

    reaped = _dml(
        "runs", "reap", "--experiment", "a", f"--tracking-uri={tracking_uri}", cwd=tmp_path
    )
    assert reaped.returncode == 0, reaped.stderr
    assert dead_a in reaped.stdout and dead_b not in reaped.stdout, reaped.stdout
    run = client.get_run(dead_a)
    assert run.info.status == "KILLED"
    assert "no heartbeat" in run.data.tags["dml.error"]
    assert client.get_run(dead_b).info.status == "RUNNING"  # another experiment

    # The next run in experiment b ends b's dead run by itself, and says so.
    nxt = run_cli(
        "experiment=xgb_baseline", "run.log_plots=false", "promotion.enabled=false",
        "tracking.experiment_name=b", f"tracking.uri={tracking_uri}", cwd=tmp_path,
    )  # fmt: skip
    assert nxt.returncode == 0, nxt.stderr
    assert client.get_run(dead_b).info.status == "KILLED"
    assert f"run {dead_b}" in nxt.stderr and "marked KILLED" in nxt.stderr

    assert client.get_run(alive_id).info.status == "RUNNING"
    alive.send_signal(signal.SIGTERM)
    alive.communicate(timeout=60)
    assert client.get_run(alive_id).info.status == "KILLED"
