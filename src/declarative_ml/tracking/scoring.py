"""Scoring a logged model (loaded from the store, pickle off) on every row of a declared
dataset: the champion on ``promotion.new_data``, and ``dml evaluate``; and a logged
model's predictions row by row (what a rule with ``confidence`` resamples)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from declarative_ml.evaluation import check_binary_target, encode_labels
from declarative_ml.metrics import compute_metrics

_PICKLE = "MLFLOW_ALLOW_PICKLE_DESERIALIZATION"


@contextmanager
def pickle_refused() -> Iterator[None]:
    """MLflow refuses pickled files within the block (our models never need one); the
    variable is put back as it was afterwards."""
    previous = os.environ.get(_PICKLE)
    os.environ[_PICKLE] = "false"
    try:
        yield
    finally:
        if previous is None:
            os.environ.pop(_PICKLE, None)
        else:
            os.environ[_PICKLE] = previous


@dataclass(frozen=True)
class Predicted:
    """A logged model's predictions on rows.

    Attributes:
        values: predicted values (regression), else None.
        proba: class probabilities, a frame with one column per class label (as text)
            in the model's order (classification), else None.
    """

    values: Any | None = None
    proba: Any | None = None


def load_logged_model(model_uri: str) -> Any:
    """A logged model as an MLflow pyfunc model, loaded with pickle refused.

    Args:
        model_uri: ``models:/m-<id>``, ``models:/NAME/VERSION`` or any MLflow model URI.

    Returns:
        The ``mlflow.pyfunc.PyFuncModel``.
    """
    import mlflow.pyfunc

    with pickle_refused():
        return mlflow.pyfunc.load_model(model_uri)


def predict_rows(model: Any, frame: Any, *, task: str) -> Predicted:
    """Predictions of a loaded pyfunc model on the rows of ``frame``, row by row.

    Args:
        model: a model from :func:`load_logged_model`.
        frame: raw rows (the columns its signature names are used; the target may be there).
        task: ``binary``, ``multiclass`` or ``regression``.

    Returns:
        Class probabilities (classification) or predicted values (regression).
    """
    schema = model.metadata.get_input_schema()
    X = frame[schema.input_names()] if schema is not None else frame
    if task == "regression":
        return Predicted(values=model.predict(X).to_numpy(dtype=float))
    return Predicted(proba=model.predict(X, params={"predict_method": "predict_proba"}))


def score_logged_model(
    model_uri: str, dataset: Any, *, metrics: tuple[str, ...], task: str
) -> tuple[dict[str, float], int]:
    """Load a logged model (no pickle) and score it on every row of a declared dataset.

    Returns:
        Metric values by name, and the number of rows scored.
    """
    import mlflow.pyfunc

    from declarative_ml.data.prepare import load_validated

    # A binary model meets data with more classes here (dml evaluate on another dataset):
    # the data is checked as data, then against what the model can score.
    frame, target = load_validated(dataset, "multiclass" if task == "binary" else task)
    if task == "binary":
        check_binary_target(frame[target], target=target, dataset=str(dataset.name))
    with pickle_refused():
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
