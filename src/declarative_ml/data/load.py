"""Reading a declared dataset into one DataFrame (features and target)."""

from __future__ import annotations

import difflib
from pathlib import Path
from typing import Any

from declarative_ml.errors import ConfigError, DataValidationError
from declarative_ml.messages import short_list

SKLEARN_LOADERS = ("breast_cancer", "iris", "wine", "diabetes", "digits")
# dataset.read_options the readers take: each returns one DataFrame from the local file
# (no iterator, no remote filesystem), so every option here keeps that promise.
READ_OPTIONS = {
    "csv": (
        "comment", "date_format", "dayfirst", "decimal", "delimiter", "doublequote", "dtype",
        "dtype_backend", "encoding", "encoding_errors", "engine", "escapechar", "false_values",
        "header", "keep_default_na", "lineterminator", "low_memory", "na_filter", "na_values",
        "names", "nrows", "on_bad_lines", "parse_dates", "quotechar", "quoting", "sep",
        "skip_blank_lines", "skipfooter", "skipinitialspace", "skiprows", "thousands",
        "true_values", "usecols",
    ),
    "parquet": ("columns", "dtype_backend", "engine", "filters"),
}  # fmt: skip
READ_CHOICES = {
    ("csv", "engine"): ("c", "python", "pyarrow"),
    ("csv", "on_bad_lines"): ("error", "warn", "skip"),
    ("parquet", "engine"): ("pyarrow", "auto"),
}


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
        for key in ("path", "read_options"):
            if dataset.get(key):
                raise ConfigError(
                    f"dataset.{key}: not used by source 'sklearn' (it loads scikit-learn's "
                    f"bundled '{dataset.loader}'); remove it, or read a file with "
                    f"dataset.source=csv|parquet"
                )
        return
    if dataset.loader:
        raise ConfigError(
            f"dataset.loader: not used by source '{source}' (it reads dataset.path); remove it"
        )
    if not dataset.path:
        raise ConfigError(f"dataset.path: required for source '{source}' (a {source} file)")
    if not dataset.target:
        raise ConfigError(f"dataset.target: required for source '{source}' (the column to predict)")
    check_read_options(source, dataset.read_options or {})


def check_read_options(source: str, options: Any) -> None:
    """``dataset.read_options`` must be options of the reader that keep it one local frame.

    Raises:
        ConfigError: naming the option and the ones allowed.
    """
    allowed = READ_OPTIONS[source]
    for key in options:
        if key not in allowed:
            close = difflib.get_close_matches(str(key), allowed, n=1)
            hint = f"did you mean '{close[0]}'? " if close else ""
            raise ConfigError(
                f"dataset.read_options.{key}: not an option declarative_ml passes to the "
                f"{source} reader; {hint}allowed: {', '.join(allowed)}"
            )
        choices = READ_CHOICES.get((source, str(key)))
        if choices is not None and options[key] not in choices:
            raise ConfigError(
                f"dataset.read_options.{key}: {options[key]!r} is not one of {', '.join(choices)}"
            )


def _load_sklearn(loader: str) -> Any:
    """A bundled scikit-learn dataset as one frame: its feature columns and ``target``."""
    from sklearn import datasets

    return getattr(datasets, f"load_{loader}")(as_frame=True).frame.copy()


def _read_file(source: str, path: Path, options: dict[str, Any]) -> Any:
    import pandas as pd

    if not path.is_file():
        raise DataValidationError(f"dataset.path: file not found: {path} (cwd {Path.cwd()})")
    try:
        if source == "csv":
            frame = pd.read_csv(path, **options)
            header = _csv_header(path, options)
        else:
            frame = pd.read_parquet(path, **options)
            header = [str(c) for c in frame.columns]
    except (ValueError, OSError, pd.errors.ParserError) as exc:
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise DataValidationError(
            f"dataset.path: cannot read {source} file {path}: {first_line}"
        ) from None
    repeated = sorted({c for c in header if header.count(c) > 1})
    if repeated:
        # pandas renames a repeated CSV column `a` to `a.1`: training would silently use it.
        raise DataValidationError(
            f"dataset.path: {path} has repeated column names {repeated}; "
            f"each column needs a name of its own"
        )
    return frame


# read_options that change where the header row is or how it is split.
_HEADER_OPTIONS = ("sep", "delimiter", "encoding", "quotechar", "escapechar", "comment", "skiprows")


def _csv_header(path: Path, options: dict[str, Any]) -> list[str]:
    """The names in a CSV file's header row as written (pandas de-duplicates them)."""
    import pandas as pd

    if options.get("names") is not None or options.get("header", 0) is None:
        return []  # names given by the config: pandas refuses repeats itself
    header = options.get("header", 0)
    if not isinstance(header, int):
        return []
    kept = {k: v for k, v in options.items() if k in _HEADER_OPTIONS}
    rows = pd.read_csv(path, header=None, nrows=header + 1, dtype=str, **kept)
    return [str(c) for c in rows.iloc[header].tolist()] if len(rows) > header else []


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
        frame = _load_sklearn(dataset.loader)
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
