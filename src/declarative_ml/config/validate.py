"""Checks on a composed config that need no data: run before anything is loaded."""

from __future__ import annotations

import contextlib
import re
from dataclasses import dataclass, field, fields
from typing import Any

from omegaconf import DictConfig, ListConfig, OmegaConf
from omegaconf.errors import MissingMandatoryValue, OmegaConfBaseException

from declarative_ml.config.checks import (
    check_bootstrap,
    check_early_stopping,
    check_family,
    check_known_keys,
    check_names,
    check_timings,
    enum_value,
)
from declarative_ml.config.compose import PACKAGED, ConfigLocation
from declarative_ml.config.errors_hydra import SCHEMA_KEY_KEPT
from declarative_ml.config.schema import Config
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


_RESOLVER_RAISED = re.compile(r"^\w+ raised while resolving interpolation: ")
_GROUPS = ("dataset", "model", "tracking")  # config groups that have no default option


def validate_config(cfg: DictConfig, *, location: ConfigLocation = PACKAGED) -> Plan:
    """Validate everything in ``cfg`` that can be checked without data.

    Interpolations are resolved here, so a broken ``${...}`` is reported with its key.
    ``location`` is where the run's configs came from: a second config it names
    (``promotion.new_data``) is looked up in the same folders.

    Returns:
        The run's :class:`Plan`.

    Raises:
        ConfigError: naming the key at fault and what is allowed.
    """
    deleted = [f.name for f in fields(Config) if f.name not in cfg]
    if deleted:  # OmegaConf refuses ~key below the root, but not at it
        kept = deleted[0] not in _GROUPS  # ~dataset deletes the choice: none is chosen
        raise ConfigError(f"{deleted[0]}: {SCHEMA_KEY_KEPT}" if kept else _missing_message(deleted))
    check_known_keys(cfg)
    check_names(cfg)  # before resolving: where each value comes from is still visible
    try:
        OmegaConf.resolve(cfg)
        missing = sorted(OmegaConf.missing_keys(cfg))
    except OmegaConfBaseException as exc:
        key = getattr(exc, "full_key", None) or _unresolvable_key(cfg) or "config"
        message = _RESOLVER_RAISED.sub("", _first_line(str(exc)))
        raise ConfigError(f"{key}: {message}") from None
    if missing:
        raise ConfigError(_missing_message(missing))
    dataset = cfg.dataset
    task = enum_value(dataset.task)
    check_source(dataset)
    check_split(dataset.split)
    check_preprocess(dataset.preprocess, list(dataset.features) if dataset.features else None)
    if cfg.metrics is not None and len(cfg.metrics) == 0:
        raise ConfigError("metrics: the list is empty; name at least one, or null for the defaults")
    metrics = resolve_metrics(list(cfg.metrics) if cfg.metrics is not None else None, task)
    estimator = resolve_estimator_path(cfg.model, task)
    check_family(cfg.model, estimator)
    check_early_stopping(cfg.model, metrics, has_val=dataset.split.val_size > 0)
    if cfg.run.latency_rows < 1:
        raise ConfigError(f"run.latency_rows: {cfg.run.latency_rows} must be at least 1")
    check_timings(cfg.tracking)
    # Scored whenever declared, so a reproduction (promotion off) logs the same metrics.
    new_data = (
        _new_data_config(cfg.promotion.new_data, task, location) if cfg.promotion.new_data else None
    )
    gates: dict[str, list[Any]] = {}
    if cfg.promotion.enabled:
        check_bootstrap(cfg.promotion.bootstrap)
        gates = check_promotion(cfg.promotion, metrics, task, new_data=new_data is not None)
    objective = resolve_objective(
        cfg.objective.metric, cfg.objective.direction, metrics, has_val=dataset.split.val_size > 0
    )
    return Plan(
        task=task,
        family=enum_value(cfg.model.family),
        metrics=metrics,
        estimator=estimator,
        gates=gates,
        new_data=new_data,
        objective=objective,
    )


def _first_line(text: str) -> str:
    lines = [" ".join(line.split()) for line in text.splitlines() if line.strip()]
    return lines[0] if lines else "(no message)"


def _unresolvable_key(cfg: Any) -> str | None:
    """The key whose value cannot be resolved (OmegaConf's error may not name it).

    A key that only refers to another failing key (``dataset.split.seed: ${seed}``)
    is passed over for the one it refers to.
    """
    failing: dict[str, Any] = {}

    def walk(node: Any, prefix: str) -> None:
        keys = list(node.keys()) if isinstance(node, DictConfig) else range(len(node))
        for key in keys:
            if isinstance(node, ListConfig):
                path = f"{prefix}[{key!s}]"
            else:
                path = f"{prefix}.{key!s}" if prefix else str(key)
            try:
                child = node[key]
            except MissingMandatoryValue:
                continue  # reported as missing, not as unresolvable
            except OmegaConfBaseException:
                failing[path] = node._get_node(key)._value()
                continue
            # An interpolation may point at an ancestor: only plain nodes are walked.
            plain = not node._get_node(key)._is_interpolation()
            if isinstance(child, DictConfig | ListConfig) and plain:
                walk(child, path)

    with contextlib.suppress(OmegaConfBaseException, RecursionError):
        walk(cfg, "")
    for path, raw in failing.items():
        reference = re.fullmatch(r"\$\{([\w.]+)\}", raw) if isinstance(raw, str) else None
        if reference is None or reference.group(1) not in failing:
            return path
    return next(iter(failing), None)


def _missing_message(keys: list[str]) -> str:
    """``dataset: no option chosen ...`` for the first key left at ``???`` (MISSING)."""
    key = keys[0]
    others = f" (also missing: {', '.join(keys[1:])})" if keys[1:] else ""
    if key in _GROUPS:
        return f"{key}: no option chosen; choose one with {key}=NAME{others}"
    return f"{key}: missing mandatory value '???'; set it with {key}=VALUE{others}"


def _new_data_config(name: str, task: str, location: ConfigLocation) -> Any:
    from declarative_ml.config.compose import compose_dataset

    dataset = compose_dataset(name, location=location)
    if enum_value(dataset.task) != task:
        raise ConfigError(
            f"promotion.new_data: dataset '{name}' is a {enum_value(dataset.task)} "
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
