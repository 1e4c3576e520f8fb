"""Validating loaded data: the declared pandera schema and the target's fitness for the task."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf

from declarative_ml.errors import ConfigError, DataValidationError
from declarative_ml.messages import short_list

_MAX_EXAMPLES = 3


def load_schema(schema: Any) -> Any | None:
    """Build the pandera schema from a YAML path or an inline mapping (pandera's YAML format).

    Raises:
        ConfigError: if the file is missing or is not a valid pandera schema.
    """
    if schema is None:
        return None
    import pandera.pandas as pa

    if isinstance(schema, (DictConfig, dict)):
        import yaml

        container = OmegaConf.to_container(schema) if isinstance(schema, DictConfig) else schema
        source, text = "dataset.schema (inline)", yaml.safe_dump(container)
    else:
        path = Path(str(schema)).expanduser()
        if not path.is_file():
            raise ConfigError(f"dataset.schema: schema file not found: {path}")
        source, text = f"dataset.schema ({path})", path.read_text()
    try:
        return pa.DataFrameSchema.from_yaml(text)
    except Exception as exc:  # pandera raises many types for a malformed schema
        raise ConfigError(f"{source}: not a valid pandera YAML schema: {exc}") from None


def _describe_failures(failure_cases: Any, *, with_values: bool) -> list[str]:
    parts = []
    for (column, check), rows in failure_cases.groupby(
        ["column", "check"], dropna=False, sort=False
    ):
        where = f"column '{column}'" if column == column and column is not None else "dataframe"
        part = f"{where} failed {check} in {len(rows)} row(s)"
        if with_values:
            examples = ", ".join(repr(v) for v in rows["failure_case"].head(_MAX_EXAMPLES))
            part += f" (e.g. {examples})"
        parts.append(part)
    return parts


def validate_schema(frame: Any, schema: Any, *, where: str, log_values: bool = False) -> Any:
    """Validate ``frame`` lazily against a pandera schema: every failure reported at once.

    The failing values (raw data, maybe personal) are for the terminal only: the
    error's text, which may reach MLflow (tag ``dml.error`` when new data fails after
    the run started), names columns, checks and counts, and its ``terminal_message``
    adds the values, unless ``log_values`` (``dataset.log_failure_values``) allows them.

    Returns:
        The validated frame (with any declared coercions applied).

    Raises:
        DataValidationError: one line listing every failing column and check.
    """
    if schema is None:
        return frame
    import pandera.errors as pe

    try:
        return schema.validate(frame, lazy=True)
    except pe.SchemaErrors as exc:
        cases = exc.failure_cases
        detailed = _describe_failures(cases, with_values=True)
        headline = f"{where} breaks dataset.schema: {len(detailed)} check(s) failed: "
        # The first few checks only: a schema over many columns can fail in all of them.
        full = headline + short_list(detailed, sep="; ")
        if log_values:
            raise DataValidationError(full) from None
        error = DataValidationError(
            headline
            + short_list(_describe_failures(cases, with_values=False), sep="; ")
            + " (failing values are shown in the terminal only; "
            "dataset.log_failure_values: true records them)"
        )
        error.terminal_message = full
        raise error from None


def check_target(frame: Any, target: str, task: str, *, where: str) -> None:
    """Check the target column suits the task.

    Raises:
        DataValidationError: for missing values, a single class, a non-binary
            target on a binary task, or a non-numeric target on regression.
    """
    import pandas as pd

    y = frame[target]
    missing = int(y.isna().sum())
    if missing:
        raise DataValidationError(
            f"dataset.target: column '{target}' in {where} has {missing} missing value(s)"
        )
    if task == "regression":
        if not pd.api.types.is_numeric_dtype(y):
            raise DataValidationError(
                f"dataset.target: column '{target}' in {where} is {y.dtype}, "
                f"but dataset.task 'regression' needs numbers"
            )
        return
    classes = sorted(map(str, y.unique()))
    if len(classes) < 2:
        raise DataValidationError(
            f"dataset.target: column '{target}' in {where} has one class ({classes[0]!r}); "
            f"a {task} task needs at least 2"
        )
    if task == "binary" and len(classes) > 2:
        raise DataValidationError(
            f"dataset.target: column '{target}' in {where} has {len(classes)} classes "
            f"({short_list(classes)}); use dataset.task=multiclass"
        )
