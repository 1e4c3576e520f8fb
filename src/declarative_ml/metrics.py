"""Metric names per task, and computing them on a split.

Every number a promotion rule can read is an MLflow metric named
``{split}_{metric}``, plus the run-level ``training_duration_s``,
``model_size_mb`` and ``predict_latency_ms`` (DESIGN.md, "Metric names").
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from declarative_ml.errors import ConfigError
from declarative_ml.messages import shorten_lists

logger = logging.getLogger(__name__)

SPLITS = ("train", "val", "test")
RUN_METRICS = ("training_duration_s", "model_size_mb", "predict_latency_ms")


@dataclass(frozen=True)
class MetricSpec:
    """How one metric is computed: from labels or from probabilities."""

    name: str
    tasks: tuple[str, ...]
    uses_proba: bool
    greater_is_better: bool
    compute: Callable[[Any, Any, Any], float]


def _sk(name: str) -> Any:
    from sklearn import metrics

    return getattr(metrics, name)


def _roc_auc(y: Any, pred: Any, proba: Any) -> float:
    if proba.shape[1] == 2:
        return float(_sk("roc_auc_score")(y, proba[:, 1]))
    return float(_sk("roc_auc_score")(y, proba, multi_class="ovr", labels=range(proba.shape[1])))


def _log_loss(y: Any, pred: Any, proba: Any) -> float:
    return float(_sk("log_loss")(y, proba, labels=range(proba.shape[1])))


def _rmse(y: Any, pred: Any, proba: Any) -> float:
    return float(_sk("root_mean_squared_error")(y, pred))


_CLS = ("binary", "multiclass")
_ALL: tuple[MetricSpec, ...] = (
    MetricSpec("accuracy", _CLS, False, True, lambda y, p, _: float(_sk("accuracy_score")(y, p))),
    MetricSpec(
        "balanced_accuracy",
        _CLS,
        False,
        True,
        lambda y, p, _: float(_sk("balanced_accuracy_score")(y, p)),
    ),
    MetricSpec("f1", ("binary",), False, True, lambda y, p, _: float(_sk("f1_score")(y, p))),
    MetricSpec(
        "precision",
        ("binary",),
        False,
        True,
        lambda y, p, _: float(_sk("precision_score")(y, p, zero_division=0)),
    ),
    MetricSpec(
        "recall", ("binary",), False, True, lambda y, p, _: float(_sk("recall_score")(y, p))
    ),
    MetricSpec(
        "f1_macro", _CLS, False, True, lambda y, p, _: float(_sk("f1_score")(y, p, average="macro"))
    ),
    MetricSpec(
        "f1_weighted",
        _CLS,
        False,
        True,
        lambda y, p, _: float(_sk("f1_score")(y, p, average="weighted")),
    ),
    MetricSpec("roc_auc", _CLS, True, True, _roc_auc),
    MetricSpec("log_loss", _CLS, True, False, _log_loss),
    MetricSpec("rmse", ("regression",), False, False, _rmse),
    MetricSpec(
        "mae",
        ("regression",),
        False,
        False,
        lambda y, p, _: float(_sk("mean_absolute_error")(y, p)),
    ),
    MetricSpec("r2", ("regression",), False, True, lambda y, p, _: float(_sk("r2_score")(y, p))),
    MetricSpec(
        "mape",
        ("regression",),
        False,
        False,
        lambda y, p, _: float(_sk("mean_absolute_percentage_error")(y, p)),
    ),
)
METRICS: dict[str, MetricSpec] = {m.name: m for m in _ALL}

DEFAULTS = {
    "binary": ("roc_auc", "f1", "accuracy", "log_loss"),
    "multiclass": ("accuracy", "f1_macro", "log_loss"),
    "regression": ("rmse", "mae", "r2"),
}


def resolve_metrics(names: Sequence[str] | None, task: str) -> tuple[str, ...]:
    """The metric names a run computes: the configured list, else the task's defaults.

    Raises:
        ConfigError: naming the first metric unknown or unfit for the task, with the valid ones.
    """
    if names is None:
        return DEFAULTS[task]
    valid = [m.name for m in _ALL if task in m.tasks]
    for i, name in enumerate(names):
        if name not in valid:
            raise ConfigError(
                f"metrics[{i}]: {name!r} is not a {task} metric; valid: {', '.join(valid)}"
            )
    return tuple(dict.fromkeys(names))


def metric_names(metrics: Iterable[str]) -> list[str]:
    """Every MLflow metric name a run logs (what promotion rules may read)."""
    return [f"{s}_{m}" for s in SPLITS for m in metrics] + list(RUN_METRICS)


def compute_metrics(
    metrics: Iterable[str], y: Any, pred: Any, proba: Any | None
) -> dict[str, float]:
    """Compute metrics on one split; labels are encoded integers for classification.

    Args:
        metrics: metric names from :func:`resolve_metrics`.
        y: true targets.
        pred: predicted targets.
        proba: predicted class probabilities (n_rows x n_classes) or None.

    Returns:
        name -> value.
    """
    values = {}
    for name in metrics:
        try:
            values[name] = METRICS[name].compute(y, pred, proba)
        except ValueError as exc:  # e.g. a split too small to hold every class
            # scikit-learn's message lists the classes at fault, maybe hundreds of them
            logger.warning("metric %s could not be computed: %s", name, shorten_lists(str(exc)))
            values[name] = float("nan")
    return values


def resolve_objective(
    metric: str | None, direction: str | None, metrics: tuple[str, ...], *, has_val: bool
) -> tuple[str, str]:
    """The metric a sweep optimises and whether to maximize or minimize it.

    Args:
        metric: ``objective.metric`` (null: ``val_<first metric>``, ``test_`` without val).
        direction: ``objective.direction`` (null: what the metric prefers).
        metrics: the run's metric names.
        has_val: whether the split has a validation part.

    Raises:
        ConfigError: for a metric the run does not log or an unknown direction.
    """
    name = metric or f"{'val' if has_val else 'test'}_{metrics[0]}"
    known = metric_names(metrics)
    if name not in known:
        raise ConfigError(
            f"objective.metric: {name!r} is not logged by this run; "
            f"known: {', '.join(sorted(known))}"
        )
    if direction is None:
        base = name.split("_", 1)[1] if name.split("_", 1)[0] in SPLITS else name
        spec = METRICS.get(base)
        direction = "maximize" if spec is None or spec.greater_is_better else "minimize"
        if base in RUN_METRICS:
            direction = "minimize"
    if direction not in ("maximize", "minimize"):
        raise ConfigError(f"objective.direction: {direction!r} is not maximize or minimize")
    return name, direction
