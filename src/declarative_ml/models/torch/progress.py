"""Epoch progress while a torch model trains: a live bar in a terminal, plain lines in CI logs."""

from __future__ import annotations

import math
import sys
from typing import TextIO

MAX_PLAIN_LINES = 20  # a CI log gets at most about this many lines per fit
_BAR_WIDTH = 20


def _values(record: dict[str, float]) -> str:
    return "  ".join(f"{name} {value:.4f}" for name, value in record.items())


class EpochProgress:
    """Shows ``epoch N/M`` with the epoch's metrics.

    On a terminal (``stream.isatty()``) one line is redrawn in place each epoch;
    elsewhere plain lines are written, every k-th epoch so that a long fit writes
    at most :data:`MAX_PLAIN_LINES` lines, plus the first and the last epoch.
    """

    def __init__(self, epochs: int, *, label: str, stream: TextIO | None = None) -> None:
        self.epochs = epochs
        self.label = label
        self.stream = stream if stream is not None else sys.stderr
        isatty = getattr(self.stream, "isatty", None)
        self.live = bool(isatty and isatty())
        self.every = max(1, math.ceil(epochs / MAX_PLAIN_LINES))
        self._last_written = 0
        self._width = 0

    def _prefix(self, epoch: int) -> str:
        return f"{self.label} epoch {epoch:>{len(str(self.epochs))}}/{self.epochs}"

    def update(self, epoch: int, record: dict[str, float]) -> None:
        """Report epoch ``epoch`` (1-based) and its metrics."""
        text = self._prefix(epoch)
        if self.live:
            done = round(_BAR_WIDTH * epoch / self.epochs)
            line = f"{text} [{'#' * done}{'.' * (_BAR_WIDTH - done)}]  {_values(record)}"
            self.stream.write("\r" + line.ljust(self._width))
            self._width = len(line)
        elif epoch == 1 or epoch % self.every == 0 or epoch == self.epochs:
            self.stream.write(f"{text}  {_values(record)}\n")
            self._last_written = epoch
        self.stream.flush()

    def close(self, epochs_run: int, record: dict[str, float], note: str = "") -> None:
        """End the display after ``epochs_run`` epochs; ``note`` says why it stopped early."""
        if self.live:
            self.stream.write("\n")
        elif epochs_run != self._last_written and epochs_run > 0:
            self.stream.write(f"{self._prefix(epochs_run)}  {_values(record)}\n")
        if note:
            self.stream.write(f"{self.label} {note}\n")
        self.stream.flush()
