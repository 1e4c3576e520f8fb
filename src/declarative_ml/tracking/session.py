"""One tracked run: opening the store, and what a run writes at its start and its end."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf

from declarative_ml import __version__
from declarative_ml.tracking.lifecycle import tracked_run
from declarative_ml.tracking.record import (
    config_sha256,
    flatten_config,
    git_state,
    log_run_data,
    log_split_inputs,
)
from declarative_ml.tracking.store import (
    check_reachable,
    get_or_create_experiment,
    redact_uri,
    resolve_tracking_uri,
)


@dataclass
class ActiveRun:
    """A started run: training results and artifacts are logged to it."""

    client: Any
    run_id: str
    experiment_id: str
    cfg: DictConfig
    overrides: list[str]
    metrics: dict[str, float] = field(default_factory=dict)
    model_uri: str | None = None
    artifacts: list[str] = field(default_factory=list)

    def log_training(self, trained: Any, signature_rows: Any) -> None:
        """Log metrics, then the model (files already saved by training).

        ``signature_rows`` are the training features: columns with missing values there
        are optional in the model's signature.
        """
        self.metrics = dict(trained.metrics)
        log_run_data(
            self.client,
            self.run_id,
            metrics=self.metrics,
            synchronous=not self.cfg.tracking.get("async", False),
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
        # A password in a store URI (tracking.uri, or a value in hydra.yaml) is masked.
        (folder / "config.yaml").write_text(redact_uri(OmegaConf.to_yaml(self.cfg, resolve=True)))
        (folder / "overrides.yaml").write_text(
            redact_uri(OmegaConf.to_yaml(OmegaConf.create(self.overrides)))
        )
        if hydra_config is not None:
            (folder / "hydra.yaml").write_text(redact_uri(OmegaConf.to_yaml(hydra_config)))
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
        self, cfg: DictConfig, overrides: list[str], *, plan: Any, data: Any
    ) -> Iterator[ActiveRun]:
        """Start a run with params, tags and inputs; it ends FINISHED, FAILED or KILLED."""
        dataset = cfg.dataset
        tags = {
            "dml.version": __version__,
            "dml.config_sha256": config_sha256(cfg),
            "dml.task": plan.task,
            "dml.estimator": plan.estimator,
            "dml.dataset.name": dataset.name,
            "dml.dataset.source": data.source,
            **{f"dml.dataset.digest.{k}": v for k, v in data.digests.items()},
            **{f"dml.{k}": v for k, v in git_state().items()},
            **{str(k): str(v) for k, v in (cfg.tracking.tags or {}).items()},
        }
        if "dml.git.commit" in tags:
            tags["mlflow.source.git.commit"] = tags["dml.git.commit"]
        if self.parent_run_id:  # explicit, so a stray MLFLOW_RUN_ID cannot re-parent it
            tags["mlflow.parentRunId"] = self.parent_run_id
        with tracked_run(
            self.client, self.experiment_id, run_name=cfg.tracking.run_name, tags=tags
        ) as run_id:
            active = ActiveRun(self.client, run_id, self.experiment_id, cfg, overrides)
            params = {k: redact_uri(v) for k, v in flatten_config(cfg).items()}
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
    uri = sweep.tracking_uri if sweep is not None else resolve_tracking_uri(tracking.uri)
    check_reachable(uri)
    import mlflow
    from mlflow import MlflowClient

    # Model.log reads the process-wide URI; everything else uses the explicit client.
    mlflow.set_tracking_uri(uri)
    client = MlflowClient(tracking_uri=uri)
    if sweep is not None:
        return Tracker(uri, client, sweep.experiment_id, sweep.parent_run_id)
    experiment_id = get_or_create_experiment(client, tracking.experiment_name)
    return Tracker(uri, client, experiment_id)
