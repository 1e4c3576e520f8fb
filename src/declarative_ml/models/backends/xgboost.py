"""XGBoost: parameters by XGBoost's documented bounds, the model saved as UBJ."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from declarative_ml.errors import ConfigError
from declarative_ml.models.backends.base import Backend, SavedEstimator, param_message


class XGBoostBackend(Backend):
    """XGBoost's scikit-learn classes."""

    family = "xgboost"
    modules = ("xgboost",)

    def owns(self, path: str) -> bool:
        return path.startswith("xgboost.")

    def check_params(self, estimator: Any, path: str) -> None:
        """XGBoost parses values in C++ at ``fit``: its documented types and bounds
        (``models/xgb_params.py``) are checked here instead."""
        from sklearn.utils._param_validation import (
            InvalidParameterError,
            validate_parameter_constraints,
        )

        from declarative_ml.models.xgb_params import XGBOOST_CONSTRAINTS

        params = estimator.get_params(deep=False)
        constraints = {k: v for k, v in XGBOOST_CONSTRAINTS.items() if k in params}
        try:
            validate_parameter_constraints(constraints, params, type(estimator).__name__)
        except InvalidParameterError as exc:
            raise ConfigError(param_message(str(exc), path)) from None

    def save(self, estimator: Any, directory: Path) -> SavedEstimator:
        """XGBoost's own binary format (UBJ): no pickle, loadable by any XGBoost."""
        path = str(directory / "estimator.ubj")
        estimator.save_model(path)
        return SavedEstimator({"estimator": path}, "xgboost-ubj", ["xgboost"])


BACKEND = XGBoostBackend()
