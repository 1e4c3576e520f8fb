"""Seeded train/val/test splits, stratified for classification."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from declarative_ml.errors import ConfigError, DataValidationError
from declarative_ml.messages import shorten_lists


@dataclass(frozen=True)
class Split:
    """Features and target of one split."""

    X: Any
    y: Any


def check_split(split: Any) -> None:
    """Check split fractions before any data is loaded.

    Raises:
        ConfigError: naming the key and the allowed range.
    """
    if not 0 < split.test_size < 1:
        raise ConfigError(f"dataset.split.test_size: {split.test_size} must be between 0 and 1")
    if not 0 <= split.val_size < 1:
        raise ConfigError(f"dataset.split.val_size: {split.val_size} must be in [0, 1)")
    if split.test_size + split.val_size >= 1:
        raise ConfigError(
            f"dataset.split: test_size + val_size = {split.test_size + split.val_size} "
            f"leaves no rows to train on; keep the sum below 1"
        )


def split_dataset(X: Any, y: Any, split: Any, *, stratify: bool) -> dict[str, Split]:
    """Split rows into train, val (when ``val_size`` > 0) and test.

    Args:
        X: feature frame.
        y: target (encoded labels for classification).
        split: the ``dataset.split`` config.
        stratify: keep class proportions (classification with ``split.stratify``).

    Returns:
        ``{"train": Split, "val": Split, "test": Split}`` (no "val" when val_size is 0).

    Raises:
        DataValidationError: if a class has too few rows to stratify.
    """
    from sklearn.model_selection import train_test_split

    try:
        X_rest, X_test, y_rest, y_test = train_test_split(
            X,
            y,
            test_size=split.test_size,
            random_state=split.seed,
            stratify=y if stratify else None,
        )
        splits = {"test": Split(X_test, y_test)}
        if split.val_size > 0:
            X_train, X_val, y_train, y_val = train_test_split(
                X_rest,
                y_rest,
                test_size=split.val_size / (1 - split.test_size),
                random_state=split.seed,
                stratify=y_rest if stratify else None,
            )
            splits["val"] = Split(X_val, y_val)
        else:
            X_train, y_train = X_rest, y_rest
    except ValueError as exc:
        raise DataValidationError(
            # scikit-learn lists every class too small to stratify: 1,000 of them, maybe
            f"dataset.split: cannot split {len(X)} rows as declared ({shorten_lists(str(exc))}); "
            f"lower test_size/val_size or set dataset.split.stratify=false"
        ) from None
    return {"train": Split(X_train, y_train), **splits}
