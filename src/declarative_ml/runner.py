"""The task function's body: validate -> train (in a child) while tracking -> log.

Only wiring lives here. Everything that can fail on bad input (config, data,
tracking store) fails before the MLflow run is created; a failure after that
ends the run FAILED (KILLED on Ctrl-C).
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from omegaconf import DictConfig

from declarative_ml.config.compose import ConfigLocation
from declarative_ml.config.validate import Plan, validate_config
from declarative_ml.data.prepare import PreparedData
from declarative_ml.secrets import remember_config
from declarative_ml.sweeps.context import current_sweep
from declarative_ml.tracking.outage import explained_outage
from declarative_ml.training import Plotted, Trained, training_stages
from declarative_ml.worker import Stages


@dataclass(frozen=True)
class RunResult:
    """What a finished run produced."""

    run_id: str
    experiment_id: str
    tracking_uri: str
    metrics: dict[str, float]
    model_uri: str | None
    plan: Plan
    artifacts: list[str] = field(default_factory=list)
    promotion: Any | None = None
    device: str | None = None  # where a torch model trained: cpu, or cuda (GPU name)

    @property
    def objective(self) -> float | None:
        """The value of the objective metric (what a sweep optimises)."""
        return self.metrics.get(self.plan.objective[0])


def _expect(stages: Stages, kind: type) -> Any:
    item = next(stages)
    if not isinstance(item, kind):  # a programming error, not a user's
        raise TypeError(f"expected {kind.__name__} from training, got {type(item).__name__}")
    return item


def _isolate(cfg: DictConfig, *, in_sweep: bool) -> bool:
    """Train in a child only while it pays: when MLflow is not imported yet, the child
    trains while this process imports it. Sweep trials, and later runs in the same
    process, train here, where scikit-learn and XGBoost then stay imported."""
    import sys

    return bool(cfg.run.isolate_training) and not in_sweep and "mlflow" not in sys.modules


def _unresolved(cfg: DictConfig) -> Any:
    from omegaconf import OmegaConf
    from omegaconf.errors import OmegaConfBaseException

    try:
        return OmegaConf.to_container(cfg, resolve=False, enum_to_str=True)
    except OmegaConfBaseException:  # validation reports it, with its key
        return None


def train(
    cfg: DictConfig,
    *,
    overrides: list[str] | None = None,
    hydra_config: Any | None = None,
    location: ConfigLocation | None = None,
) -> RunResult:
    """Run one declared experiment end to end and log it to MLflow.

    Args:
        cfg: the composed config.
        overrides: the command-line overrides, stored with the run.
        hydra_config: Hydra's own config, stored with the run when given.
        location: where the run's configs come from; default: read off ``hydra_config``
            (the package's own folder without one).

    Returns:
        The :class:`RunResult`.
    """
    # Before validation resolves the config in place: ${oc.env:..} is still visible.
    remember_config(cfg, overrides or [])  # masked in everything this process writes
    location = location or ConfigLocation.from_hydra(hydra_config)
    raw = _unresolved(cfg)  # validation resolves in place; the record shows ${oc.env:..}
    plan = validate_config(cfg, location=location)
    sweep = current_sweep(hydra_config)
    isolate = _isolate(cfg, in_sweep=sweep is not None)
    with tempfile.TemporaryDirectory(prefix="dml-") as tmp:
        workdir = Path(tmp)
        with Stages(training_stages, cfg, plan, workdir, isolate=isolate) as stages:
            from declarative_ml.tracking import session  # imports MLflow while the child trains

            tracker = session.open_tracker(cfg.tracking, sweep=sweep)
            data: PreparedData = _expect(stages, PreparedData)
            budget = float(cfg.tracking.retry_budget_s)
            with (
                explained_outage(tracker.uri, budget),
                tracker.run(cfg, overrides or [], plan=plan, data=data, raw=raw) as run,
            ):
                trained: Trained = _expect(stages, Trained)
                run.log_training(trained, signature_rows=data.splits["train"].X)
                _expect(stages, Plotted)
                run.log_artifacts(workdir / "artifacts", hydra_config=hydra_config)
    promotion = None
    # Only a FINISHED run's model is ever registered; in a sweep, by default only the best
    # trial's, decided when the sweep ends (sweeps/callback.py).
    by_trial = sweep is None or cfg.promotion.on_sweep == "each"
    if plan.gates and run.model_uri and by_trial:
        from declarative_ml.promotion import promote_declared

        promotion = promote_declared(
            tracker.client,
            cfg,
            plan,
            run_id=run.run_id,
            metrics=run.metrics,
            model_uri=run.model_uri,
            test_split=data.splits["test"],
        )
    return RunResult(
        run.run_id,
        tracker.experiment_id,
        tracker.uri,
        run.metrics,
        run.model_uri,
        plan,
        run.artifacts,
        promotion,
        trained.device,
    )
