"""A run's lifecycle: it always ends FINISHED, FAILED or KILLED, never left RUNNING."""

from __future__ import annotations

import logging
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

logger = logging.getLogger(__name__)


@contextmanager
def tracked_run(
    client: Any, experiment_id: str, *, run_name: str | None, tags: dict[str, str]
) -> Iterator[str]:
    """Create a run and guarantee it is terminated whatever happens inside.

    Exceptions end the run FAILED (the error is kept in tag ``dml.error``);
    KeyboardInterrupt ends it KILLED. The exception is re-raised.

    Yields:
        The run id.
    """
    run = client.create_run(experiment_id, run_name=run_name, tags=tags)
    run_id = run.info.run_id
    try:
        yield run_id
    except KeyboardInterrupt:
        _terminate(client, run_id, "KILLED", "interrupted")
        raise
    except BaseException as exc:
        message = f"{type(exc).__name__}: {exc}"
        _terminate(client, run_id, "FAILED", message, traceback.format_exc())
        raise
    flush_queued()
    client.set_terminated(run_id, "FINISHED")


def flush_queued() -> None:
    """Write out metrics queued by asynchronous logging (a no-op when nothing is queued)."""
    import mlflow

    mlflow.flush_async_logging()


def _terminate(client: Any, run_id: str, status: str, message: str, trace: str = "") -> None:
    try:
        flush_queued()
        client.set_tag(run_id, "dml.error", message[:5000])
        if trace:
            client.log_text(run_id, trace, "error.txt")
    except Exception:  # the store may be what failed; still try to set the status
        logger.debug("could not record the error on run %s", run_id, exc_info=True)
    client.set_terminated(run_id, status)
