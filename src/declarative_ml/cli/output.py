"""Rendering command results: aligned text tables, or JSON with ``--json``."""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from declarative_ml.messages import printable


def when(ms: int | None) -> str:
    """Milliseconds since the epoch as ``2026-11-26 04:40:12`` (UTC)."""
    if not ms:
        return ""
    return datetime.fromtimestamp(ms / 1000, tz=UTC).strftime("%Y-%m-%d %H:%M:%S")


def cell(value: Any) -> str:
    """A table cell: floats to 4 significant digits, None as empty, text on one line.

    Cells show values any MLflow client can write (an audit reason, a tag), so a line
    break or a control character is escaped: it cannot start a forged row.
    """
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.4g}"
    return printable(str(value))


def table(rows: Sequence[Mapping[str, Any]], columns: Sequence[str]) -> str:
    """Rows as an aligned text table under a header."""
    header = [printable(c) for c in columns]
    cells = [[cell(r.get(c)) for c in columns] for r in rows]
    widths = [max([len(c), *(len(row[i]) for row in cells)]) for i, c in enumerate(header)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(header, widths, strict=True)).rstrip()]
    lines += [
        "  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)).rstrip() for row in cells
    ]
    return "\n".join(lines)


def emit(data: Any, *, as_json: bool, text: str) -> None:
    """Print ``data`` as JSON, or the prepared ``text``."""
    if as_json:
        json.dump(data, sys.stdout, indent=2, sort_keys=True, default=str)
        sys.stdout.write("\n")
    else:
        print(text)
