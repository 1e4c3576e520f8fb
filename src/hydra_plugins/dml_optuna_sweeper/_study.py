"""The Optuna side of a sweep: direction, study name, the study itself, a trial's result."""

from __future__ import annotations

import logging
import math
import numbers
from typing import Any

import optuna
from hydra.core.utils import JobReturn, JobStatus
from omegaconf import DictConfig, OmegaConf
from optuna.samplers import TPESampler
from optuna.trial import TrialState

from declarative_ml.errors import ConfigError, SweepError

log = logging.getLogger(__name__)
DIRECTIONS = ("maximize", "minimize")
_UNSET = object()


class AllTrialsFailedError(SweepError):
    """No trial of the sweep produced an objective value."""


def _select(cfg: DictConfig, key: str) -> Any:
    """``cfg.key``, or None when absent or when it cannot be resolved."""
    try:
        value = OmegaConf.select(cfg, key, default=None, throw_on_missing=False)
    except Exception:  # an interpolation the sweeper cannot resolve: treat as unset
        return None
    return value


def _check_direction(direction: Any, where: str) -> str:
    if direction not in DIRECTIONS:
        raise ConfigError(f"{where}: {direction!r} is not maximize or minimize")
    return str(direction)


def lower_is_better(metric: str) -> bool:
    """Whether a metric name (``val_log_loss``, ``training_duration_s``) is minimised."""
    from declarative_ml.metrics import METRICS, RUN_METRICS

    lower = [n for n, spec in METRICS.items() if not spec.greater_is_better] + list(RUN_METRICS)
    return metric.endswith(tuple(lower))


def _default_metric(cfg: DictConfig) -> str | None:
    """The metric the task optimises when ``objective.metric`` is null: ``val_<first metric>``."""
    metrics = _select(cfg, "metrics")
    if metrics:
        return str(metrics[0])
    task = _select(cfg, "dataset.task")
    if task is None:
        return None
    from declarative_ml.metrics import DEFAULTS

    defaults = DEFAULTS.get(str(task))
    return defaults[0] if defaults else None


def resolve_direction(configured: str | None, cfg: DictConfig) -> str:
    """The study's direction.

    ``hydra.sweeper.direction`` if set, else the task config's ``objective.direction``,
    else ``minimize`` for a lower-is-better objective metric (log_loss, rmse, mae, mape,
    run costs) and ``maximize`` otherwise.

    Raises:
        ConfigError: for a direction other than maximize or minimize.
    """
    if configured is not None:
        return _check_direction(configured, "hydra.sweeper.direction")
    direction = _select(cfg, "objective.direction")
    if direction is not None:
        return _check_direction(direction, "objective.direction")
    metric = _select(cfg, "objective.metric") or _default_metric(cfg)
    return "minimize" if metric and lower_is_better(str(metric)) else "maximize"


def default_study_name(cfg: DictConfig) -> str:
    """``dml-<experiment>-<model>``: one study per MLflow experiment and model family.

    The model name is part of it because each model has its own search space.
    """
    experiment = _select(cfg, "tracking.experiment_name") or _select(cfg, "dataset.name")
    parts = [str(p) for p in (experiment, _select(cfg, "model.name")) if p]
    return "-".join(["dml", *parts]) if parts else "dml-sweep"


def redact(url: str) -> str:
    """A storage URL without its password."""
    from declarative_ml.secrets import redact_uri

    return redact_uri(url)


