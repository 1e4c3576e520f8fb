"""A Hydra callback that opens the sweep's parent run and closes it with a summary."""

from __future__ import annotations

import logging
import math
import tempfile
from pathlib import Path
from typing import Any

from hydra.experimental.callback import Callback
from omegaconf import DictConfig, OmegaConf

from declarative_ml import console
from declarative_ml.secrets import mask_text
from declarative_ml.sweeps import state
from declarative_ml.sweeps.context import (
    Sweep,
    best_trial,
    in_multirun,
    read_sweep,
    read_trials,
    write_sweep,
)

logger = logging.getLogger(__name__)


def count_trials(config: DictConfig) -> int | None:
    """How many trials the sweep will run, when it can be known up front."""
    sweeper = config.hydra.sweeper
    if "n_trials" in sweeper:
        return int(sweeper.n_trials)
    try:
        from hydra.core.override_parser.overrides_parser import OverridesParser

        texts = list(config.hydra.overrides.task)
        texts += [f"{k}={v}" for k, v in (sweeper.get("params") or {}).items()]
        total = 1
        for override in OverridesParser.create().parse_overrides(texts):
            if override.is_sweep_override():
                total *= len(list(override.sweep_iterator()))
        return total
    except Exception:  # an exotic sweeper: the count is only for progress lines
        return None


def unrecorded_trials(trials: list[Any], total: int | None) -> list[str]:
    """Why the sweep's record is incomplete: a trial whose run MLflow never got (not for
    its config or data), or a trial that left no record at all."""
    problems = [
        f"trial #{t.number} could not be recorded in MLflow ({t.error})" for t in trials if t.lost
    ]
    if total is not None:
        seen = {t.number for t in trials}
        missing = [n for n in range(total) if n not in seen]
        if missing:
            shown = ", ".join(f"#{n}" for n in missing[:5]) + (" ..." if len(missing) > 5 else "")
            problems.append(f"trial(s) {shown} left no record")
    return problems


def sweep_can_start(config: DictConfig, sweep_dir: Path) -> bool:
    """Whether the sweep will reach its first trial: its folder can be created and the
    sweeper's own checks pass (``check_config``: settings, search space, storage).

    When not, the sweeper (or Hydra's launcher) stops with one error line naming
    ``hydra.sweep.dir`` or the ``hydra.sweeper`` key, so no parent run is created for a
    sweep that cannot run. Raising here would not stop it: Hydra turns a callback's
    exception into a warning and goes on.
    """
    from declarative_ml.errors import DeclarativeMLError

    try:
        sweep_dir.mkdir(parents=True, exist_ok=True)
    except OSError:
        return False
    try:
        from hydra.utils import get_class

        check = getattr(get_class(str(config.hydra.sweeper._target_)), "check_config", None)
    except Exception:  # a sweeper Hydra will fail to load itself, with its own message
        return False
    if check is None:
        return True
    try:
        check(config)
    except DeclarativeMLError:
        return False
    return True


