"""Running a generator of stages in a forked child process, results streamed back.

Training needs scikit-learn/XGBoost and tracking needs MLflow; importing either
takes about a second. Running training in a child lets both happen at once on
two cores: the parent opens the tracking store while the child loads data and
fits. Where ``fork`` is unavailable, or isolation is switched off, the stages
simply run in-process. The child never touches MLflow.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import os
import traceback
from collections.abc import Callable, Generator, Iterator
from typing import Any

from declarative_ml.errors import DeclarativeMLError

logger = logging.getLogger(__name__)


class WorkerError(DeclarativeMLError, RuntimeError):
    """The training process died without reporting an error (killed, out of memory)."""

    exit_code = 1


def _portable(exc: BaseException) -> BaseException:
    """``exc`` if it survives pickling, else a RuntimeError with the same text."""
    import pickle

    trace = "".join(traceback.format_exception(exc))
    try:
        exc.dml_traceback = trace  # type: ignore[attr-defined]
        pickle.loads(pickle.dumps(exc))
        return exc
    except Exception:
        fallback = RuntimeError(f"{type(exc).__name__}: {exc}")
        fallback.dml_traceback = trace  # type: ignore[attr-defined]
        return fallback


def _die_with_parent() -> None:
    """Linux: the kernel kills this child when the process that started it dies, even by
    SIGKILL, so training never goes on as an orphan burning CPU. SIGTERM sent to the whole
    process group is left to the parent, which stops this child itself."""
    import signal
    import sys

    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    if sys.platform.startswith("linux"):
        import ctypes

        pr_set_pdeathsig = 1
        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL("libc.so.6", use_errno=True).prctl(pr_set_pdeathsig, signal.SIGKILL)


def _child_main(conn: Any, stages: Callable[..., Iterator[Any]], args: tuple[Any, ...]) -> None:
    _die_with_parent()
    try:
        for item in stages(*args):
            conn.send(("item", item))
        conn.send(("done", None))
    except BaseException as exc:  # everything goes back to the parent, which decides
        conn.send(("error", _portable(exc)))
    finally:
        conn.close()


# Modules that start OpenMP thread pools. A child forked after one ran inherits the
# pool's state but not its threads, and its first parallel loop blocks forever.
_OPENMP_MODULES = ("xgboost", "sklearn", "torch", "lightgbm")


def start_method() -> str:
    """``fork`` while this process has loaded no OpenMP user (fast: the child starts
    with what is imported); else ``forkserver``, whose children start from a clean
    process (arguments are pickled, libraries imported afresh)."""
    import sys

    if any(name in sys.modules for name in _OPENMP_MODULES):
        return "forkserver"
    return "fork"


class Stages:
    """Iterate ``stages(*args)``, in a forked child when ``isolate`` and fork is available.

    The child starts at construction, so the caller can do other work meanwhile.
    Exceptions raised in the child are re-raised in the parent, unchanged where
    they can be pickled.
    """

    def __init__(
        self, stages: Callable[..., Generator[Any, None, None]], *args: Any, isolate: bool
    ) -> None:
        self._process = None
        if isolate and "fork" in multiprocessing.get_all_start_methods() and os.name == "posix":
            ctx = multiprocessing.get_context(start_method())
            self._conn, child_conn = ctx.Pipe(duplex=False)
            self._process = ctx.Process(  # type: ignore[attr-defined]
                target=_child_main, args=(child_conn, stages, args), name="dml-train", daemon=True
            )
            self._process.start()
            child_conn.close()
        else:
            self._local = stages(*args)

    def __iter__(self) -> Iterator[Any]:
        return self

    def __next__(self) -> Any:
        if self._process is None:
            return next(self._local)
        try:
            # Poll, so a child that dies without closing the pipe is noticed, not waited on.
            while not self._conn.poll(0.5):
                if not self._process.is_alive():
                    raise EOFError
            kind, payload = self._conn.recv()
        except EOFError:
            self._process.join(5)
            raise WorkerError(
                f"the training process exited unexpectedly (exit code {self._process.exitcode}); "
                f"out of memory? Try run.isolate_training=false to train in this process"
            ) from None
        if kind == "item":
            return payload
        if kind == "error":
            raise payload
        raise StopIteration

    def close(self) -> None:
        """Stop the child if it still runs (after an error in the parent)."""
        if self._process is not None:
            if self._process.is_alive():
                self._process.terminate()
            self._process.join(5)
            self._conn.close()
        else:
            self._local.close()

    def __enter__(self) -> Stages:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
