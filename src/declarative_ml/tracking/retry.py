"""Retrying a store write that lost a race for a lock: sqlite's, or a database's.

Several processes write to one sqlite file in a parallel sweep (each trial's run, its
params and metrics, heartbeats). sqlite waits for a lock (MLflow sets a 20 s busy
timeout), except where waiting could deadlock: a transaction that has read and then
wants to write while another holds the write lock gets "database is locked" at once.
MLflow does not retry that; a trial's run would then never be created. PostgreSQL and
MySQL report the same kind of conflict as a deadlock or a serialization failure. Such a
write is retried with jitter: the conflict resolves as soon as the other writer commits.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")


def is_busy(exc: BaseException) -> bool:
    """Whether ``exc`` is a transient lock conflict of the store (worth retrying)."""
    text = str(exc).lower()
    return "database is locked" in text or "deadlock" in text or "could not serialize" in text


def retrying(fn: Callable[[], T], *, attempts: int = 20) -> T:
    """Call ``fn``, retrying with jitter while the store reports a transient lock conflict."""
    for attempt in range(attempts):
        try:
            return fn()
        except Exception as exc:  # MLflow wraps driver errors in several types
            if not is_busy(exc) or attempt == attempts - 1:
                raise
            time.sleep(min(0.05 * 2**attempt, 1.0) * (0.5 + random.random()))
    raise AssertionError("unreachable")


class RetryingClient:
    """An ``MlflowClient`` whose calls are retried on transient lock conflicts
    (:func:`retrying`); attributes that are not callables pass through."""

    def __init__(self, client: Any) -> None:
        self._client = client.client if isinstance(client, RetryingClient) else client

    @property
    def client(self) -> Any:
        """The wrapped MlflowClient."""
        return self._client

    def _target(self, name: str) -> Any:
        return self._client

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._target(name), name)
        if not callable(attr):
            return attr

        def call(*args: Any, **kwargs: Any) -> Any:
            return retrying(lambda: attr(*args, **kwargs))

        return call
