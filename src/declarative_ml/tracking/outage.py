"""A tracking server that stops answering: retry for a declared budget, say so, then fail clearly.

MLflow retries HTTP requests with exponential backoff (``MLFLOW_HTTP_REQUEST_*``),
silently. ``tracking.retry_budget_s`` sets how long a request may keep retrying
(the backoff sleeps add up to at least that), a warning line is printed while the
server does not answer, and when the budget is spent the error names the server
and the budget instead of urllib3's chain of exceptions.
"""

from __future__ import annotations

import logging
import math
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager

from declarative_ml import console
from declarative_ml.errors import TrackingError
from declarative_ml.secrets import redact_uri

BACKOFF_FACTOR = 1  # sleeps 0, 2, 4, 8, ... s (urllib3 2: no sleep before the first retry)


def retry_settings(budget_s: float) -> dict[str, str]:
    """MLflow's HTTP retry variables for backoff sleeps totalling at least ``budget_s``."""
    retries = max(1, math.ceil(math.log2(max(budget_s, 0) + 2 * BACKOFF_FACTOR)))
    return {
        "MLFLOW_HTTP_REQUEST_MAX_RETRIES": str(retries),
        "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR": str(BACKOFF_FACTOR),
        "MLFLOW_HTTP_REQUEST_TIMEOUT": str(int(max(10, min(budget_s, 120)))),
    }


class _RetryNotice(logging.Handler):
    """Turns urllib3's "Retrying ..." log records into one warning line per outage."""

    def __init__(self, uri: str, budget_s: float, every_s: float = 10.0) -> None:
        super().__init__(logging.WARNING)
        self.uri, self.budget_s, self.every_s = redact_uri(uri), budget_s, every_s
        self._last = 0.0

    def emit(self, record: logging.LogRecord) -> None:
        if not record.getMessage().startswith("Retrying"):
            return
        now = time.monotonic()
        if now - self._last < self.every_s:
            return
        self._last = now
        console.warn(
            f"the tracking server at {self.uri} is not answering; retrying for up to "
            f"{self.budget_s:g} s (tracking.retry_budget_s)"
        )


_installed: list[_RetryNotice] = []


def configure_http_retries(uri: str, budget_s: float) -> None:
    """Apply the retry budget for an HTTP store and announce retries (once per process)."""
    if not uri.startswith(("http://", "https://")):
        return
    for name, value in retry_settings(budget_s).items():
        os.environ.setdefault(name, value)  # an explicit MLFLOW_HTTP_* setting wins
    logger = logging.getLogger("urllib3.connectionpool")
    for handler in _installed:
        logger.removeHandler(handler)
    _installed[:] = [_RetryNotice(uri, budget_s)]
    logger.addHandler(_installed[0])
    logger.setLevel(logging.WARNING)


def is_outage(exc: BaseException) -> bool:
    """Whether ``exc`` says the tracking server could not be reached after all retries."""
    text = str(exc)
    return "Max retries exceeded" in text or "Failed to establish a new connection" in text


def outage_error(uri: str, budget_s: float) -> TrackingError:
    """The one-line error when a request to the store gave up."""
    return TrackingError(
        f"tracking.uri: the tracking server at {redact_uri(uri)} did not answer for "
        f"tracking.retry_budget_s={budget_s:g} s; the run could not be completed (it is "
        f"left RUNNING there and is marked KILLED by `dml runs reap` or the next run)"
    )


@contextmanager
def explained_outage(uri: str, budget_s: float) -> Iterator[None]:
    """Re-raise a request that gave up on the server as :func:`outage_error`."""
    try:
        yield
    except Exception as exc:
        if uri.startswith(("http://", "https://")) and is_outage(exc):
            raise outage_error(uri, budget_s) from None
        raise
