"""A declared dataset made ready for training: loaded, validated, split, labels encoded,
digested. Pure data work: no model, no MLflow."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from declarative_ml.data.digest import frame_digest
from declarative_ml.data.load import load_dataset
from declarative_ml.data.split import Split, split_dataset
from declarative_ml.data.validate import check_target, load_schema, validate_schema


@dataclass(frozen=True)
class PreparedData:
    """Validated data, split, with classes encoded for classification."""

    splits: dict[str, Split]  # y holds the original labels
    encoded: dict[str, Any]  # y as integers 0..k-1 (classification) or floats
    classes: list[Any] | None
    features: list[str]
    target: str
    digests: dict[str, str]
    source: str


def dataset_source(dataset: Any) -> str:
    """Where a dataset's rows come from: its path, or the scikit-learn loader."""
    return str(dataset.path) if dataset.path else f"sklearn.datasets.load_{dataset.loader}"


def load_validated(dataset: Any, task: str) -> tuple[Any, str]:
    """Load a dataset and validate it (pandera, lazily; target fit for the task).

    Returns:
        The frame and the target column's name.
    """
    schema = load_schema(dataset.schema)  # before reading data: a bad schema is a config error
    frame = load_dataset(dataset)
    source = dataset_source(dataset)
    frame = validate_schema(
        frame, schema, where=source, log_values=bool(dataset.get("log_failure_values", False))
    )
    target = dataset.target or "target"
    check_target(frame, target, task, where=source)
    return frame, target


def prepare_data(dataset: Any, task: str) -> PreparedData:
    """Load, validate (pandera, lazily), check the target, split and encode labels."""
    frame, target = load_validated(dataset, task)
    source = dataset_source(dataset)
    features = (
        list(dataset.features) if dataset.features else [c for c in frame.columns if c != target]
    )
    X, y = frame[features], frame[target]
    classification = task != "regression"
    splits = split_dataset(X, y, dataset.split, stratify=classification and dataset.split.stratify)
    classes = sorted(y.unique().tolist()) if classification else None
    encoded = {}
    for name, split in splits.items():
        if classes is not None:
            encoded[name] = split.y.map({c: i for i, c in enumerate(classes)}).to_numpy()
        else:
            encoded[name] = split.y.to_numpy(dtype=float)
    digests = {"all": frame_digest(frame[[*features, target]])}
    digests.update({name: frame_digest(s.X.assign(**{target: s.y})) for name, s in splits.items()})
    return PreparedData(splits, encoded, classes, features, target, digests, str(source))
