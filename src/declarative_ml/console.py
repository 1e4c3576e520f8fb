"""The one place user-facing text is written: results to stdout, problems to stderr."""

from __future__ import annotations

import sys


def say(message: str = "") -> None:
    """A line for the user on stdout."""
    print(message, file=sys.stdout, flush=True)


def error(message: str) -> None:
    """One line on stderr, prefixed so it stands out in CI logs."""
    print(f"error: {message}", file=sys.stderr, flush=True)


def format_metrics(metrics: dict[str, float], names: list[str]) -> str:
    """``name value`` pairs on one line, 4 significant decimals."""
    return "  ".join(f"{n} {metrics[n]:.4f}" for n in names if n in metrics)
