"""Checks on a composed config that need no data: run before anything is loaded."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

from declarative_ml.data.load import check_source
from declarative_ml.data.split import check_split
from declarative_ml.errors import ConfigError
from declarative_ml.metrics import metric_names, resolve_metrics, resolve_objective
from declarative_ml.models.build import resolve_estimator_path
from declarative_ml.models.preprocess import check_preprocess


@dataclass(frozen=True)
class Plan:
    """What a validated config will do."""

    task: str
    family: str
    metrics: tuple[str, ...]
    estimator: str
    gates: dict[str, list[Any]] = field(default_factory=dict)
    new_data: Any | None = None  # the dataset config named by promotion.new_data
    objective: tuple[str, str] = ("", "maximize")  # (metric, direction) a sweep optimises


def _enum_value(value: Any) -> str:
    return value.value if hasattr(value, "value") else str(value)


def validate_config(cfg: DictConfig) -> Plan:
    """Validate everything in ``cfg`` that can be checked without data.

    Interpolations are resolved here, so a broken ``${...}`` is reported with its key.

    Returns:
        The run's :class:`Plan`.

    Raises:
        ConfigError: naming the key at fault and what is allowed.
    """
    try:
        OmegaConf.resolve(cfg)
    except OmegaConfBaseException as exc:
        key = getattr(exc, "full_key", None) or "config"
        raise ConfigError(f"{key}: {str(exc).splitlines()[0]}") from None
    dataset = cfg.dataset
    task = _enum_value(dataset.task)
    check_source(dataset)
    check_split(dataset.split)
    check_preprocess(dataset.preprocess, list(dataset.features) if dataset.features else None)
    metrics = resolve_metrics(list(cfg.metrics) if cfg.metrics is not None else None, task)
    estimator = resolve_estimator_path(cfg.model, task)
    if cfg.run.latency_rows < 1:
        raise ConfigError(f"run.latency_rows: {cfg.run.latency_rows} must be at least 1")
    # Scored whenever declared, so a reproduction (promotion off) logs the same metrics.
    new_data = _new_data_config(cfg.promotion.new_data, task) if cfg.promotion.new_data else None
    if cfg.promotion.on_sweep not in ("best", "each"):
        raise ConfigError(f"promotion.on_sweep: {cfg.promotion.on_sweep!r} is not best or each")
    gates: dict[str, list[Any]] = {}
    if cfg.promotion.enabled:
        gates = check_promotion(cfg.promotion, metrics, task, new_data=new_data is not None)
    objective = resolve_objective(
        cfg.objective.metric, cfg.objective.direction, metrics, has_val=dataset.split.val_size > 0
    )
    return Plan(
        task=task,
        family=_enum_value(cfg.model.family),
        metrics=metrics,
        estimator=estimator,
        gates=gates,
        new_data=new_data,
        objective=objective,
    )


def _new_data_config(name: str, task: str) -> Any:
    from declarative_ml.config.compose import compose_dataset

    dataset = compose_dataset(name)
    if _enum_value(dataset.task) != task:
        raise ConfigError(
            f"promotion.new_data: dataset '{name}' is a {_enum_value(dataset.task)} "
            f"dataset, but the model is trained for {task}"
        )
    OmegaConf.resolve(dataset)
    check_source(dataset)
    return dataset


def _promotion_source() -> str:
    """``promotion/<option>.yaml`` when Hydra knows the option chosen, else ``promotion``."""
    from hydra.core.hydra_config import HydraConfig

    if HydraConfig.initialized():
        choice = HydraConfig.get().runtime.choices.get("promotion")
        if choice:
            return f"promotion/{choice}.yaml"
    return "promotion"


def check_promotion(
    promotion: Any, metrics: tuple[str, ...], task: str, *, new_data: bool = False
) -> dict[str, list[Any]]:
    """Parse the promotion gates and check every name against the metrics the run logs.

    Raises:
        RuleError: a syntax error or an unknown metric, naming the gate and rule index.
    """
    from declarative_ml.errors import RuleError
    from declarative_ml.rules import check_rule_names, parse_gates

    source = _promotion_source()
    gates = parse_gates(promotion, source=source)
    try:
        known = metric_names(metrics) + ([f"new_data_{m}" for m in metrics] if new_data else [])
        check_rule_names(gates, known, source=source)
    except RuleError as exc:
        hint = {"binary": "default", "multiclass": "multiclass", "regression": "regression"}[task]
        raise RuleError(f"{exc} (rules for a {task} task: promotion={hint})") from None
    return gates
