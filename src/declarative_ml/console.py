"""The one place user-facing text is written: results to stdout, problems to stderr.

Known secrets (``tracking/secrets.py``) are masked in every line.
"""

from __future__ import annotations

import os
import sys

EXIT_PIPE_CLOSED = 141  # 128 + SIGPIPE, what a shell reports for a writer whose reader left


def _masked(message: str) -> str:
    # Imported on first use: secrets.py loads OmegaConf and YAML, which `dml --help` need not.
    from declarative_ml.secrets import mask_text

    return mask_text(message)


def say(message: str = "") -> None:
    """A line for the user on stdout."""
    print(_masked(message), file=sys.stdout, flush=True)


def error(message: str) -> None:
    """One line on stderr, prefixed so it stands out in CI logs."""
    print(f"error: {_masked(message)}", file=sys.stderr, flush=True)


def warn(message: str) -> None:
    """One line on stderr for something the user should know that did not stop the run."""
    print(f"warning: {_masked(message)}", file=sys.stderr, flush=True)


def format_metrics(metrics: dict[str, float], names: list[str]) -> str:
    """``name value`` pairs on one line, 4 significant decimals."""
    return "  ".join(f"{n} {metrics[n]:.4f}" for n in names if n in metrics)


def stdout_closed() -> int:
    """The reader of stdout went away (``... | head -1``): stop without a word, as Unix
    tools do, and return :data:`EXIT_PIPE_CLOSED`.

    stdout is pointed at /dev/null so that the interpreter's last flush of what is still
    buffered does not fail again (Python's documented pattern for SIGPIPE).
    """
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):  # stdout replaced by something without a descriptor
        pass
    return EXIT_PIPE_CLOSED
