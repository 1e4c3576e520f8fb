"""Real tracking stores for server tests: PostgreSQL started from its binaries, `mlflow server`.

Both listen on 127.0.0.1 only and live in temporary folders removed afterwards.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

PG_BIN = Path(os.environ.get("DML_PG_BIN", "/usr/lib/postgresql/15/bin"))


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _as_postgres(args: list[str]) -> list[str]:
    """PostgreSQL refuses to run as root: run its tools as the ``postgres`` user then."""
    if os.geteuid() != 0:
        return args
    return ["runuser", "-u", "postgres", "--", *args]


@contextmanager
def postgres_server() -> Iterator[tuple[str, int]]:
    """A PostgreSQL server on 127.0.0.1 (trust auth), yielding (host, port)."""
    if not (PG_BIN / "initdb").exists():
        raise RuntimeError(
            f"PostgreSQL binaries not found in {PG_BIN}: apt-get install -y postgresql "
            f"(or set DML_PG_BIN)"
        )
    root = Path(tempfile.mkdtemp(prefix="dml-pg-"))
    if os.geteuid() == 0:
        shutil.chown(root, "postgres", "postgres")
    data, port = root / "data", free_port()
    subprocess.run(
        _as_postgres([str(PG_BIN / "initdb"), "-D", str(data), "-U", "postgres", "-A", "trust"]),
        check=True,
        capture_output=True,
    )
    options = f"-p {port} -h 127.0.0.1 -k {root} -c fsync=off -c max_connections=200"
    subprocess.run(
        _as_postgres(
            [str(PG_BIN / "pg_ctl"), "-D", str(data), "-l", str(root / "pg.log"), "-o", options]
            + ["-w", "start"]
        ),
        check=True,
        capture_output=True,
    )
    try:
        yield "127.0.0.1", port
    finally:
        subprocess.run(
            _as_postgres([str(PG_BIN / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"]),
            capture_output=True,
        )
        shutil.rmtree(root, ignore_errors=True)


def create_database(host: str, port: int) -> str:
    """A new, empty database on the server; returns its SQLAlchemy URI."""
    import psycopg

    name = f"mlflow_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(
        host=host, port=port, user="postgres", dbname="postgres", autocommit=True
    ) as connection:
        connection.execute(f"CREATE DATABASE {name}")
    return f"postgresql://postgres@{host}:{port}/{name}"


def _wait_healthy(url: str, proc: subprocess.Popen[bytes], log: Path, timeout_s: float) -> None:
    deadline = time.time() + timeout_s
    while True:
        try:
            with urllib.request.urlopen(f"{url}/health", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        if time.time() > deadline or proc.poll() is not None:
            proc.kill()
            raise RuntimeError("mlflow server did not start:\n" + log.read_text())
        time.sleep(0.5)


class MlflowServer:
    """A real ``mlflow server`` process that a test may stop and start again on its port."""

    def __init__(
        self,
        backend: str,
        folder: Path,
        port: int | None = None,
        *,
        app: list[str] | None = None,
        env: dict[str, str] | None = None,
    ) -> None:
        self.backend, self.folder = backend, folder
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen[bytes] | None = None
        self.app, self.env = app or [], env or {}

    def start(self, timeout_s: float = 90) -> None:
        log = self.folder / "server.log"
        with open(log, "ab") as handle:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "mlflow", "server", "--host", "127.0.0.1"]
                + ["--port", str(self.port), "--backend-store-uri", self.backend]
                # Artifacts go through the server (mlflow-artifacts:/), as with a remote one.
                + ["--serve-artifacts", "--artifacts-destination", str(self.folder / "artifacts")]
                + ["--workers", "2", *self.app],
                stdout=handle,
                stderr=subprocess.STDOUT,
                env={**os.environ, "MLFLOW_TRACKING_URI": "", **self.env},
                start_new_session=True,
                cwd=self.folder,
            )
        _wait_healthy(self.url, self.proc, log, timeout_s)

    def stop(self) -> None:
        if self.proc is None:
            return
        os.killpg(self.proc.pid, 15)  # the server and its gunicorn/uvicorn workers
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, 9)
            self.proc.wait()
        self.proc = None


@contextmanager
def mlflow_server(backend: str, folder: Path) -> Iterator[MlflowServer]:
    """A started :class:`MlflowServer` on 127.0.0.1, stopped afterwards."""
    folder.mkdir(parents=True, exist_ok=True)
    server = MlflowServer(backend, folder)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@contextmanager
def auth_server(
    folder: Path, *, admin_password: str, backend: str | None = None
) -> Iterator[MlflowServer]:
    """A started ``mlflow server --app-name basic-auth`` on 127.0.0.1: users in a sqlite file
    of its own, admin ``admin`` with ``admin_password`` (12+ characters; MLflow has no
    default), a Flask secret key, artifacts proxied to ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    config = folder / "basic_auth.ini"
    config.write_text(
        "[mlflow]\n"
        "default_permission = READ\n"
        f"database_uri = sqlite:///{folder / 'basic_auth.db'}\n"
        "admin_username = admin\n"
        "authorization_function = mlflow.server.auth:authenticate_request_basic_auth\n"
    )
    env = {
        "MLFLOW_AUTH_CONFIG_PATH": str(config),
        "MLFLOW_AUTH_ADMIN_PASSWORD": admin_password,
        "MLFLOW_FLASK_SERVER_SECRET_KEY": uuid.uuid4().hex,
    }
    server = MlflowServer(
        backend or f"sqlite:///{folder / 'server.db'}",
        folder,
        app=["--app-name", "basic-auth"],
        env=env,
    )
    server.start()
    try:
        yield server
    finally:
        server.stop()


class FaultyProxy:
    """An HTTP proxy on 127.0.0.1 in front of a real server that refuses chosen requests.

    Fault injection for the network between client and server (a dropped upload),
    with both ends real: requests for which ``refuse(method, path)`` is true get
    HTTP 403 and never reach the server; all others are forwarded unchanged.
    """

    def __init__(self, upstream: str, refuse: Callable[[str, str], bool]) -> None:
        import http.client
        import http.server
        import threading
        from urllib.parse import urlsplit

        target = urlsplit(upstream)
        self.refused: list[str] = []
        proxy = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:  # quiet
                pass

            def _forward(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else None
                if refuse(self.command, self.path):
                    proxy.refused.append(f"{self.command} {self.path}")
                    self.send_response(403)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                connection = http.client.HTTPConnection(target.hostname, target.port, timeout=120)
                headers = {k: v for k, v in self.headers.items() if k.lower() != "host"}
                connection.request(self.command, self.path, body=body, headers=headers)
                response = connection.getresponse()
                data = response.read()
                self.send_response(response.status)
                for key, value in response.getheaders():
                    if key.lower() not in ("transfer-encoding", "connection", "content-length"):
                        self.send_header(key, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
                connection.close()

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _forward  # noqa: N815

        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> FaultyProxy:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
