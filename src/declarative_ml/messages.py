"""Text for messages and tables: long lists cut short, untrusted text kept on one line.

A message is one line a person reads: a dataset with 1,000 classes must not turn
``classes a, b, c, ...`` into a 7,000-character line, and a value written by any
MLflow client (an audit reason, a tag) must not break a table row in two.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

MAX_ITEMS = 8
# A Python repr of a flat list or set inside someone else's message (scikit-learn's).
_LISTED = re.compile(r"([\[{])([^\[\]{}]*)([\]}])")


def short_list(items: Iterable[object], limit: int = MAX_ITEMS, *, sep: str = ", ") -> str:
    """``a, b, c`` with at most ``limit`` items, then ``... and N more``.

    Args:
        items: what to list, already in the order to show.
        limit: how many to show before the count of the rest.
        sep: what goes between two items.

    Returns:
        The items joined by ``sep``.
    """
    shown = [str(item) for item in items]
    if len(shown) <= limit:
        return sep.join(shown)
    return sep.join(shown[:limit]) + f"{sep}... and {len(shown) - limit} more"


def shorten_lists(text: str, limit: int = MAX_ITEMS) -> str:
    """``text`` with every bracketed list or set of more than ``limit`` items cut short.

    For messages written by libraries, which list every offending class or value.

    Returns:
        The text, each long ``[a, b, ...]`` / ``{a, b, ...}`` as its first ``limit``
        items and ``... and N more``.
    """

    def cut(match: re.Match[str]) -> str:
        opening, body, closing = match.groups()
        items = body.split(", ")
        if len(items) <= limit:
            return match.group(0)
        return f"{opening}{short_list(items, limit)}{closing}"

    return _LISTED.sub(cut, text)


def printable(text: str, *, keep_newlines: bool = False) -> str:
    """``text`` on one line: line breaks, tabs and other control characters escaped.

    Values read from a store (tags, descriptions) may be written by any client, so a
    newline in one must show as ``\\n``, not start what looks like another row, and a
    terminal escape sequence must show as text, not recolour or move the cursor.

    Args:
        text: untrusted text.
        keep_newlines: keep ``\\n`` (a block of text shown on its own, such as a
            description); every other control character is still escaped.

    Returns:
        The text with only printable characters (and spaces, and newlines if kept).
    """
    return "".join(
        c
        if c.isprintable() or c == " " or (keep_newlines and c == "\n")
        else c.encode("unicode_escape").decode("ascii")
        for c in text
    )
