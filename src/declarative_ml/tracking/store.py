"""Finding and reaching the tracking store, and getting the run's experiment."""

from __future__ import annotations

import os
import re
import urllib.error
import urllib.request
from typing import Any

from declarative_ml.errors import TrackingError

DEFAULT_URI = "sqlite:///mlflow.db"
_PASSWORD = re.compile(r"(?<=://)([^:/@\s]+):([^@/\s]+)@")


def resolve_tracking_uri(configured: str | None) -> str:
    """``tracking.uri`` if set, else ``$MLFLOW_TRACKING_URI``, else MLflow's default sqlite file."""
    return configured or os.environ.get("MLFLOW_TRACKING_URI") or DEFAULT_URI


def redact_uri(uri: str) -> str:
    """``uri`` (or any text holding URIs) with each password replaced by ``***``."""
    return _PASSWORD.sub(r"\1:***@", uri)


def uri_passwords(text: str) -> list[str]:
    """The passwords of the URIs in ``text``."""
    return [match.group(2) for match in _PASSWORD.finditer(text)]


def check_reachable(uri: str, timeout_s: float = 5.0) -> None:
    """Fail fast with a clear message when an HTTP tracking server does not answer.

    MLflow's own client retries for minutes before giving up; this probe answers
    in at most ``timeout_s``.

    Raises:
        TrackingError: naming the URI and how to start a server.
    """
    if not uri.startswith(("http://", "https://")):
        return
    url = uri.rstrip("/") + "/health"
    try:
        with urllib.request.urlopen(url, timeout=timeout_s) as response:  # noqa: S310 (http only)
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
