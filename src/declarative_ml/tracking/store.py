"""Finding and reaching the tracking store, and getting the run's experiment."""

from __future__ import annotations

import os
import urllib.error
import urllib.request
from typing import Any

from declarative_ml.errors import TrackingError
from declarative_ml.secrets import redact_uri

DEFAULT_URI = "sqlite:///mlflow.db"


def resolve_tracking_uri(configured: str | None) -> str:
    """``tracking.uri`` if set, else ``$MLFLOW_TRACKING_URI``, else MLflow's default sqlite file."""
    return configured or os.environ.get("MLFLOW_TRACKING_URI") or DEFAULT_URI


def health_request(uri: str) -> tuple[str, dict[str, str]]:
    """The ``/health`` URL of a tracking server and the headers that authenticate to it.

    Credentials come the ways MLflow's client takes them: the URI's userinfo
    (``http://USER:PASSWORD@host``, which a URL opener would send to the resolver as part
    of the host name), else ``MLFLOW_TRACKING_USERNAME``/``MLFLOW_TRACKING_PASSWORD``,
    else ``MLFLOW_TRACKING_TOKEN``.
    """
    import base64
    from urllib.parse import unquote, urlsplit, urlunsplit

    parts = urlsplit(uri)
    host = parts.hostname or ""
    if ":" in host:  # an IPv6 address goes back in brackets
        host = f"[{host}]"
    netloc = host + (f":{parts.port}" if parts.port else "")
    url = urlunsplit((parts.scheme, netloc, parts.path.rstrip("/") + "/health", "", ""))
    user = unquote(parts.username) if parts.username else os.environ.get("MLFLOW_TRACKING_USERNAME")
    password = (
        unquote(parts.password or "")
        if parts.username
        else os.environ.get("MLFLOW_TRACKING_PASSWORD", "")
    )
    headers = {}
    if user:
        token = base64.b64encode(f"{user}:{password}".encode()).decode()
        headers["Authorization"] = f"Basic {token}"
    elif os.environ.get("MLFLOW_TRACKING_TOKEN"):
        headers["Authorization"] = f"Bearer {os.environ['MLFLOW_TRACKING_TOKEN']}"
    return url, headers


def check_reachable(uri: str, timeout_s: float = 5.0) -> None:
    """Fail fast with a clear message when an HTTP tracking server does not answer.

    MLflow's own client retries for minutes before giving up; this probe answers
    in at most ``timeout_s``.

    Raises:
        TrackingError: naming the URI and how to start a server.
    """
    if not uri.startswith(("http://", "https://")):
        return
    url, headers = health_request(uri)
    try:
        request = urllib.request.Request(url, headers=headers)
        with urllib.request.urlopen(request, timeout=timeout_s) as response:  # noqa: S310
            if response.status == 200:
                return
            reason = f"HTTP {response.status}"
    except urllib.error.HTTPError as exc:
        reason = f"HTTP {exc.code}"
    except (urllib.error.URLError, OSError) as exc:
        reason = str(getattr(exc, "reason", exc))
    raise TrackingError(
        f"tracking.uri: cannot reach the MLflow tracking server at {redact_uri(uri)} ({reason}); "
        f"start one with `mlflow server --host 127.0.0.1 --port 5000` or set tracking.uri"
    )


def get_or_create_experiment(client: Any, name: str) -> str:
    """The id of experiment ``name``, created if missing (tolerates a concurrent create)."""
    from mlflow.exceptions import MlflowException

    experiment = client.get_experiment_by_name(name)
    if experiment is not None:
        if experiment.lifecycle_stage == "deleted":
            raise TrackingError(
                f"tracking.experiment_name: experiment '{name}' is deleted; restore it with "
                f"`mlflow experiments restore` or pick another name"
            )
        return str(experiment.experiment_id)
    try:
        return str(client.create_experiment(name))
    except MlflowException:
        experiment = client.get_experiment_by_name(name)  # another process created it first
        if experiment is None:
            raise
        return str(experiment.experiment_id)
