"""A running run's pulse, and reaping runs whose process died without ending them.

A process killed with SIGKILL (or by the out-of-memory killer, or with its machine)
cannot end its run, which MLflow then shows RUNNING forever. While a run is open a
daemon thread stamps the tag ``dml.heartbeat`` (Unix seconds) every ``interval_s``;
a RUNNING run whose last stamp is older than :data:`MISSED_BEATS` intervals has no
process behind it, and :func:`reap` marks it KILLED. ``dml runs reap`` does so on
request, and every new run reaps its own experiment before it starts.

A heartbeat can be late without its process being dead (a store busy for seconds, a
machine under load). So each run also records which process owns it (tag
:data:`PROCESS_TAG`: host, pid and the process's start time), and a run whose owner is
still alive on the reaping machine is never reaped, however late its beat.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

logger = logging.getLogger(__name__)

BEAT_TAG = "dml.heartbeat"
INTERVAL_TAG = "dml.heartbeat_s"
PROCESS_TAG = "dml.process"
MISSED_BEATS = 4  # a run is stale after this many intervals without a beat
MIN_INTERVAL_S = 1.0  # faster beats are writes for nothing (tracking.heartbeat_s is checked)
MAX_INTERVAL_S = 3600.0


def _start_ticks(pid: int) -> str | None:
    """When process ``pid`` started (clock ticks since boot, Linux), to tell it from a later
    process given the same pid; None where that cannot be read."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as handle:
            stat = handle.read()
    except OSError:
        return None
    fields = stat[stat.rfind(")") + 2 :].split()
    if not fields or fields[0] in ("Z", "X"):  # a zombie has died; its parent has not waited
        return None
    return fields[19] if len(fields) > 19 else None


def process_identity() -> str:
    """``host/pid/start`` of this process (the value of :data:`PROCESS_TAG`)."""
    pid = os.getpid()
    return f"{socket.gethostname()}/{pid}/{_start_ticks(pid) or '?'}"


def alive_here(identity: str | None) -> bool:
    """Whether the process ``identity`` names runs on this machine now."""
    if not identity:
        return False
    host, _, rest = identity.partition("/")
    pid_text, _, start = rest.partition("/")
    if host != socket.gethostname() or not pid_text.isdigit():
        return False
    pid = int(pid_text)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # it exists, owned by someone else
    current = _start_ticks(pid)
    if current is None:
        return not os.path.exists("/proc")  # Linux: gone or a zombie; elsewhere: trust the pid
    return start in ("?", "") or current == start


class Heartbeat:
    """Stamps :data:`BEAT_TAG` on ``run_id`` every ``interval_s`` seconds until stopped."""

    def __init__(self, client: Any, run_id: str, interval_s: float) -> None:
        self._client, self._run_id, self._interval = client, run_id, interval_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._beat, name="dml-heartbeat", daemon=True)

    def start(self) -> Heartbeat:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _beat(self) -> None:
        while not self._stop.wait(self._interval):
            try:
                self._client.set_tag(self._run_id, BEAT_TAG, str(int(time.time())))
            except Exception:  # a store outage: the next beat tries again
                logger.debug("heartbeat of run %s not written", self._run_id, exc_info=True)


@dataclass(frozen=True)
class StaleRun:
    """A RUNNING run without a recent heartbeat."""

    run_id: str
    experiment_id: str
    run_name: str
    last_beat_s: float  # Unix seconds of the last sign of life
    silent_s: float  # seconds since then


def last_sign_of_life(run: Any) -> float:
    """Unix seconds of the run's last heartbeat, else of its start."""
    beat = run.data.tags.get(BEAT_TAG)
    try:
        return float(beat) if beat is not None else run.info.start_time / 1000
    except ValueError:
        return run.info.start_time / 1000


def find_stale(
    client: Any,
    experiment_ids: Iterable[str],
    *,
    stale_after_s: float | None = None,
    now: float | None = None,
) -> list[StaleRun]:
    """RUNNING runs of ours (they carry :data:`INTERVAL_TAG`) whose heartbeat stopped.

    Args:
        stale_after_s: silence that makes a run stale; default: :data:`MISSED_BEATS`
            times the run's own heartbeat interval.
        now: the current Unix time (for tests).
    """
    ids = list(experiment_ids)
    if not ids:
        return []
    now = time.time() if now is None else now
    runs = client.search_runs(ids, filter_string="attributes.status = 'RUNNING'", max_results=1000)
    stale = []
    for run in runs:
        interval = run.data.tags.get(INTERVAL_TAG)
        if interval is None:
            continue  # not started by declarative_ml: not ours to judge
        limit = stale_after_s if stale_after_s is not None else MISSED_BEATS * _interval(interval)
        last = last_sign_of_life(run)
        if now - last > limit and not alive_here(run.data.tags.get(PROCESS_TAG)):
            stale.append(
                StaleRun(
                    run.info.run_id,
                    run.info.experiment_id,
                    run.info.run_name or "",
                    last,
                    now - last,
                )
            )
    return stale


def _interval(text: str) -> float:
    """A run's recorded heartbeat interval (one that does not parse counts as the default)."""
    try:
        value = float(text)
    except ValueError:
        return 30.0
    return min(max(value, MIN_INTERVAL_S), MAX_INTERVAL_S) if value == value else 30.0


def reap(client: Any, stale: Iterable[StaleRun], *, by: str) -> list[StaleRun]:
    """Mark each stale run KILLED, ending it at its last sign of life; returns those ended."""
    ended = []
    for run in stale:
        current = client.get_run(run.run_id)
        if current.info.status != "RUNNING":
            continue  # it ended meanwhile
        client.set_tag(
            run.run_id,
            "dml.error",
            f"no heartbeat for {run.silent_s:.0f} s: its process died; marked KILLED by {by}",
        )
        client.set_terminated(run.run_id, "KILLED", end_time=int(run.last_beat_s * 1000))
        ended.append(run)
    return ended


def reap_experiment(client: Any, experiment_id: str) -> list[StaleRun]:
    """What a new run does first: end the experiment's runs whose process died."""
    try:
        return reap(client, find_stale(client, [experiment_id]), by="the next run")
    except Exception:  # never stop a run because housekeeping failed
        logger.debug("reaping experiment %s failed", experiment_id, exc_info=True)
        return []
