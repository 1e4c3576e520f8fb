"""What the sweeps of this process left to the entry point: parent runs still open, and
why a finished sweep is incomplete.

The sweep callback records here; ``app.main`` reads it when the command ends (Hydra turns
a callback's exception into a warning, so an incomplete sweep cannot stop the command from
inside the callback). Light: MLflow is imported only to end an open parent run.
"""

from __future__ import annotations

import logging
from typing import Any

logger = logging.getLogger(__name__)

_open: list[Any] = []  # Sweep records whose parent run this process opened
_incomplete: list[str] = []


def opened(sweep: Any) -> None:
    """A parent run was created for ``sweep`` (a ``context.Sweep``)."""
    _open.append(sweep)


def closed(parent_run_id: str) -> None:
    """The sweep of ``parent_run_id`` ended its parent run itself."""
    _open[:] = [s for s in _open if s.parent_run_id != parent_run_id]


def incomplete(reason: str) -> None:
    """A sweep ended without recording every trial: the command must exit non-zero."""
    _incomplete.append(reason)


def incomplete_sweeps() -> list[str]:
    """Why the sweeps this process ran are incomplete (empty when every trial is recorded)."""
    return list(_incomplete)


def close_open_sweeps(status: str) -> None:
    """End every parent run this process opened whose sweep ended without a summary (a bad
    search space, Ctrl-C): ``status`` is FAILED or KILLED."""
    while _open:
        sweep = _open.pop()
        try:
            from mlflow import MlflowClient

            MlflowClient(sweep.tracking_uri).set_terminated(sweep.parent_run_id, status)
        except Exception:  # the store itself may be what failed
            logger.warning("could not end sweep parent run %s", sweep.parent_run_id)


def reset() -> None:
    """Forget everything (a new process; tests)."""
    _open.clear()
    _incomplete.clear()