def storage_problem(name: str, storage: str, exc: Exception) -> str:
    """Why study ``name`` could not be opened in ``storage``, naming the key and the URL.

    A URL Optuna cannot use at all (no scheme SQLAlchemy knows, or not a URL) is told
    apart from a database that cannot be reached or a driver that is not installed.
    """
    from sqlalchemy.exc import ArgumentError, NoSuchModuleError

    where = redact(storage)
    reason = " ".join(redact(str(exc)).split())[:300]
    if isinstance(exc, (ArgumentError, NoSuchModuleError)):
        scheme = storage.split("://", 1)[0] if "://" in storage else None
        what = f"scheme {scheme!r} is not a database Optuna can use" if scheme else "not a URL"
        return (
            f"hydra.sweeper.storage: {where!r}: {what}; use an RDB URL such as "
            f"sqlite:///optuna.db, postgresql://HOST/DB or mysql://HOST/DB"
        )
    if isinstance(exc, ImportError):
        return (
            f"hydra.sweeper.storage: {where!r} needs a database driver that is not "
            f"installed ({reason})"
        )
    return (
        f"hydra.sweeper.storage: cannot open study {name!r} in {where!r}: "
        f"{type(exc).__name__}: {reason}"
    )


def open_study(name: str, direction: str, *, storage: str | None, seed: int | None) -> optuna.Study:
    """Create the study, or load it from ``storage`` when another sweep created it.

    With a shared study and a seed, the sampler's seed is ``seed + trials already in
    the study``, so a second sweep continues the search instead of repeating the
    first one's random start-up trials.

    Raises:
        ConfigError: when the storage cannot be opened, or holds the study with the
            other direction.
    """
    optuna.logging.set_verbosity(optuna.logging.WARNING)  # we log each trial ourselves
    try:
        study = optuna.create_study(
            storage=storage,
            study_name=name,
            direction=direction,  # type: ignore[arg-type]  # checked by resolve_direction
            sampler=TPESampler(seed=seed),
            load_if_exists=storage is not None,
        )
    except Exception as exc:  # bad URL, unreachable server, missing driver
        raise ConfigError(storage_problem(name, storage or "", exc)) from None
    if study.direction.name.lower() != direction:
        raise ConfigError(
            f"hydra.sweeper.study_name: study {name!r} in {redact(storage or '')!r} was "
            f"created to {study.direction.name.lower()}, this sweep would {direction}; "
            f"choose another study_name or set hydra.sweeper.direction"
        )
    earlier = len(study.get_trials(deepcopy=False))
    if earlier and seed is not None:
        study.sampler = TPESampler(seed=seed + earlier)
    if earlier:
        log.info("Study %r already holds %d trials; adding to it", name, earlier)
    return study


def trial_outcome(result: JobReturn) -> tuple[float | None, str]:
    """A finished job's objective value, or None and why the trial counts as failed.

    A failed job's exception is read from ``_return_value``: the public
    ``return_value`` re-raises it.
    """
    if result.status == JobStatus.FAILED:
        exc = result._return_value
        return None, f"raised {type(exc).__name__}: {' '.join(str(exc).split())}"
    if result.status != JobStatus.COMPLETED:
        return None, f"ended {result.status.name}"
    value = result._return_value
    if value is None:
        return None, "returned no objective value (None)"
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        return None, f"returned {value!r}, not a number"
    number = float(value)
    if not math.isfinite(number):
        return None, f"returned {number}"
    return number, ""


def record(study: optuna.Study, trial: optuna.Trial, result: JobReturn) -> tuple[float | None, str]:
    """Tell the study how ``trial`` ended; returns :func:`trial_outcome`'s answer."""
    value, problem = trial_outcome(result)
    if value is None:
        study.tell(trial, state=TrialState.FAIL)
    else:
        study.tell(trial, value)
    return value, problem


def summarize(study: optuna.Study, *, n_trials: int, n_failed: int) -> dict[str, Any]:
    """What ``optimization_results.yaml`` holds: the best trial of the study and the counts."""
    complete = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
    best = study.best_trial if complete else None
    return {
        "name": "dml_optuna",
        "study_name": study.study_name,
        "direction": study.direction.name.lower(),
        "best_trial": best.number if best else None,
        "best_params": dict(best.params) if best else None,
        "best_value": best.value if best else None,
        "n_trials": n_trials,
        "n_failed": n_failed,
        "n_trials_in_study": len(study.get_trials(deepcopy=False)),
    }
