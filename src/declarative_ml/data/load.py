"""Reading a declared dataset into one DataFrame (features and target)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from declarative_ml.errors import ConfigError, DataValidationError
from declarative_ml.messages import short_list

SKLEARN_LOADERS = ("breast_cancer", "iris", "wine", "diabetes", "digits")


def resolve_path(path: str) -> Path:
    """A data path as given: absolute, or relative to the working directory."""
    return Path(path).expanduser()


def check_source(dataset: Any) -> None:
    """Check the source keys fit together, before anything is read.

    Raises:
        ConfigError: for a missing/extra loader or path, naming the key.
    """
    source = dataset.source.value if hasattr(dataset.source, "value") else dataset.source
    if source == "sklearn":
        if dataset.loader not in SKLEARN_LOADERS:
            raise ConfigError(
                f"dataset.loader: {dataset.loader!r} is not a bundled scikit-learn dataset; "
                f"valid: {', '.join(SKLEARN_LOADERS)}"
            )
    elif not dataset.path:
        raise ConfigError(f"dataset.path: required for source '{source}' (a {source} file)")
    if source != "sklearn" and not dataset.target:
        raise ConfigError(f"dataset.target: required for source '{source}' (the column to predict)")


def _load_sklearn(loader: str, target: str) -> Any:
    from sklearn import datasets

    bunch = getattr(datasets, f"load_{loader}")(as_frame=True)
    frame = bunch.frame.copy()
    if "target" in frame.columns and target != "target":
        frame = frame.rename(columns={"target": target})
    return frame


def _read_file(source: str, path: Path, options: dict[str, Any]) -> Any:
    import pandas as pd

    if not path.is_file():
        raise DataValidationError(f"dataset.path: file not found: {path} (cwd {Path.cwd()})")
    try:
        if source == "csv":
            return pd.read_csv(path, **options)
        return pd.read_parquet(path, **options)
    except (ValueError, OSError, pd.errors.ParserError) as exc:
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise DataValidationError(
            f"dataset.path: cannot read {source} file {path}: {first_line}"
        ) from None


def load_dataset(dataset: Any) -> Any:
    """Load the declared dataset as one DataFrame holding the features and the target.

    Args:
        dataset: the ``dataset`` config node.

    Returns:
        A pandas DataFrame.

    Raises:
        DataValidationError: if the file is missing or unreadable, or the target or a
            declared feature column is absent.
    """
    source = dataset.source.value if hasattr(dataset.source, "value") else dataset.source
    target = dataset.target or "target"
    if source == "sklearn":
        frame = _load_sklearn(dataset.loader, target)
        where = f"scikit-learn dataset '{dataset.loader}'"
    else:
        path = resolve_path(dataset.path)
        frame = _read_file(source, path, dict(dataset.read_options or {}))
        where = str(path)
    if target not in frame.columns:
        raise DataValidationError(
            f"dataset.target: column '{target}' not found in {where}; "
            f"columns: {short_list(frame.columns)}"
        )
    frame = select_rows(frame, dataset.where, where=where)
    if dataset.features is not None:
        missing = [c for c in dataset.features if c not in frame.columns]
        if missing:
            raise DataValidationError(
                f"dataset.features: columns {missing} not found in {where}; "
                f"columns: {short_list(frame.columns)}"
            )
    return frame


def select_rows(frame: Any, conditions: Any, *, where: str) -> Any:
    """Keep the rows whose value in each named column is one of the listed values.

    A declarative filter (``dataset.where: {year: [2007, 2008]}``), never evaluated code.

    Raises:
        DataValidationError: for an unknown column, or when no row is left.
    """
    if not conditions:
        return frame
    for column, values in conditions.items():
        if column not in frame.columns:
            raise DataValidationError(
                f"dataset.where: column '{column}' not found in {where}; "
                f"columns: {short_list(frame.columns)}"
            )
        frame = frame[frame[column].isin(list(values))]
    if frame.empty:
        raise DataValidationError(f"dataset.where: no rows of {where} match {dict(conditions)}")
    return frame.reset_index(drop=True)
