"""Turns ``model`` and ``dataset`` config into an unfitted scikit-learn pipeline."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from omegaconf import DictConfig, OmegaConf

from declarative_ml.errors import ConfigError
from declarative_ml.models.allowlist import check_class_path, import_class
from declarative_ml.models.backends import backend_for

KINDS = ("classification", "regression")
# Parameters whose value names a place on disk the estimator writes to: scikit-learn's
# ``memory`` caches fitted steps in a joblib.Memory folder wherever it says. A config file
# must not choose where we write (tests/test_guard.py checks the list against
# scikit-learn's own parameter constraints).
PATH_PARAMS = frozenset({"memory"})


def task_kind(task: str) -> str:
    """``binary``/``multiclass`` -> ``classification``; ``regression`` stays."""
    return "regression" if task == "regression" else "classification"


def resolve_estimator_path(model: Any, task: str) -> str:
    """The estimator class path for this task, checked against the allowlist.

    ``model.estimator`` is either one dotted class path or a mapping from task
    kind (classification | regression) to a class path.

    Raises:
        ConfigError: if no estimator fits the task or the class is not allowed.
    """
    estimator = model.estimator
    kind = task_kind(task)
    key = "model.estimator"
    if isinstance(estimator, (Mapping, DictConfig)):
        unknown = [k for k in estimator if k not in KINDS]
        if unknown:
            raise ConfigError(f"{key}: unknown task kind(s) {unknown}; use {', '.join(KINDS)}")
        for other in estimator:  # every entry is checked, not only the one this task uses
            check_class_path(
                estimator[other], key=f"{key}.{other}", trusted_modules=model.trusted_modules
            )
        if kind not in estimator:
            raise ConfigError(
                f"{key}: model {str(model.name)!r} has no {kind} estimator "
                f"(it supports {', '.join(estimator)}), but dataset.task is '{task}'"
            )
        estimator, key = estimator[kind], f"{key}.{kind}"
    return check_class_path(estimator, key=key, trusted_modules=model.trusted_modules)


def estimator_params(model: Any) -> dict[str, Any]:
    """``model.params`` as a plain dict, passed to the estimator unchanged."""
    params = (
        OmegaConf.to_container(model.params, resolve=True)
        if isinstance(model.params, DictConfig)
        else dict(model.params)
    )
    for key, value in params.items():  # type: ignore[union-attr]
        if key in PATH_PARAMS and value is not None:
            raise ConfigError(
                f"model.params.{key}: {value!r} names a folder the estimator would write to; "
                f"a config may not choose where declarative_ml writes (allowed: null)"
            )
    return dict(params)  # type: ignore[arg-type]


def build_estimator(model: Any, task: str) -> Any:
    """Instantiate the estimator with its declared params.

    Raises:
        ConfigError: if the class rejects a parameter (names the parameter).
    """
    path = resolve_estimator_path(model, task)
    cls = import_class(path, key="model.estimator", trusted_modules=model.trusted_modules)
    params = estimator_params(model)
    try:
        estimator = cls(**params)
    except TypeError as exc:
        raise ConfigError(f"model.params: {path} rejected the params ({exc})") from None
    backend_for(model.family).check_params(estimator, path)
    if hasattr(estimator, "get_params"):
        valid = set(estimator.get_params(deep=False))
        unknown = sorted(set(params) - valid) if "kwargs" not in valid else []
        if unknown:
            raise ConfigError(
                f"model.params: {unknown} not accepted by {path}; valid: {', '.join(sorted(valid))}"
            )
    return estimator


def build_pipeline(preprocessor: Any | None, estimator: Any) -> Any:
    """Preprocessing and estimator as one scikit-learn Pipeline."""
    from sklearn.pipeline import Pipeline

    steps = [("preprocess", preprocessor)] if preprocessor is not None else []
    return Pipeline([*steps, ("estimator", estimator)])
