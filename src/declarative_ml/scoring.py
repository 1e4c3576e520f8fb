"""Scoring a model on a whole dataset: the candidate in memory, or a logged model.

Used for ``promotion.new_data`` (candidate and champion on the same new rows) and
``dml evaluate``. Logged models load with pickle deserialisation switched off.
"""

from __future__ import annotations

import os
from typing import Any

from declarative_ml.errors import DataValidationError
from declarative_ml.messages import short_list
from declarative_ml.metrics import compute_metrics


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


def score_logged_model(
    model_uri: str, dataset: Any, *, metrics: tuple[str, ...], task: str
) -> tuple[dict[str, float], int]:
    """Load a logged model (no pickle) and score it on every row of a declared dataset.

    Returns:
        Metric values by name, and the number of rows scored.
    """
    import mlflow.pyfunc

    from declarative_ml.training import load_validated

    # A binary model meets data with more classes here (dml evaluate on another dataset):
    # the data is checked as data, then against what the model can score.
    frame, target = load_validated(dataset, "multiclass" if task == "binary" else task)
    if task == "binary":
        check_binary_target(frame[target], target=target, dataset=str(dataset.name))
    os.environ["MLFLOW_ALLOW_PICKLE_DESERIALIZATION"] = "false"  # our models never need it
    model = mlflow.pyfunc.load_model(model_uri)
    schema = model.metadata.get_input_schema()
    X = frame[schema.input_names()] if schema is not None else frame.drop(columns=[target])
    if task == "regression":
        pred = model.predict(X).to_numpy(dtype=float)
        return compute_metrics(metrics, frame[target].to_numpy(dtype=float), pred, None), len(frame)
    proba = model.predict(X, params={"predict_method": "predict_proba"})
    encoded = encode_labels(frame[target], list(proba.columns))
    values = proba.to_numpy()
    return compute_metrics(metrics, encoded, values.argmax(axis=1), values), len(frame)
