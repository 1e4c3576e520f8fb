"""XGBoost's documented parameter types and ranges, checked before a run starts.

XGBoost's scikit-learn classes accept any value in ``__init__`` and parse it in C++ at
``fit``, after the run was created (``learning_rate=fast`` fails as "Some trailing
characters could not be parsed"). These constraints, in scikit-learn's notation, let
``build_estimator`` refuse such a value up front with the key named. Only the types and
bounds XGBoost documents are checked; the names ``objective`` and ``eval_metric`` take are
left to XGBoost, whose lists grow between releases, and every value may be null (XGBoost's
default). The bounds are XGBoost's own, no stricter (``tests/test_xgb_params.py`` checks
both agree), except the upper bound on counts of trees (``models/limits.py``), which is
ours: XGBoost builds ``n_estimators=10**20`` (or ``num_parallel_tree=10**9``) trees until
killed.
"""

from __future__ import annotations

from numbers import Integral, Real
from typing import Any

from sklearn.utils._param_validation import Interval, Options, StrOptions

from declarative_ml.models.limits import MAX_ROUNDS

# XGBoost parses these as C ints: 2**31 and above fail at fit ("Invalid Parameter format").
MAX_INT32 = 2**31 - 1


class _StrList(Options):
    """A list of names, as ``eval_metric`` takes several metrics.

    An ``Options`` only because scikit-learn's checker accepts no constraint class of
    its own; what it allows is decided here.
    """

    def __init__(self) -> None:
        super().__init__(list, set())

    def is_satisfied_by(self, val: Any) -> bool:
        return isinstance(val, list) and all(isinstance(v, str) for v in val)

    def __str__(self) -> str:
        return "a list of str"


def _ints(low: int | None, high: int | None = None) -> list[Any]:
    return [Interval(Integral, low, high, closed="both" if high is not None else "left"), None]


def _reals(low: float | None, high: float | None = None, closed: str = "left") -> list[Any]:
    return [Interval(Real, low, high, closed=closed), None]


def _options(*names: str) -> list[Any]:
    return [StrOptions(set(names)), None]


XGBOOST_CONSTRAINTS: dict[str, list[Any]] = {
    "n_estimators": _ints(0, MAX_ROUNDS),
    "max_depth": _ints(0, MAX_INT32),
    "max_leaves": _ints(0, MAX_INT32),
    "max_bin": _ints(2, MAX_INT32),
    "num_parallel_tree": _ints(1, MAX_ROUNDS),
    "max_cat_to_onehot": _ints(1),
    "max_cat_threshold": _ints(1, MAX_INT32),
    "early_stopping_rounds": _ints(0),
    "verbosity": [Interval(Integral, 0, 3, closed="both"), None],
    "n_jobs": [Integral, None],
    "learning_rate": _reals(0.0),
    "gamma": _reals(0.0),
    "min_child_weight": _reals(0.0),
    "max_delta_step": _reals(0.0),
    "reg_alpha": _reals(0.0),
    "reg_lambda": _reals(0.0),
    "scale_pos_weight": _reals(0.0),
    "subsample": _reals(0.0, 1.0, closed="both"),
    "colsample_bytree": _reals(0.0, 1.0, closed="both"),
    "colsample_bylevel": _reals(0.0, 1.0, closed="both"),
    "colsample_bynode": _reals(0.0, 1.0, closed="both"),
    "booster": _options("gbtree", "gblinear", "dart"),
    "tree_method": _options("auto", "exact", "approx", "hist"),
    "grow_policy": _options("depthwise", "lossguide"),
    "sampling_method": _options("uniform", "gradient_based"),
    "importance_type": _options("gain", "weight", "cover", "total_gain", "total_cover"),
    "multi_strategy": _options("one_output_per_tree", "multi_output_tree"),
    "objective": [str, callable, None],
    "eval_metric": [str, _StrList(), callable, None],
    "device": [str, None],
    "enable_categorical": ["boolean"],
    "validate_parameters": ["boolean", None],
    "random_state": ["random_state"],
}
