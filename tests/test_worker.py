"""Stages in a child process: results stream back, errors keep their type, a dead child
is noticed."""

from __future__ import annotations

import os

import pytest

from declarative_ml.errors import DataValidationError
from declarative_ml.worker import Stages, WorkerError, start_method


def counting(n: int):
    for i in range(n):
        yield {"stage": i, "pid": os.getpid()}


def failing():
    yield "data"
    raise DataValidationError("dataset.target: column 'y' has one class ('a')")


def dying():
    yield "data"
    os._exit(9)


@pytest.mark.parametrize("isolate", [True, False])
def test_items_stream_back_in_order(isolate: bool) -> None:
    with Stages(counting, 3, isolate=isolate) as stages:
        items = list(stages)
    assert [i["stage"] for i in items] == [0, 1, 2]
    assert (items[0]["pid"] != os.getpid()) is isolate


def test_errors_keep_their_type_and_message() -> None:
    with Stages(failing, isolate=True) as stages:
        assert next(stages) == "data"
        with pytest.raises(DataValidationError, match="has one class"):
            next(stages)


def test_a_child_that_dies_is_reported() -> None:
    with Stages(dying, isolate=True) as stages:
        assert next(stages) == "data"
        with pytest.raises(WorkerError, match="exit code 9"):
            next(stages)


def test_forkserver_once_openmp_users_are_loaded() -> None:
    import sklearn  # noqa: F401  (loaded by this test session anyway)

    assert start_method() == "forkserver"
