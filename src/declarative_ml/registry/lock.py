"""Serialising decide-and-apply on one registered model, across processes and machines.

MLflow's alias writes are last-writer-wins, so two candidates deciding at once
could both "beat" the same champion. The lock is a registered model named
``dml-lock--<model>``: creating a registered model is atomic in every MLflow
backend (unique name), so it works the same on a sqlite file, PostgreSQL or a
tracking server, with no shared filesystem. A lock older than ``stale_s`` (its
holder died) is broken.
"""

from __future__ import annotations

import random
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from typing import Any

from declarative_ml.errors import RegistryError
from declarative_ml.registry import audit
from declarative_ml.tracking.retry import retrying

LOCK_PREFIX = "dml-lock--"


def is_lock_model(name: str) -> bool:
    """Whether a registered model name is one of our locks (hidden from listings)."""
    return name.startswith(LOCK_PREFIX)


def _code(exc: Exception) -> str:
    return str(getattr(exc, "error_code", ""))


def _try_acquire(client: Any, lock_name: str, token: str) -> bool:
    from mlflow.exceptions import MlflowException

    try:
        retrying(
            lambda: client.create_registered_model(
                lock_name,
                tags={
                    "dml.lock.token": token,
                    "dml.lock.owner": audit.actor(),
                    "dml.lock.since_ms": str(int(time.time() * 1000)),
                },
                description="declarative_ml: held while a promotion decision is made and applied",
            )
        )
        return True
    except MlflowException as exc:
        if "RESOURCE_ALREADY_EXISTS" in _code(exc) or "already exists" in str(exc).lower():
            return False
        if "RESOURCE_DOES_NOT_EXIST" in _code(exc) or "not found" in str(exc).lower():
            # MLflow hit the unique name, then looked the holder up after it released: contended.
            return False
        raise


def _break_if_stale(client: Any, lock_name: str, stale_s: float) -> str:
    from mlflow.exceptions import MlflowException

    try:
        tags = client.get_registered_model(lock_name).tags
    except MlflowException:
        return "released"
    since = int(tags.get("dml.lock.since_ms", "0") or 0)
    if time.time() * 1000 - since > stale_s * 1000:
        with suppress(MlflowException):
            client.delete_registered_model(lock_name)
        return "broken"
    return f"held by {tags.get('dml.lock.owner', '?')} since {since}"


@contextmanager
def registry_lock(
    client: Any, model_name: str, *, timeout_s: float = 120.0, stale_s: float = 600.0
) -> Iterator[None]:
    """Hold the promotion lock of ``model_name`` for the duration of the block.

    Raises:
        RegistryError: if the lock cannot be had within ``timeout_s``.
    """
    lock_name = f"{LOCK_PREFIX}{model_name}"
    token = uuid.uuid4().hex
    deadline = time.monotonic() + timeout_s
    state = ""
    while not _try_acquire(client, lock_name, token):
        state = _break_if_stale(client, lock_name, stale_s)
        if time.monotonic() > deadline:
            raise RegistryError(
                f"registry lock for model '{model_name}' not acquired in {timeout_s:.0f} s "
                f"({state}); if its holder died, delete registered model '{lock_name}'"
            )
        time.sleep(0.02 + random.random() * 0.08)
    try:
        yield
    finally:
        from mlflow.exceptions import MlflowException

        try:
            mine = client.get_registered_model(lock_name).tags.get("dml.lock.token") == token
            if mine:
                retrying(lambda: client.delete_registered_model(lock_name))
        except MlflowException:
            pass  # already broken as stale by someone else
