"""Messages stay one readable line: 1,000 classes or columns are listed as the first few and
a count, and untrusted text cannot break a line."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from omegaconf import OmegaConf

from conftest import compose_config
from declarative_ml.data.load import load_dataset
from declarative_ml.data.split import split_dataset
from declarative_ml.data.validate import check_target, load_schema, validate_schema
from declarative_ml.errors import DataValidationError
from declarative_ml.evaluation import encode_labels
from declarative_ml.messages import printable, short_list, shorten_lists
from declarative_ml.metrics import compute_metrics

MANY = 1000
LONGEST = 500  # a message about 1,000 classes used to be 7,366 characters


def test_short_list() -> None:
    assert short_list(["a", "b"]) == "a, b"
    assert short_list(range(10), 3) == "0, 1, 2, ... and 7 more"
    assert short_list(range(10), 3, sep="; ") == "0; 1; 2; ... and 7 more"


def test_shorten_lists_in_a_library_message() -> None:
    text = f"classes: {[f'c{i}' for i in range(MANY)]} and {{1, 2}}"
    assert shorten_lists(text, 2) == "classes: ['c0', 'c1', ... and 998 more] and {1, 2}"


def test_printable() -> None:
    assert printable("a\nb\t\x1b[0m") == "a\\nb\\t\\x1b[0m"
    assert printable("a\nb\r", keep_newlines=True) == "a\nb\\r"


def test_a_split_that_cannot_stratify_1000_classes() -> None:
    y = pd.Series([f"class_{i}" for i in range(MANY)] + ["class_0"])
    X = pd.DataFrame({"a": np.arange(len(y))})
    split = OmegaConf.create({"test_size": 0.2, "val_size": 0.1, "seed": 0})
    with pytest.raises(DataValidationError) as info:
        split_dataset(X, y, split, stratify=True)
    message = str(info.value)
    assert len(message) < LONGEST and "\n" not in message
    assert "... and 991 more]" in message and "dataset.split.stratify=false" in message


def test_a_binary_target_with_1000_classes() -> None:
    frame = pd.DataFrame({"y": [f"c{i:04d}" for i in range(MANY)]})
    with pytest.raises(DataValidationError) as info:
        check_target(frame, "y", "binary", where="many.csv")
    assert str(info.value) == (
        "dataset.target: column 'y' in many.csv has 1000 classes (c0000, c0001, c0002, c0003, "
        "c0004, c0005, c0006, c0007, ... and 992 more); use dataset.task=multiclass"
    )


def test_labels_the_model_never_saw() -> None:
    y = pd.Series([f"new{i}" for i in range(MANY)])
    with pytest.raises(DataValidationError) as info:
        encode_labels(y, [f"old{i}" for i in range(MANY)])
    message = str(info.value)
    assert len(message) < LONGEST
    assert "... and 992 more were never seen" in message and "old7, ... and 992 more)" in message


def test_a_missing_column_among_1000(tmp_path: Path) -> None:
    path = tmp_path / "wide.csv"
    pd.DataFrame({f"col{i}": [1, 2] for i in range(MANY)}).to_csv(path, index=False)
    cfg = compose_config("dataset=penguins", f"dataset.path={path}", "dataset.target=nope")
    with pytest.raises(DataValidationError) as info:
        load_dataset(cfg.dataset)
    assert str(info.value).endswith(
        "columns: col0, col1, col2, col3, col4, col5, col6, col7, ... and 992 more"
    )


def test_a_metric_that_cannot_be_computed_is_one_short_warning(
    caplog: pytest.LogCaptureFixture,
) -> None:
    y = np.arange(MANY)  # every class once; the probabilities know only the first two
    proba = np.tile([0.5, 0.5], (MANY, 1))
    with caplog.at_level(logging.WARNING, logger="declarative_ml.metrics"):
        values = compute_metrics(("log_loss",), y, y, proba)
    assert np.isnan(values["log_loss"])
    (record,) = caplog.records
    assert len(record.getMessage()) < LONGEST and "... and " in record.getMessage()


def test_a_schema_failing_on_many_columns() -> None:
    columns = {f"c{i}": {"dtype": "int64", "checks": {"greater_than": 0}} for i in range(20)}
    schema = load_schema({"schema_type": "dataframe", "columns": columns})
    frame = pd.DataFrame({f"c{i}": [0, 1] for i in range(20)})
    with pytest.raises(DataValidationError) as info:
        validate_schema(frame, schema, where="wide.csv")
    message = str(info.value)
    assert message.startswith("wide.csv breaks dataset.schema: 20 check(s) failed: ")
    assert "column 'c15' failed greater_than(0) in 1 row(s); ... and 12 more (failing" in message
