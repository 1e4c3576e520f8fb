"""Registered means loadable: a logged model's files are checked in the store, and summed.

After a model is uploaded it is read back from the store: ``MLmodel`` and every file
declarative_ml saved must be there, and a sha256 over all of its files is recorded
as the tag ``dml.model.sha256`` on the run and the logged model. Before a version is
registered, the store's files are summed again and must match: a model whose upload
failed part-way, or whose files changed since, is never registered.
"""

from __future__ import annotations

import hashlib
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from declarative_ml.errors import RegistryError, TrackingError

DIGEST_TAG = "dml.model.sha256"


def folder_digest(root: Path) -> str:
    """sha256 over every file under ``root``: its relative path, then its bytes, in path order."""
    digest = hashlib.sha256()
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        digest.update(path.relative_to(root).as_posix().encode() + b"\0")
        with path.open("rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
        digest.update(b"\0")
    return digest.hexdigest()


def stored_model_digest(client: Any, location: str, *, expected: Iterable[str] = ()) -> str:
    """Read a logged model back from the store, check it is complete, and sum it.

    Args:
        location: the logged model's ``artifact_location``.
        expected: names of files that must be among its artifacts (besides ``MLmodel``).

    Raises:
        TrackingError: naming what is missing and where.
    """
    import mlflow.artifacts

    with tempfile.TemporaryDirectory(prefix="dml-verify-") as tmp:
        try:
            local = Path(
                mlflow.artifacts.download_artifacts(
                    artifact_uri=location, dst_path=tmp, tracking_uri=client.tracking_uri
                )
            )
        except Exception as exc:
            raise TrackingError(
                f"the model at {location} cannot be read back from the store ({exc})"
            ) from None
        names = {p.name for p in local.rglob("*") if p.is_file()}
        missing = sorted({"MLmodel", *expected} - names)
        if missing:
            raise TrackingError(
                f"the model upload to {location} is incomplete: {', '.join(missing)} missing"
            )
        return folder_digest(local)


def record_digest(client: Any, run_id: str, logged: Any, *, expected: Iterable[str]) -> str:
    """Verify the freshly ``logged`` model (a ``LoggedModel``) in the store and tag its
    digest on run and model."""
    value = stored_model_digest(client, logged.artifact_location, expected=expected)
    client.set_tag(run_id, DIGEST_TAG, value)
    client.set_logged_model_tags(logged.model_id, {DIGEST_TAG: value})
    return value


def check_before_registering(client: Any, logged: Any) -> str:
    """The digest of the ``logged`` model (a ``LoggedModel`` as the store has it now),
    re-checked in the store against the one recorded.

    Raises:
        RegistryError: the model was never verified, is incomplete, or changed since.
    """
    model_id = logged.model_id
    recorded = logged.tags.get(DIGEST_TAG)
    if recorded is None:
        raise RegistryError(
            f"model {model_id} has no {DIGEST_TAG} tag: it was not verified after upload; "
            f"not registering it"
        )
    try:
        current = stored_model_digest(client, logged.artifact_location)
    except TrackingError as exc:
        raise RegistryError(f"{exc}; not registering it") from None
    if current != recorded:
        raise RegistryError(
            f"model {model_id}'s files changed since they were logged (sha256 {current[:12]} "
            f"!= recorded {recorded[:12]}); not registering it"
        )
    return current
