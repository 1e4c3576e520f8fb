"""Shared fixtures: a real sqlite MLflow store per test, clean Hydra and MLflow state."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from omegaconf import DictConfig

from declarative_ml.config.resolvers import CONF_DIR, register_resolvers
from declarative_ml.config.store import register_configs

REPO = Path(__file__).resolve().parents[1]

# A shell's background job (`make test &`) starts with SIGINT ignored, and a process
# started with SIGINT ignored keeps it ignored (Python then installs no KeyboardInterrupt
# handler): the tests that Ctrl-C the CLI would wait forever. A caught signal is reset to
# the default in a child, so with this handler here every process the tests start sees
# SIGINT as a terminal's Ctrl-C.
if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)


@pytest.fixture(autouse=True)
def clean_state(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    """No Hydra instance, no MLflow active run, no inherited tracking URI, no remembered
    secrets; the working directory is the test's own folder (MLflow's default ./mlruns and
    Hydra's outputs/)."""
    from declarative_ml.secrets import BOOK

    monkeypatch.chdir(tmp_path)
    GlobalHydra.instance().clear()
    BOOK.clear()  # the process's secrets: each test starts with none
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.delenv("MLFLOW_RUN_ID", raising=False)
    monkeypatch.delenv("DML_DEBUG", raising=False)
    yield
    GlobalHydra.instance().clear()
    BOOK.clear()
    if "mlflow" in sys.modules:
        import mlflow

        while mlflow.active_run() is not None:
            mlflow.end_run()
        mlflow.set_tracking_uri(None)


@pytest.fixture
def no_pickle(store: tuple[str, Any], monkeypatch: pytest.MonkeyPatch) -> Any:
    """MLflow pointed at the module's ``store`` fixture, with pickle deserialization refused."""
    import mlflow

    monkeypatch.setenv("MLFLOW_ALLOW_PICKLE_DESERIALIZATION", "false")
    mlflow.set_tracking_uri(store[0])
    return mlflow


@pytest.fixture
def tracking_uri(tmp_path: Path) -> str:
    """A fresh sqlite store in this test's temporary folder."""
    return f"sqlite:///{tmp_path / 'mlflow.db'}"


def compose_config(*overrides: str) -> DictConfig:
    """Compose the packaged config in-process, as the CLI would (no Hydra run dir)."""
    register_configs()
    register_resolvers()
    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        return compose(config_name="config", overrides=list(overrides))


def start_cli(*args: str, cwd: Path) -> subprocess.Popen[str]:
    """``python -m declarative_ml ARGS`` started in ``cwd`` (no inherited MLflow settings);
    for tests that signal, kill or outlast it."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MLFLOW_", "DML_DEBUG"))}
    return subprocess.Popen(
        [sys.executable, "-m", "declarative_ml", *args],
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def run_cli(
    *args: str, cwd: Path, env: dict[str, str] | None = None, timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    """``python -m declarative_ml ARGS`` in ``cwd``; returns the completed process."""
    full_env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("MLFLOW_TRACKING_URI", "MLFLOW_RUN_ID", "DML_DEBUG")
    }
    full_env.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "declarative_ml", *args],
        cwd=cwd,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


@pytest.fixture(scope="session")
def postgres() -> Iterator[tuple[str, int]]:
    """One PostgreSQL server on 127.0.0.1 for the whole session (server tests only)."""
    from stores import postgres_server

    with postgres_server() as address:
        yield address


@pytest.fixture
def postgres_uri(postgres: tuple[str, int]) -> str:
    """A new, empty PostgreSQL database: a store that does not exist yet."""
    from stores import create_database

    return create_database(*postgres)


@pytest.fixture
def mlflow_server(tmp_path: Path) -> Iterator[str]:
    """A real `mlflow server` on 127.0.0.1 with a sqlite backend in tmp_path; yields its URL."""
    from stores import mlflow_server as start

    with start(f"sqlite:///{tmp_path / 'server.db'}", tmp_path / "server") as server:
        yield server.url
