"""A run's lifecycle: it always ends FINISHED, FAILED or KILLED, never left RUNNING.

Exceptions and ``sys.exit(1)`` end it FAILED; Ctrl-C (SIGINT) and SIGTERM end it
KILLED; queued metrics are flushed first on every one of these paths. SIGKILL
cannot be caught: the heartbeat (``heartbeat.py``) lets a later run or
``dml runs reap`` end such a run KILLED.
"""

from __future__ import annotations

import logging
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from declarative_ml.secrets import mask_text
from declarative_ml.signals import (
    Terminated,
    defer_stop_signals,
    stop_signals_ignored,
    terminated_on_sigterm,
)
from declarative_ml.tracking.heartbeat import (
    INTERVAL_TAG,
    PROCESS_TAG,
    Heartbeat,
    process_identity,
)
from declarative_ml.tracking.outage import is_outage

logger = logging.getLogger(__name__)

DEFAULT_HEARTBEAT_S = 30.0


@contextmanager
def tracked_run(
    client: Any,
    experiment_id: str,
    *,
    run_name: str | None,
    tags: dict[str, str],
    heartbeat_s: float = DEFAULT_HEARTBEAT_S,
) -> Iterator[str]:
    """Create a run and guarantee it is terminated whatever happens inside.

    Exceptions end the run FAILED (the error is kept in tag ``dml.error``);
    KeyboardInterrupt and SIGTERM end it KILLED; ``sys.exit(0)`` ends it FINISHED.
    The exception is re-raised. A heartbeat tag is stamped every ``heartbeat_s``.

    Yields:
        The run id.
    """
    with terminated_on_sigterm():
        # A signal between the run's creation and the guarding ``try`` would leave it
        # RUNNING: it is held back and re-raised inside the ``try``.
        release = defer_stop_signals()
        try:
            run = client.create_run(
                experiment_id,
                run_name=run_name,
                tags={**tags, INTERVAL_TAG: f"{heartbeat_s:g}", PROCESS_TAG: process_identity()},
            )
            run_id = run.info.run_id
            heartbeat = Heartbeat(client, run_id, heartbeat_s).start()
        except BaseException:
            release()
            raise
        try:
            release()
            yield run_id
        except BaseException as exc:
            heartbeat.stop()
            _end_after(client, run_id, exc)
            exc.dml_run_id = run_id  # type: ignore[attr-defined]  # a sweep tells recorded from lost
            raise
        heartbeat.stop()
        _finish(client, run_id)


def _end_after(client: Any, run_id: str, exc: BaseException) -> None:
    """Write the ending that ``exc`` means for the run (the caller re-raises it)."""
    if isinstance(exc, (KeyboardInterrupt, Terminated)):
        reason = "interrupted" if isinstance(exc, KeyboardInterrupt) else str(exc)
        _terminate(client, run_id, "KILLED", reason)
    elif isinstance(exc, SystemExit):
        if exc.code in (0, None):
            _finish(client, run_id)
        else:
            _terminate(client, run_id, "FAILED", mask_text(f"exit status {exc.code}"))
    elif is_outage(exc):  # the store is gone: writing the ending would only retry again
        logger.debug("run %s left RUNNING: the store is unreachable", run_id)
    else:
        message = mask_text(f"{type(exc).__name__}: {exc}")
        _terminate(client, run_id, "FAILED", message, mask_text(traceback.format_exc()))


def flush_queued() -> None:
    """Write out metrics queued by asynchronous logging (a no-op when nothing is queued)."""
    import mlflow

    mlflow.flush_async_logging()


def _finish(client: Any, run_id: str) -> None:
    flush_queued()
    # Reaped meanwhile by a machine that could not see this process (its beats were late):
    # the run did finish, so the reaper's error no longer applies.
    if "dml.error" in client.get_run(run_id).data.tags:
        client.delete_tag(run_id, "dml.error")
    client.set_terminated(run_id, "FINISHED")


def _terminate(client: Any, run_id: str, status: str, message: str, trace: str = "") -> None:
    # A second Ctrl-C or SIGTERM while ending the run must not leave it RUNNING.
    with stop_signals_ignored():
        try:
            flush_queued()
            client.set_tag(run_id, "dml.error", message[:5000])
            if trace:
                client.log_text(run_id, trace, "error.txt")
        except Exception:  # the store may be what failed; still try to set the status
            logger.debug("could not record the error on run %s", run_id, exc_info=True)
        client.set_terminated(run_id, status)
