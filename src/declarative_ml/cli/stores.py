"""``dml`` works on stores that exist: a mistyped ``--tracking-uri`` must not create one.

MLflow creates a sqlite file (with its tables) or a local folder the first time a
client touches it, so ``dml --tracking-uri sqlite:///typo.db models list`` used to
create ``typo.db`` and print an empty table, as if the models had vanished. Every
``dml`` command reads models, versions or runs a store already holds (those that
write, write to those), so a local store that is not there is refused, naming the URI.
A server or database URI is left to the connection, which fails on its own.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

from declarative_ml.errors import TrackingError


def open_store(given: str | None, *, key: str | None = None) -> Any:
    """A registry client on an existing, reachable store.

    Args:
        given: the URI given (``--tracking-uri``, or ``tracking.uri`` with ``key``);
            None: ``$MLFLOW_TRACKING_URI``, else MLflow's default sqlite file.
        key: how messages name where ``given`` came from (default: see `uri_source`).

    Raises:
        TrackingError: for a local store that does not exist or a server that does
            not answer, naming the URI.
    """
    from mlflow import MlflowClient

    from declarative_ml.registry.client import RegistryClient
    from declarative_ml.tracking.store import check_reachable, resolve_tracking_uri

    uri = resolve_tracking_uri(given)
    require_existing_store(uri, key=key or uri_source(given))
    check_reachable(uri)
    # Only now: creating the client creates a missing sqlite file and its tables.
    return RegistryClient(MlflowClient(tracking_uri=uri))


def local_store_path(uri: str) -> Path | None:
    """The file (sqlite) or folder (file store) a local tracking URI names.

    Returns:
        The path as MLflow would open it (relative to the working directory when
        relative), or None for an in-memory database, a server or a remote database.
    """
    if uri.startswith("sqlite:"):
        # sqlite:///relative.db, sqlite:////absolute.db; sqlite:// is an in-memory database
        path = uri.removeprefix("sqlite:///") if uri.startswith("sqlite:///") else ""
        path = unquote(path.split("?", 1)[0])
        return Path(path) if path and path != ":memory:" else None
    if uri.startswith("file:"):
        return Path(unquote(urlparse(uri).path))
    if "://" not in uri:  # a plain path is a file store
        return Path(uri).expanduser()
    return None


def require_existing_store(uri: str, *, key: str) -> None:
    """Refuse a local store that does not exist, before any client creates it.

    Args:
        uri: the resolved tracking URI.
        key: where the URI came from, as the message names it (``--tracking-uri``,
            ``$MLFLOW_TRACKING_URI``, ``tracking.uri`` or the default).

    Raises:
        TrackingError: naming the URI and the missing file or folder.
    """
    from declarative_ml.secrets import redact_uri

    path = local_store_path(uri)
    if path is None or path.exists():
        return
    shown = path if path.is_absolute() else f"{path} in {Path.cwd()}"
    raise TrackingError(
        f"{key}: no MLflow store at {redact_uri(uri)} ({shown} does not exist); dml reads "
        f"an existing store: check the URI, or train into it first "
        f"(python -m declarative_ml tracking.uri=... experiment=NAME)"
    )


def uri_source(given: str | None) -> str:
    """How the message names where the tracking URI came from."""
    if given:
        return "--tracking-uri"
    if os.environ.get("MLFLOW_TRACKING_URI"):
        return "$MLFLOW_TRACKING_URI"
    return "the default tracking store"