class SweepCallback(Callback):
    """``on_multirun_start``: store, experiment and parent run, once, before any trial.
    ``on_multirun_end``: trial table and plot on the parent, best trial marked and
    (``promotion.on_sweep: best``) promoted, parent run ended."""

    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        from declarative_ml.config.compose import ConfigLocation
        from declarative_ml.config.validate import validate_config
        from declarative_ml.tracking.store import (
            check_reachable,
            get_or_create_experiment,
            resolve_tracking_uri,
        )
        from declarative_ml.tracking.store_init import initialised_store

        sweep_dir = Path(config.hydra.sweep.dir)
        if not sweep_can_start(config, sweep_dir):
            return  # the sweeper fails with one error line before any trial: no run to leave
        task_cfg = DictConfig({k: v for k, v in config.items() if k != "hydra"})
        location = ConfigLocation.from_hydra(config.hydra)
        objective, direction = validate_config(task_cfg, location=location).objective
        direction = config.hydra.sweeper.get("direction") or direction  # the sweeper's word wins
        uri = resolve_tracking_uri(config.tracking.uri)
        check_reachable(uri)
        with initialised_store(uri) as client:
            experiment_id = get_or_create_experiment(client, config.tracking.experiment_name)
        parent = client.create_run(
            experiment_id,
            run_name=mask_text(f"sweep-{sweep_dir.name}"),
            tags={  # the folder may be named after overrides: secrets masked
                "dml.sweep": "parent",
                "dml.sweep.dir": mask_text(str(sweep_dir.resolve())),
                "dml.sweep.objective": f"{direction} {objective}",
                "dml.sweep.sweeper": str(config.hydra.sweeper.get("_target_", "")),
            },
        )
        total = count_trials(config)
        sweep = Sweep(parent.info.run_id, experiment_id, uri, objective, direction, total)
        state.opened(sweep)
        write_sweep(sweep_dir, sweep)
        console.say(
            f"sweep: parent run {parent.info.run_id}, "
            f"{total if total is not None else 'an open number of'} trials, "
            f"{direction} {objective}"
        )

    def on_job_start(self, config: DictConfig, **kwargs: Any) -> None:
        """Before a trial, in the process that runs it (a joblib worker, or this one): the
        first trial of a process imports what all its trials need (sweeps/warmup.py)."""
        if not in_multirun(OmegaConf.select(config, "hydra")):
            return  # a single run keeps its own start-up (training overlaps MLflow's import)
        from declarative_ml.sweeps.warmup import prepare_process

        family = OmegaConf.select(config, "model.family")
        prepare_process(
            str(getattr(family, "value", family)),
            plots=bool(OmegaConf.select(config, "run.log_plots", default=True)),
        )

    def on_job_end(self, config: DictConfig, job_return: Any, **kwargs: Any) -> None:
        """After a process's first trial, what it loaded is frozen for the GC (sweeps/warmup.py)."""
        if in_multirun(OmegaConf.select(config, "hydra")):
            from declarative_ml.sweeps.warmup import freeze_process

            freeze_process()

    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        sweep_dir = Path(config.hydra.sweep.dir)
        sweep = read_sweep(sweep_dir)
        if sweep is None:
            return
        from mlflow import MlflowClient

        from declarative_ml.tracking.store import resolve_tracking_uri

        client = MlflowClient(resolve_tracking_uri(config.tracking.uri))  # the file's is masked
        trials = read_trials(sweep_dir)
        best = best_trial(trials, sweep.direction)
        failed = [t for t in trials if t.status != "FINISHED"]
        unrecorded = unrecorded_trials(trials, sweep.total)
        try:
            self._summarise(client, sweep, trials, best, failed)
            if best is not None and not unrecorded:  # no decision on an incomplete sweep
                self._promote_best(client, config, best)
        finally:
            whole = best is not None and not unrecorded
            client.set_terminated(sweep.parent_run_id, "FINISHED" if whole else "FAILED")
            state.closed(sweep.parent_run_id)
        # "of this sweep": a shared Optuna study's own best (logged by the sweeper) may come
        # from an earlier sweep of the same study.
        best_text = (
            f"best trial #{best.number} of this sweep: {sweep.objective} {best.objective:.4f} "
            f"(run {best.run_id})"
            if best
            else "no trial of this sweep finished"
        )
        console.say(f"sweep: {len(trials)} trials, {len(failed)} failed; {best_text}")
        if unrecorded:
            state.incomplete(
                f"the sweep is incomplete: {'; '.join(unrecorded)}; its parent run "
                f"{sweep.parent_run_id} ended FAILED and nothing was promoted"
            )

    @staticmethod
    def _summarise(
        client: Any, sweep: Sweep, trials: list[Any], best: Any, failed: list[Any]
    ) -> None:
        from declarative_ml.sweeps.summary import objective_plot, swept_values, trial_table
        from declarative_ml.tracking.record import log_run_data

        table = trial_table(trials, best)
        params = sorted({k for t in trials for k in swept_values(t)})
        metrics = {"n_trials": float(len(trials)), "n_failed": float(len(failed))}
        tags = {}
        if best is not None and best.objective is not None and not math.isnan(best.objective):
            metrics[f"best_{sweep.objective}"] = best.objective
            tags = {
                "dml.sweep.best_run_id": str(best.run_id),
                "dml.sweep.best_trial": str(best.number),
            }
            client.set_tag(best.run_id, "dml.sweep.best", "true")
        log_run_data(client, sweep.parent_run_id, metrics=metrics, tags=tags)
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp) / "sweep"
            folder.mkdir()
            table.to_csv(folder / "trials.csv", index=False)
            objective_plot(table, params, sweep.objective, folder / "objective.png")
            client.log_artifacts(sweep.parent_run_id, str(folder), "sweep")

    @staticmethod
    def _promote_best(client: Any, config: DictConfig, best: Any) -> None:
        """Apply the promotion rules to the best trial only (``on_sweep: best``)."""
        if not config.promotion.enabled or config.promotion.on_sweep != "best":
            return
        from declarative_ml.config.compose import ConfigLocation
        from declarative_ml.config.validate import validate_config
        from declarative_ml.promotion import describe, promote_declared
        from declarative_ml.reproduce import snapshot_config

        with tempfile.TemporaryDirectory() as tmp:
            snapshot = OmegaConf.load(
                client.download_artifacts(best.run_id, "config/config.yaml", tmp)
            )
        assert isinstance(snapshot, DictConfig)
        cfg = snapshot_config(snapshot)
        plan = validate_config(cfg, location=ConfigLocation.from_hydra(config.hydra))
        run = client.get_run(best.run_id)
        model_uri = next(
            (f"models:/{o.model_id}" for o in (run.outputs.model_outputs if run.outputs else [])),
            None,
        )
        if not plan.gates or model_uri is None:
            return
        promotion = promote_declared(
            client,
            cfg,
            plan,
            run_id=best.run_id,
            metrics=dict(run.data.metrics),
            model_uri=model_uri,
        )
        for line in describe(promotion):
            console.say(f"sweep: {line}")
