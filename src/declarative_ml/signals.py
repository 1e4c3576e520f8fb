"""SIGTERM as an exception, so a run stopped by SLURM or Kubernetes ends KILLED, not RUNNING.

Python turns SIGINT into ``KeyboardInterrupt``; SIGTERM's default action ends the
process at once, leaving its MLflow run RUNNING forever and its queued metrics
unsent. While :func:`terminated_on_sigterm` is active, SIGTERM raises
:class:`Terminated` in the main thread instead, so every ``finally`` and
``except`` on the way out runs: the run is ended KILLED, queued metrics are
flushed, the training child is stopped and registry locks are released.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import FrameType
from typing import Any


class Terminated(BaseException):  # noqa: N818 (like KeyboardInterrupt: not an Exception)
    """The process received a termination signal; it should stop, cleaning up."""

    def __init__(self, signum: int) -> None:
        self.signum = signum
        super().__init__(f"stopped by {signal.Signals(signum).name}")

    @property
    def exit_code(self) -> int:
        """The shell's convention for a process ended by a signal: 128 + its number."""
        return 128 + self.signum


def _raise(signum: int, frame: FrameType | None) -> None:
    raise Terminated(signum)


@contextmanager
def terminated_on_sigterm() -> Iterator[None]:
    """Within the block, SIGTERM raises :class:`Terminated` (main thread only; elsewhere,
    and when a handler other than the default is installed already, nothing changes)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.getsignal(signal.SIGTERM)
    if previous not in (signal.SIG_DFL, None) and previous is not _raise:
        yield  # someone else (a launcher, a test runner) handles SIGTERM
        return
    signal.signal(signal.SIGTERM, _raise)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


def defer_stop_signals() -> Callable[[], None]:
    """Hold SIGINT and SIGTERM back until the returned ``release()`` is called.

    For a step that must not be cut in two, such as creating a run and entering the
    block that guarantees its ending: a signal received meanwhile is re-raised by
    ``release()``, where the previous handlers see it. Main thread only (elsewhere a
    no-op, as Python delivers signals to the main thread).
    """
    if threading.current_thread() is not threading.main_thread():
        return lambda: None
    received: list[int] = []
    previous = {s: signal.getsignal(s) for s in STOP_SIGNALS}
    for signum in STOP_SIGNALS:
        signal.signal(signum, lambda s, _frame: received.append(s))

    def release() -> None:
        _restore(previous)
        if received:
            signal.raise_signal(received[0])

    return release


@contextmanager
def stop_signals_held() -> Iterator[None]:
    """Within the block, SIGINT and SIGTERM wait; one received meanwhile is raised when the
    block ends (after it completed), for a change that must be all or nothing."""
    release = defer_stop_signals()
    try:
        yield
    finally:
        release()


@contextmanager
def stop_signals_ignored() -> Iterator[None]:
    """SIGINT and SIGTERM are ignored within the block (main thread only): a second
    Ctrl-C or SIGTERM must not interrupt the writing of a run's ending."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {s: signal.signal(s, signal.SIG_IGN) for s in STOP_SIGNALS}
    try:
        yield
    finally:
        _restore(previous)


def _restore(previous: dict[signal.Signals, Any]) -> None:
    """Put back the handlers ``signal.getsignal`` returned (None: one not set from Python)."""
    for signum, handler in previous.items():
        signal.signal(signum, handler if handler is not None else signal.SIG_DFL)
