"""Creating a tracking store once, however many processes start against it at the same time.

MLflow creates a database store's tables (and migrates them) the first time a
process opens it, without a lock: eight jobs started at once on a store that does
not exist yet race, and most die with "table experiments already exists",
"duplicate column name" or a PostgreSQL ``UniqueViolation``. Here every process
takes a lock that all of them share before it opens the store and gets or
creates its experiment, so exactly one initialises and the others wait:

- sqlite: an exclusive ``flock`` on a file in the temp folder named after the
  database file's absolute path (sqlite is local to one machine);
- PostgreSQL: a session advisory lock, shared by every machine using the database;
- MySQL: a named ``GET_LOCK``;
- an HTTP tracking server initialises its store itself when it starts; only the
  experiment's get-or-create needs care there (``store.get_or_create_experiment``).

Creating a sqlite store takes seconds (MLflow runs every schema migration), and a
process stopped half-way (Ctrl-C) used to leave a file every later open fails on
("table evaluation_datasets already exists"). A new sqlite store is therefore created
under a hidden temporary name beside the real one and renamed into place once complete:
there is either no store or a whole one.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

# One key for all of declarative_ml's initialisations of one database.
_ADVISORY_KEY = int.from_bytes(hashlib.sha256(b"declarative_ml:init").digest()[:7], "big")
_LOCK_TIMEOUT_S = 300


def _scheme(uri: str) -> str:
    return uri.split(":", 1)[0].split("+", 1)[0].lower()


def sqlite_path(uri: str) -> Path | None:
    """The database file of a ``sqlite:///`` URI (None for in-memory databases)."""
    path = uri.split(":///", 1)[1] if ":///" in uri else ""
    path = path.split("?", 1)[0]
    return Path(path).resolve() if path and path != ":memory:" else None


@contextmanager
def _file_lock(key: str) -> Iterator[None]:
    digest = hashlib.sha256(key.encode()).hexdigest()[:16]
    with open(Path(tempfile.gettempdir()) / f"dml-store-init-{digest}.lock", "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


@contextmanager
def _database_lock(uri: str, acquire: str, release: str) -> Iterator[None]:
    import sqlalchemy

    engine = sqlalchemy.create_engine(uri, poolclass=sqlalchemy.pool.NullPool)
    try:
        with engine.connect() as connection:
            connection.execute(sqlalchemy.text(acquire))
            try:
                yield
            finally:
                connection.execute(sqlalchemy.text(release))
    finally:
        engine.dispose()


@contextmanager
def store_init_lock(uri: str) -> Iterator[None]:
    """Hold the lock every process opening ``uri`` takes before initialising it."""
    scheme = _scheme(uri)
    if scheme == "sqlite":
        path = sqlite_path(uri)
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            with _file_lock(str(path)):
                yield
            return
    elif scheme == "postgresql":
        key = _ADVISORY_KEY
        with _database_lock(
            uri, f"SELECT pg_advisory_lock({key})", f"SELECT pg_advisory_unlock({key})"
        ):
            yield
        return
    elif scheme == "mysql":
        with _database_lock(
            uri,
            f"SELECT GET_LOCK('declarative_ml_init', {_LOCK_TIMEOUT_S})",
            "SELECT RELEASE_LOCK('declarative_ml_init')",
        ):
            yield
        return
    yield  # HTTP servers, file stores: nothing to initialise here


def _open_registry(uri: str) -> None:
    if _scheme(uri) not in ("sqlite", "postgresql", "mysql", "mssql"):
        return
    from mlflow.tracking._model_registry.utils import _get_store

    _get_store(uri, uri)  # the registry store initialises the same tables on first open


def _creating_prefix(path: Path) -> str:
    return f".{path.name}.creating-"


def create_sqlite_store(uri: str, path: Path) -> None:
    """Create the sqlite store ``uri`` (file ``path``) whole, or not at all.

    MLflow creates and migrates the tables in a hidden file beside ``path``, which is
    renamed to ``path`` when complete (a rename is atomic). Whatever stops it half-way,
    the half-made file is removed (or, after SIGKILL, by the next creation: the caller
    holds the store's initialisation lock, so no one else is creating it).
    """
    from mlflow import MlflowClient

    for stale in path.parent.glob(_creating_prefix(path) + "*"):
        stale.unlink(missing_ok=True)
    partial = path.with_name(f"{_creating_prefix(path)}{os.getpid()}")
    query = uri.split("?", 1)[1] if "?" in uri else ""
    partial_uri = f"sqlite:///{partial}" + (f"?{query}" if query else "")
    try:
        MlflowClient(tracking_uri=partial_uri)  # creates and migrates the tracking tables
        _open_registry(partial_uri)
        os.replace(partial, path)
    finally:
        for leftover in path.parent.glob(partial.name + "*"):  # the file, a -journal
            leftover.unlink(missing_ok=True)


@contextmanager
def initialised_store(uri: str) -> Iterator[Any]:
    """An ``MlflowClient`` for ``uri``, created (with the store's tables) under the lock that
    every process opening ``uri`` shares; the lock is held until the block ends, so a
    get-or-create inside it cannot race either. A new sqlite store appears whole
    (:func:`create_sqlite_store`)."""
    from mlflow import MlflowClient

    with store_init_lock(uri):
        path = sqlite_path(uri) if _scheme(uri) == "sqlite" else None
        if path is not None and not path.exists():
            create_sqlite_store(uri, path)
        client = MlflowClient(tracking_uri=uri)  # opens (and initialises) the tracking store
        _open_registry(uri)
        yield client
