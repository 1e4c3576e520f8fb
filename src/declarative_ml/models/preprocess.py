"""Preprocessing declared per column group, built as one scikit-learn transformer.

The transformer becomes the first step of the model's pipeline, so the logged
model takes raw rows: the registry holds each model with what it requires.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from declarative_ml.errors import ConfigError
from declarative_ml.messages import short_list

IMPUTE = ("mean", "median", "most_frequent", "constant")
SCALE = ("standard", "minmax", "robust")
DTYPES = ("numeric", "categorical")


def check_preprocess(groups: Mapping[str, Any], features: list[str] | None) -> None:
    """Validate the ``dataset.preprocess`` mapping without touching data.

    Raises:
        ConfigError: naming the group and key at fault and the allowed values.
    """
    for name, group in groups.items():
        key = f"dataset.preprocess.{name}"
        if (group.columns is None) == (group.dtype is None):
            raise ConfigError(
                f"{key}: give exactly one of 'columns' (a list) or 'dtype' ({' | '.join(DTYPES)})"
            )
        if group.dtype is not None and group.dtype not in DTYPES:
            raise ConfigError(f"{key}.dtype: {group.dtype!r} is not one of {', '.join(DTYPES)}")
        if group.impute is not None and group.impute not in IMPUTE:
            raise ConfigError(f"{key}.impute: {group.impute!r} is not one of {', '.join(IMPUTE)}")
        if group.scale is not None and group.scale not in SCALE:
            raise ConfigError(f"{key}.scale: {group.scale!r} is not one of {', '.join(SCALE)}")
        if features is not None and group.columns is not None:
            unknown = [c for c in group.columns if c not in features]
            if unknown:
                raise ConfigError(
                    f"{key}.columns: {unknown} are not in dataset.features ({short_list(features)})"
                )


def _group_pipeline(group: Any) -> Any:
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import MinMaxScaler, OneHotEncoder, RobustScaler, StandardScaler

    steps: list[tuple[str, Any]] = []
    if group.impute is not None:
        steps.append(("impute", SimpleImputer(strategy=group.impute, fill_value=group.fill_value)))
    if group.one_hot:
        steps.append(("one_hot", OneHotEncoder(handle_unknown="ignore", sparse_output=False)))
    if group.scale is not None:
        scaler = {"standard": StandardScaler, "minmax": MinMaxScaler, "robust": RobustScaler}
        steps.append(("scale", scaler[group.scale]()))
    return Pipeline(steps) if steps else "passthrough"


def _selected(group: Any, frame: Any, claimed: set[str]) -> list[str]:
    if group.columns is not None:
        return [c for c in group.columns if c not in claimed]
    import pandas as pd

    if group.dtype == "numeric":
        is_kind = pd.api.types.is_numeric_dtype
    else:

        def is_kind(s: Any) -> bool:
            return not pd.api.types.is_numeric_dtype(s)

    return [c for c in frame.columns if c not in claimed and is_kind(frame[c])]


def build_preprocessor(groups: Mapping[str, Any], frame: Any) -> Any | None:
    """Build a ColumnTransformer for the declared groups (None when none are declared).

    Column groups are matched in order; a column is claimed by the first group
    naming or selecting it. Columns in no group pass through unchanged.

    Args:
        groups: ``dataset.preprocess`` (group name -> ColumnGroupConfig).
        frame: the training features, used to resolve ``dtype`` selections.

    Returns:
        An unfitted ``ColumnTransformer`` or None.
    """
    if not groups:
        return None
    from sklearn.compose import ColumnTransformer

    claimed: set[str] = set()
    transformers = []
    for name, group in groups.items():
        columns = _selected(group, frame, claimed)
        claimed.update(columns)
        if columns:
            transformers.append((name, _group_pipeline(group), columns))
    return ColumnTransformer(transformers, remainder="passthrough", verbose_feature_names_out=False)
