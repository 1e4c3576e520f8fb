"""Params, metrics, tags and dataset inputs, each written in as few calls as possible."""

from __future__ import annotations

import hashlib
import json
import subprocess
import time
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf

_MAX_PARAM_CHARS = 6000


def flatten_config(cfg: DictConfig | Mapping[str, Any]) -> dict[str, str]:
    """The resolved config (or a plain mapping of it) as ``a.b.c -> value`` strings
    (lists stay JSON on one key)."""
    container = (
        OmegaConf.to_container(cfg, resolve=True, enum_to_str=True)
        if isinstance(cfg, DictConfig)
        else cfg
    )
    flat: dict[str, str] = {}

    def walk(prefix: str, node: Any) -> None:
        if isinstance(node, Mapping) and node:
            for key, value in node.items():
                walk(f"{prefix}.{key}" if prefix else str(key), value)
        else:
            text = json.dumps(node) if isinstance(node, (list, dict)) else str(node)
            flat[prefix] = text[:_MAX_PARAM_CHARS]

    walk("", container)
    return flat


def config_sha256(cfg: DictConfig) -> str:
    """sha256 of the resolved config in canonical JSON: equal configs, equal hashes."""
    container = OmegaConf.to_container(cfg, resolve=True, enum_to_str=True)
    return hashlib.sha256(json.dumps(container, sort_keys=True).encode()).hexdigest()


def git_state(start: Path | None = None) -> dict[str, str]:
    """``git.commit`` and ``git.dirty`` of the working directory's repository, if any
    (git runs with a clean environment: ``vcs.run_git``)."""
    from declarative_ml.vcs import run_git

    cwd = start or Path.cwd()
    try:
        commit = run_git("rev-parse", "HEAD", cwd=cwd, timeout=5)
        status = run_git(
            "--no-optional-locks",
            "status",
            "--porcelain",
            "--untracked-files=no",
            cwd=cwd,
            timeout=5,
        )
    except (OSError, subprocess.SubprocessError):
        return {}
    if commit.returncode != 0 or status.returncode != 0:
        return {}
    dirty = bool(status.stdout.strip())
    return {"git.commit": commit.stdout.decode().strip(), "git.dirty": str(dirty).lower()}


def log_run_data(
    client: Any,
    run_id: str,
    *,
    params: Mapping[str, str] | None = None,
    metrics: Mapping[str, float] | None = None,
    tags: Mapping[str, str] | None = None,
    step: int = 0,
    history: Sequence[Mapping[str, float]] = (),
    synchronous: bool = True,
) -> None:
    """Write params, metrics and tags in one batched request (MLflow chunks it as needed).

    ``history`` (per-epoch metrics) is written at steps 0, 1, ... before ``metrics``
    at ``step``. With ``synchronous=False`` the batch is queued (``tracking.async``);
    the run's lifecycle flushes the queue before the run ends, on every exit path.
    """
    from mlflow.entities import Metric, Param, RunTag

    now = int(time.time() * 1000)
    records = [*enumerate(history), (step, metrics or {})]
    client.log_batch(
        run_id,
        metrics=[Metric(k, float(v), now, i) for i, record in records for k, v in record.items()],
        params=[Param(k, v) for k, v in (params or {}).items()],
        tags=[RunTag(k, str(v)) for k, v in (tags or {}).items()],
        synchronous=synchronous,
    )


def _dataset_source(source: str) -> Any:
    """A file path becomes a file source; a loader name (scikit-learn) a code source."""
    from mlflow.data.code_dataset_source import CodeDatasetSource
    from mlflow.data.dataset_source_registry import resolve_dataset_source

    from declarative_ml.secrets import mask_text

    path = Path(source)
    if not path.is_file():
        return CodeDatasetSource(tags={"loader": source})
    uri = path.resolve().as_uri()
    masked = mask_text(uri)
    if masked != uri:  # a path from ${oc.env:..} is a secret: recorded masked
        return CodeDatasetSource(tags={"path": masked})
    return resolve_dataset_source(uri)


def log_split_inputs(
    client: Any,
    run_id: str,
    splits: Mapping[str, Any],
    *,
    name: str,
    source: str,
    target: str,
    digests: Mapping[str, str],
) -> None:
    """Record each split as an MLflow dataset input, tagged with its context (train/val/test)."""
    from mlflow.data.pandas_dataset import from_pandas
    from mlflow.entities import DatasetInput, InputTag

    with warnings.catch_warnings():
        # MLflow registers its local-file source twice and warns that a path is ambiguous.
        warnings.simplefilter("ignore", UserWarning)
        dataset_source = _dataset_source(source)
    inputs = []
    for split_name, split in splits.items():
        frame = split.X.assign(**{target: split.y})
        dataset = from_pandas(
            frame,
            source=dataset_source,
            targets=target,
            name=f"{name}-{split_name}",
            digest=digests[split_name],
        )
        inputs.append(
            DatasetInput(
                dataset._to_mlflow_entity(), tags=[InputTag("mlflow.data.context", split_name)]
            )
        )
    client.log_inputs(run_id, datasets=inputs)
