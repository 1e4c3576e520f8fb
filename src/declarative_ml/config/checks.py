"""Checks on a composed config that need neither data nor Hydra: keys each schema node
defines, names MLflow stores in the clear, timing settings, the model family and the
metrics a torch model watches. ``validate.validate_config`` runs them all."""

from __future__ import annotations

import difflib
import math
from dataclasses import fields, is_dataclass
from typing import Any

from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

from declarative_ml.errors import ConfigError

# Names MLflow stores in the clear: experiment, run, registered model (and so its versions,
# aliases, tags and the decision record), dataset inputs.
NAME_KEYS = (
    "dataset.name",
    "model.name",
    "tracking.experiment_name",
    "tracking.run_name",
    "promotion.model_name",
)


def enum_value(value: Any) -> str:
    """A schema enum's value (``Task.binary`` -> ``binary``), or the text as it is."""
    return value.value if hasattr(value, "value") else str(value)


# Keys a schema node may hold besides its dataclass fields: `tracking.async` is a Python
# keyword, so it is added to the node by hand (config/store.py).
_EXTRA_KEYS = {"TrackingConfig": ("async",)}


def check_known_keys(cfg: DictConfig) -> None:
    """Every key of a schema node (``dataset``, ``model``, ``promotion``, ``run``,
    ``tracking``, ``objective`` and what they nest) must be one its dataclass defines.

    Hydra refuses an unknown key in a group file or a plain override, but ``+key=`` adds
    one to any node, and it would then be ignored. Free-form mappings (``model.params``,
    ``dataset.schema``, ``dataset.where``, ``tracking.tags``) are not schema nodes.

    Raises:
        ConfigError: naming the key, a close match and the valid keys.
    """
    for path, node in _schema_nodes(cfg, ""):
        schema = node._metadata.object_type
        valid = [f.name for f in fields(schema)] + list(_EXTRA_KEYS.get(schema.__name__, ()))
        for key in node:
            if key in valid:
                continue
            name = f"{path}.{key}" if path else str(key)
            close = difflib.get_close_matches(str(key), valid, n=1)
            hint = f"did you mean '{close[0]}'? " if close else ""
            under = f"under {path}" if path else "at the top level"
            raise ConfigError(f"{name}: unknown key; {hint}valid keys {under}: {', '.join(valid)}")


def _schema_nodes(node: Any, path: str) -> Any:
    """``(path, node)`` for every node typed by a dataclass schema, below the root."""
    if not isinstance(node, DictConfig) or node._is_none() or node._is_missing():
        return
    schema = node._metadata.object_type
    if path and isinstance(schema, type) and is_dataclass(schema):
        yield path, node
    for key in node:
        if path == "" and key == "hydra":
            continue
        child = node._get_node(key)
        if isinstance(child, DictConfig) and not child._is_interpolation():
            yield from _schema_nodes(child, f"{path}.{key!s}" if path else str(key))


# (low, high) seconds: a heartbeat faster than 1 s only loads the store and is reaped on
# any hiccup; a retry budget of days hides an outage.
TIMINGS = {"heartbeat_s": (1.0, 3600.0), "retry_budget_s": (0.0, 86400.0)}


def check_timings(tracking: Any) -> None:
    """``tracking.heartbeat_s`` and ``tracking.retry_budget_s`` are finite and in range.

    Raises:
        ConfigError: naming the key, the value and the range.
    """
    for key, (low, high) in TIMINGS.items():
        value = float(tracking.get(key))
        if not (math.isfinite(value) and low <= value <= high):
            raise ConfigError(
                f"tracking.{key}: {value:g} is not allowed; seconds between {low:g} and {high:g}"
            )


def check_names(cfg: DictConfig) -> None:
    """A name MLflow stores in the clear must not be built from a secret.

    Masking cannot help there: a masked experiment or model name would collide with every
    other masked one. So ``tracking.experiment_name=exp-${oc.env:TOKEN}``, or a name that
    interpolates a secret-looking key, is refused before anything is written.

    Raises:
        ConfigError: naming the key and where its secret comes from.
    """
    from declarative_ml.secrets import secret_origins

    try:
        raw = OmegaConf.to_container(cfg, resolve=False, enum_to_str=True)
    except OmegaConfBaseException:  # reported with its key when the config is resolved
        return
    origins = secret_origins(raw)
    for key in NAME_KEYS:
        origin = origins.get(tuple(key.split(".")))
        if origin is not None:
            raise ConfigError(
                f"{key}: built from a secret ({origin}); MLflow stores names in the clear "
                f"(experiment, registered model, versions, aliases, tags), so a name cannot "
                f"come from a secret: write it out"
            )


def check_family(model: Any, estimator: str) -> None:
    """``model.family`` must be the family of ``model.estimator`` (its backend fits, checks
    and saves the estimator), judged from the class path before anything is imported.

    Raises:
        ConfigError: naming both keys and the family the estimator belongs to.
    """
    from declarative_ml.models.backends import MODULES, backend_for

    family = enum_value(model.family)
    if backend_for(family).owns(estimator):
        return
    owner = next((f for f in MODULES if f != family and backend_for(f).owns(estimator)), None)
    hint = f"; set model.family={owner}" if owner else ""
    raise ConfigError(
        f"model.family: '{family}' does not match model.estimator '{estimator}'{hint}"
    )


def check_early_stopping(model: Any, metrics: tuple[str, ...], *, has_val: bool) -> None:
    """A torch model's ``early_stopping_metric`` must be one it scores every epoch.

    Raises:
        ConfigError: naming the key and the metrics that are scored per epoch.
    """
    params = model.params or {}
    monitored = params.get("early_stopping_metric")
    if enum_value(model.family) != "torch" or not isinstance(monitored, str):
        return
    if "patience" in params and params["patience"] is None:
        return  # no early stopping: nothing is monitored
    known = ["val_loss", *(f"val_{m}" for m in metrics if has_val)]
    if monitored not in known:
        where = "" if has_val else " (dataset.split.val_size is 0: no val split to score)"
        raise ConfigError(
            f"model.params.early_stopping_metric: {monitored!r} is not scored every epoch"
            f"{where}; known: {', '.join(known)}"
        )


# Fewer resamples than this and the bound itself is noisy (its quantile moves with the
# seed); past the upper one a large test set costs minutes for no change in the decision.
RESAMPLES = (100, 100_000)


def check_bootstrap(bootstrap: Any) -> None:
    """``promotion.bootstrap``: a number of resamples in range, a seed numpy accepts.

    Raises:
        ConfigError: naming the key, the value and what is allowed.
    """
    low, high = RESAMPLES
    if not low <= bootstrap.resamples <= high:
        raise ConfigError(
            f"promotion.bootstrap.resamples: {bootstrap.resamples} is not allowed; "
            f"between {low:,} and {high:,} (2,000 is the default)"
        )
    if not 0 <= bootstrap.seed < 2**63:
        raise ConfigError(
            f"promotion.bootstrap.seed: {bootstrap.seed} is not allowed; a non-negative "
            f"integer below 2**63"
        )
