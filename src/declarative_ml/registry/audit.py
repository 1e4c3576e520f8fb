"""The audit trail: one model-version tag (``dml.audit.*``) per transition, on the version it
concerns, readable by any MLflow client; ``read`` merges every version's into one trail."""

from __future__ import annotations

import getpass
import json
import os
import socket
import time
import uuid
from dataclasses import asdict, dataclass
from typing import Any

PREFIX = "dml.audit."


@dataclass(frozen=True)
class Transition:
    """One stage change of one version."""

    version: str
    from_stage: str
    to_stage: str
    who: str
    when_ms: int
    why: str
    run_id: str | None = None
    rules: str | None = None  # e.g. "production 4/4 held"

    def to_json(self) -> str:
        """Compact JSON (fits MLflow's tag value limit)."""
        return json.dumps(asdict(self), separators=(",", ":"), sort_keys=True)


def actor() -> str:
    """Who is acting: ``$DML_ACTOR``, else ``user@host``."""
    return os.environ.get("DML_ACTOR") or f"{getpass.getuser()}@{socket.gethostname()}"


def transition(
    version: str,
    from_stage: str,
    to_stage: str,
    *,
    why: str,
    run_id: str | None = None,
    rules: str | None = None,
) -> Transition:
    """A transition made now by :func:`actor`."""
    return Transition(
        str(version), from_stage, to_stage, actor(), int(time.time() * 1000), why, run_id, rules
    )


def record(client: Any, model_name: str, entry: Transition) -> None:
    """Append ``entry`` to the trail: a tag on the version it concerns.

    Keys sort by time (nanoseconds, then a random suffix), so reading every version's
    tags gives the trail in order. Keeping the entries on versions, not on the
    registered model, keeps reading the model cheap however long its history grows.
    """
    key = f"{PREFIX}{time.time_ns():019d}.{uuid.uuid4().hex[:6]}"
    client.set_model_version_tag(model_name, entry.version, key, entry.to_json())


def read(client: Any, model_name: str) -> list[Transition]:
    """Every transition of ``model_name``'s versions, oldest first."""
    entries = []
    for version in client.search_model_versions(f"name = '{model_name}'"):
        entries += [(k, v) for k, v in version.tags.items() if k.startswith(PREFIX)]
    return [Transition(**json.loads(v)) for _, v in sorted(entries)]
