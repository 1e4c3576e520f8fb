"""One tracked run: opening the store, and what a run writes at its start and its end."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf

from declarative_ml import __version__, console
from declarative_ml.errors import TrackingError
from declarative_ml.secrets import (
    dump_yaml,
    mask_config,
    mask_overrides,
    mask_text,
    mask_tree,
    redact_uri,
)
from declarative_ml.tracking.heartbeat import reap_experiment
from declarative_ml.tracking.lifecycle import tracked_run
from declarative_ml.tracking.outage import configure_http_retries
from declarative_ml.tracking.record import (
    config_sha256,
    flatten_config,
    git_state,
    log_run_data,
    log_split_inputs,
)
from declarative_ml.tracking.retry import RetryingClient
from declarative_ml.tracking.store import (
    check_reachable,
    get_or_create_experiment,
    resolve_tracking_uri,
)
from declarative_ml.tracking.store_init import initialised_store


@dataclass
class ActiveRun:
    """A started run: training results and artifacts are logged to it."""

    client: Any
    run_id: str
    experiment_id: str
    cfg: DictConfig
    overrides: list[str]
    masked: dict[str, Any]  # the config with secrets masked: what params and config.yaml show
    metrics: dict[str, float] = field(default_factory=dict)
    model_uri: str | None = None
    artifacts: list[str] = field(default_factory=list)

    def log_training(self, trained: Any, signature_rows: Any) -> None:
        """Log metrics (and a torch model's per-epoch history, with steps), then the model
        (files already saved by training).

        ``signature_rows`` are the training features: columns with missing values there
        are optional in the model's signature.
        """
        self.metrics = dict(trained.metrics)
        synchronous = not self.cfg.tracking.get("async", False)
        history = getattr(trained, "history", None) or []
        tags = {"dml.device": trained.device} if getattr(trained, "device", None) else {}
        # Epochs at steps 0..n-1, then the run's metrics at step n, in one log_batch. The
        # run's metrics come last, so the latest val_<metric> (what rules read) is the
        # logged model's.
        log_run_data(
            self.client,
            self.run_id,
            history=history,
            metrics=self.metrics,
            tags=tags,
            step=len(history),
            synchronous=synchronous,
        )
        if trained.saved is not None:
            from declarative_ml.tracking.model import log_saved_model

            self.model_uri = log_saved_model(
                self.client,
                self.run_id,
                self.experiment_id,
                trained.saved,
                signature_rows=signature_rows,
                input_example=trained.example,
                predictions=trained.example_predictions,
            )

    def log_artifacts(self, root: Path, *, hydra_config: Any | None) -> None:
        """Write the config snapshot beside the plots and upload the folder in one call."""
        folder = root / "config"
        folder.mkdir(parents=True, exist_ok=True)
        # Secrets (URI passwords, ${oc.env:..} values, secret-looking keys) are masked.
        (folder / "config.yaml").write_text(dump_yaml(self.masked))
        (folder / "overrides.yaml").write_text(dump_yaml(mask_overrides(self.overrides)))
        if hydra_config is not None:
            raw = OmegaConf.to_container(hydra_config, resolve=False, enum_to_str=True)
            (folder / "hydra.yaml").write_text(dump_yaml(mask_tree(raw)))
        self.client.log_artifacts(self.run_id, str(root))
        self.artifacts = sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


@dataclass
class Tracker:
    """A reachable tracking store and the experiment runs go to."""

    uri: str
    client: Any
    experiment_id: str
    parent_run_id: str | None = None  # set for a trial of a sweep

    @contextmanager
    def run(
        self, cfg: DictConfig, overrides: list[str], *, plan: Any, data: Any, raw: Any = None
    ) -> Iterator[ActiveRun]:
        """Start a run with params, tags and inputs; it ends FINISHED, FAILED or KILLED.

        ``raw`` is the config as composed, before validation resolved it in place: values
        read with ``${oc.env:..}`` are recorded as that interpolation.
        """
        dataset = cfg.dataset
        masked = mask_config(cfg, raw=raw)  # secrets masked; ${oc.env:..} shown as their source
        tags = {
            "dml.version": __version__,
            "dml.config_sha256": config_sha256(cfg),
            "dml.task": plan.task,
            "dml.estimator": plan.estimator,
            "dml.dataset.name": dataset.name,
            "dml.dataset.source": data.source,
            **{f"dml.dataset.digest.{k}": v for k, v in data.digests.items()},
            **{f"dml.{k}": v for k, v in git_state().items()},
            **{str(k): str(v) for k, v in (masked["tracking"].get("tags") or {}).items()},
        }
        tags = {k: mask_text(v) for k, v in tags.items()}
        if "dml.git.commit" in tags:
            tags["mlflow.source.git.commit"] = tags["dml.git.commit"]
        if self.parent_run_id:  # explicit, so a stray MLFLOW_RUN_ID cannot re-parent it
            tags["mlflow.parentRunId"] = self.parent_run_id
        with tracked_run(
            self.client,
            self.experiment_id,
            run_name=masked["tracking"].get("run_name"),
            tags=tags,
            heartbeat_s=float(cfg.tracking.heartbeat_s),
        ) as run_id:
            active = ActiveRun(self.client, run_id, self.experiment_id, cfg, overrides, masked)
            params = flatten_config(masked)
            log_run_data(self.client, run_id, params=params)
            log_split_inputs(
                self.client,
                run_id,
                data.splits,
                name=dataset.name,
                source=data.source,
                target=dataset.target or "target",
                digests=data.digests,
            )
            yield active


def open_tracker(tracking: Any, *, sweep: Any | None = None) -> Tracker:
    """Reach the store named by ``tracking`` and get or create its experiment.

    In a sweep, the store and experiment are the sweep's (its parent run's).

    Raises:
        TrackingError: if the store cannot be reached.
    """
    uri = resolve_tracking_uri(tracking.uri)
    if sweep is not None and redact_uri(uri) != sweep.tracking_uri:
        raise TrackingError(
            f"tracking.uri: a trial must log to its sweep's store ({sweep.tracking_uri}), "
            f"not {redact_uri(uri)}; do not sweep over tracking.uri"
        )
    check_reachable(uri)
    configure_http_retries(uri, float(tracking.retry_budget_s))
    import mlflow

    # Model.log reads the process-wide URI; everything else uses the explicit client.
    mlflow.set_tracking_uri(uri)
    if sweep is not None:  # the sweep created the store and experiment before its trials
        from mlflow import MlflowClient

        # Trials write to one store at once: a lost lock race is retried, not a lost run.
        client = RetryingClient(MlflowClient(tracking_uri=uri))
        return Tracker(uri, client, sweep.experiment_id, sweep.parent_run_id)
    with initialised_store(uri) as store_client:
        experiment_id = get_or_create_experiment(store_client, tracking.experiment_name)
    client = RetryingClient(store_client)
    for stale in reap_experiment(client, experiment_id):
        console.warn(
            f"run {stale.run_id} ({stale.run_name}) was left RUNNING by a process that died; "
            f"marked KILLED"
        )
    return Tracker(uri, client, experiment_id)
