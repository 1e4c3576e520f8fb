"""XGBoost parameter values are checked before a run starts, exactly as strictly as XGBoost."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pytest
import xgboost as xgb
from omegaconf import OmegaConf

from conftest import compose_config
from declarative_ml.errors import ConfigError
from declarative_ml.models.build import build_estimator
from declarative_ml.models.limits import MAX_ROUNDS
from declarative_ml.models.xgb_params import XGBOOST_CONSTRAINTS

# (param, the bound XGBoost accepts, the value just past it that XGBoost refuses)
BOUNDS = [
    ("learning_rate", 0.0, -0.1),
    ("gamma", 0.0, -1.0),
    ("min_child_weight", 0.0, -1.0),
    ("max_delta_step", 0.0, -1.0),
    ("reg_alpha", 0.0, -1.0),
    ("reg_lambda", 0.0, -1.0),
    ("scale_pos_weight", 0.0, -1.0),
    ("subsample", 1.0, 1.1),
    ("colsample_bytree", 1.0, 1.1),
    ("colsample_bylevel", 0.0, 1.1),
    ("colsample_bynode", 1.0, 1.1),
    ("max_depth", 0, -1),
    ("max_leaves", 0, -1),
    ("max_bin", 2, 1),
    ("num_parallel_tree", 1, 0),
    ("max_cat_to_onehot", 1, 0),
    ("max_cat_threshold", 1, 0),
    # XGBoost reads these as 32-bit ints
    ("max_depth", 2**31 - 1, 2**31),
    ("max_leaves", 2**31 - 1, 2**31),
    ("max_bin", 2**31 - 1, 2**31),
    ("max_cat_threshold", 2**31 - 1, 2**31),
    ("booster", "dart", "darts"),
    ("tree_method", "approx", "gpu_hist"),
    ("grow_policy", "lossguide", "lossy"),
]


def xgboost_accepts(**params: Any) -> bool:
    X = np.random.default_rng(0).normal(size=(40, 3))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            xgb.XGBClassifier(n_estimators=2, verbosity=0, **params).fit(X, X[:, 0] > 0)
        except (xgb.core.XGBoostError, ValueError):
            return False
    return True


def we_accept(**params: Any) -> bool:
    cfg = compose_config(
        "experiment=xgb_baseline", *(f"++model.params.{k}={v}" for k, v in params.items())
    )
    try:
        build_estimator(cfg.model, "binary")
    except ConfigError:
        return False
    return True


@pytest.mark.parametrize(("key", "bound", "past"), BOUNDS)
def test_our_check_agrees_with_xgboost(key: str, bound: Any, past: Any) -> None:
    assert xgboost_accepts(**{key: bound}) and we_accept(**{key: bound})
    assert not xgboost_accepts(**{key: past})
    assert not we_accept(**{key: past})


def test_every_checked_param_is_one_of_xgboosts() -> None:
    # A param renamed or dropped in an XGBoost release shows up here, not as a silent no-op.
    assert set(XGBOOST_CONSTRAINTS) <= set(xgb.XGBClassifier().get_params())
    assert set(XGBOOST_CONSTRAINTS) <= set(xgb.XGBRegressor().get_params())


def _xgboost_takes_eval_metric(value: Any) -> bool:
    X = np.random.default_rng(0).normal(size=(40, 3))
    try:
        xgb.XGBClassifier(n_estimators=2, eval_metric=value).fit(X, X[:, 0] > 0)
    except (xgb.core.XGBoostError, ValueError, TypeError):
        return False
    return True


@pytest.mark.parametrize(
    ("value", "override", "accepted"),
    [
        ("auc", "auc", True),
        (["auc", "logloss"], "[auc,logloss]", True),
        (None, "null", True),
        ({"a": 1}, "{a:1}", False),
        (["auc", 1], "[auc,1]", False),
        (3, "3", False),
    ],
)
def test_eval_metric_types_agree_with_xgboost(value: Any, override: str, accepted: bool) -> None:
    assert _xgboost_takes_eval_metric(value) is accepted
    assert we_accept(eval_metric=override) is accepted


def _model(estimator: str, **params: Any) -> Any:
    family = "xgboost" if estimator.startswith("xgboost.") else "sklearn"
    return OmegaConf.create(
        {
            "name": "m",
            "family": family,
            "estimator": estimator,
            "params": params,
            "trusted_modules": [],
        }
    )


@pytest.mark.parametrize(
    ("estimator", "key"),
    [
        ("xgboost.XGBClassifier", "n_estimators"),
        ("xgboost.XGBClassifier", "num_parallel_tree"),
        ("sklearn.ensemble.RandomForestClassifier", "n_estimators"),
        ("sklearn.ensemble.HistGradientBoostingClassifier", "max_iter"),
    ],
)
def test_counts_that_would_never_finish_are_refused(estimator: str, key: str) -> None:
    # Every library takes 10**20 trees (rounds) and builds them until killed.
    build_estimator(_model(estimator, **{key: MAX_ROUNDS}), "binary")  # may be meant
    with pytest.raises(ConfigError) as info:
        build_estimator(_model(estimator, **{key: 10**20}), "binary")
    assert str(info.value).startswith(f"model.params.{key}: must be ")
    assert str(info.value).endswith(f"got 100000000000000000000 ({estimator})")
