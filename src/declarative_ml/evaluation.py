"""Scoring a fitted pipeline: every split's metrics, predict latency, and any frame of new
rows (``promotion.new_data``). Pure ML: no MLflow, no files."""

from __future__ import annotations

import time
from typing import Any

from declarative_ml.errors import DataValidationError
from declarative_ml.messages import short_list
from declarative_ml.metrics import compute_metrics


def latency_ms(pipeline: Any, X: Any, rows: int) -> float:
    """Milliseconds for one ``predict`` on ``rows`` rows (sampled with replacement), best of 3."""
    batch = X.sample(n=rows, replace=True, random_state=0)
    best = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        pipeline.predict(batch)
        best = min(best, time.perf_counter() - start)
    return best * 1000


def evaluate(
    pipeline: Any, data: Any, metrics: tuple[str, ...], classification: bool
) -> tuple[dict[str, float], dict[str, tuple[Any, Any]]]:
    """``{split}_{metric}`` for every split, and the predictions behind them."""
    values: dict[str, float] = {}
    predictions = {}
    for name, split in data.splits.items():
        pred = pipeline.predict(split.X)
        proba = pipeline.predict_proba(split.X) if classification else None
        predictions[name] = (pred, proba)
        scores = compute_metrics(metrics, data.encoded[name], pred, proba)
        values.update({f"{name}_{m}": v for m, v in scores.items()})
    return values, predictions


def encode_labels(y: Any, classes: list[Any]) -> Any:
    """Labels as indexes into ``classes``.

    Raises:
        DataValidationError: naming labels the model never saw.
    """
    index = {str(c): i for i, c in enumerate(classes)}
    unknown = sorted({str(v) for v in y.unique()} - set(index))
    if unknown:
        raise DataValidationError(
            f"dataset.target: classes {short_list(map(repr, unknown))} were never seen by the "
            f"model (it knows {short_list(classes)})"
        )
    return y.astype(str).map(index).to_numpy()


def check_binary_target(y: Any, *, target: str, dataset: str) -> None:
    """Refuse data with more than two classes for a model trained on a binary task.

    Raises:
        DataValidationError: naming the dataset, its classes and the model's task.
    """
    classes = sorted(map(str, y.unique()))
    if len(classes) > 2:
        raise DataValidationError(
            f"dataset={dataset}: a model trained for a binary task (2 classes) cannot score "
            f"this dataset: its target '{target}' has {len(classes)} classes "
            f"({short_list(classes)}); score it with a multiclass model"
        )


def score_pipeline(
    pipeline: Any,
    frame: Any,
    *,
    target: str,
    features: list[str],
    classes: list[Any] | None,
    metrics: tuple[str, ...],
) -> dict[str, float]:
    """Metrics of a fitted in-memory pipeline on every row of ``frame``."""
    X = frame[features]
    if classes is None:
        return compute_metrics(
            metrics, frame[target].to_numpy(dtype=float), pipeline.predict(X), None
        )
    return compute_metrics(
        metrics,
        encode_labels(frame[target], classes),
        pipeline.predict(X),
        pipeline.predict_proba(X),
    )
