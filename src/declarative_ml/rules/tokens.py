"""Splitting a promotion rule into tokens, and the one-line errors that point into it.

The tokenizer is hand-written: user text never reaches ``eval``, ``exec`` or ``ast``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from declarative_ml.errors import RuleError
from declarative_ml.rules.nodes import COMPARISONS

# Bounds that keep every recursive walk over the tree far from Python's
# recursion limit, whatever text a user (or a fuzzer) hands us.
MAX_TOKENS = 200

_NUMBER = re.compile(r"(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_NUMBER_TAIL = re.compile(r"[0-9A-Za-z_.]+")
_SYMBOLS = ("<=", ">=", "==", "!=", "<", ">", "+", "-", "*", "/", "(", ")", ".")
_WHITESPACE = " \t\r\n"
_HINTS = {
    "=": " (did you mean '=='?)",
    "!": " (did you mean '!='?)",
    "&": " (a rule is one comparison; write each condition as its own rule)",
    "|": " (a rule is one comparison; write each condition as its own rule)",
    "'": " (strings are not allowed)",
    '"': " (strings are not allowed)",
}


@dataclass(frozen=True)
class Token:
    """One lexical unit of a rule.

    Attributes:
        kind: ``"number"``, ``"name"``, ``"cmp"``, ``"op"`` (``+ - * /``), one of
            ``"(" ")" "."``, or ``"end"``.
        text: The characters as written (empty for ``"end"``).
        column: 1-based column of the first character.
    """

    kind: str
    text: str
    column: int


def quote(text: str) -> str:
    """Quote ``text`` for a message, keeping the message on one printable line."""
    if len(text) == 1 and not text.isprintable():
        return f"U+{ord(text):04X}"
    text = one_line(text)
    return f'"{text}"' if "'" in text else f"'{text}'"


def one_line(text: str) -> str:
    """Return ``text`` with line breaks and control characters shown as spaces."""
    return "".join(c if c.isprintable() else " " for c in text)


def describe(token: Token) -> str:
    return "end of rule" if token.kind == "end" else quote(token.text)


def fail(text: str, where: str, column: int, message: str) -> RuleError:
    return RuleError(f"{where}, column {column}: {message}  in {quote(one_line(text))}")


def tokenize(text: str, *, where: str = "rule") -> list[Token]:
    """Split a rule into tokens.

    Args:
        text: The rule as written.
        where: Where the rule came from, used in error messages.

    Returns:
        The tokens, ending with one ``"end"`` token.

    Raises:
        RuleError: On a character or number the grammar does not allow, or a
            rule longer than ``MAX_TOKENS`` tokens.
    """
    tokens: list[Token] = []
    i = 0
    while i < len(text):
        char = text[i]
        column = i + 1
        if char in _WHITESPACE:
            i += 1
            continue
        if len(tokens) >= MAX_TOKENS:
            raise fail(text, where, column, f"rule is too long (more than {MAX_TOKENS} tokens)")
        number = _NUMBER.match(text, i)
        if number:
            tail = _NUMBER_TAIL.match(text, number.end())
            if tail:
                bad = text[i : tail.end()]
                raise fail(text, where, column, f"malformed number {quote(bad)}")
            tokens.append(Token("number", number.group(), column))
            i = number.end()
            continue
        name = _NAME.match(text, i)
        if name:
            tokens.append(Token("name", name.group(), column))
            i = name.end()
            continue
        symbol = next((s for s in _SYMBOLS if text.startswith(s, i)), None)
        if symbol is None:
            hint = _HINTS.get(char, "")
            raise fail(text, where, column, f"unexpected character {quote(char)}{hint}")
        kind = "cmp" if symbol in COMPARISONS else "op" if symbol in "+-*/" else symbol
        tokens.append(Token(kind, symbol, column))
        i += len(symbol)
    tokens.append(Token("end", "", len(text) + 1))
    return tokens
