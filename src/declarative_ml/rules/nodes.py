"""The parsed form of a promotion rule: expression nodes and :class:`Rule`.

Pure data with evaluation; the text -> tree step is in ``parser.py``.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from declarative_ml.rules.decision import evaluate_rule

if TYPE_CHECKING:
    from declarative_ml.rules.decision import RuleOutcome

COMPARISONS: dict[str, Callable[[float, float], bool]] = {
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
    "==": operator.eq,
    "!=": operator.ne,
}

_ARITHMETIC: dict[str, Callable[[float, float], float]] = {
    "+": operator.add,
    "-": operator.sub,
    "*": operator.mul,
    "/": operator.truediv,  # raises ZeroDivisionError on x / 0.0, reported by the evaluator
}


# Every node renders itself with full parentheses, so render() -> parse_rule()
# gives back an equal tree.


class Expr:
    """Base of the expression nodes: a number, a metric, champion.NAME, -x or x op y."""

    def render(self) -> str:
        """Return the expression as canonical, fully parenthesised text."""
        raise NotImplementedError

    def evaluate(self, candidate: Mapping[str, float], champion: Mapping[str, float]) -> float:
        """Compute the value; ``ZeroDivisionError`` on division by zero.

        Args:
            candidate: Metric values of the candidate model (floats, all names present).
            champion: Metric values of the champion (floats, all names present).

        Returns:
            The value of the expression.
        """
        raise NotImplementedError

    def names(self) -> Iterator[tuple[bool, str]]:
        """Yield ``(is_champion, metric_name)`` for each name read, left to right."""
        return iter(())


@dataclass(frozen=True)
class Number(Expr):
    """A literal, always finite and non-negative (a leading minus is a `Negate`)."""

    value: float

    def render(self) -> str:
        if self.value.is_integer() and abs(self.value) < 1e15:
            return str(int(self.value))
        return repr(self.value)

    def evaluate(self, candidate: Mapping[str, float], champion: Mapping[str, float]) -> float:
        return self.value


@dataclass(frozen=True)
class Metric(Expr):
    """The candidate model's value of a metric, e.g. ``test_roc_auc``."""

    name: str

    def render(self) -> str:
        return self.name

    def evaluate(self, candidate: Mapping[str, float], champion: Mapping[str, float]) -> float:
        return candidate[self.name]

    def names(self) -> Iterator[tuple[bool, str]]:
        yield False, self.name


@dataclass(frozen=True)
class Champion(Expr):
    """The champion (current production version)'s value of a metric: ``champion.NAME``."""

    name: str

    def render(self) -> str:
        return f"champion.{self.name}"

    def evaluate(self, candidate: Mapping[str, float], champion: Mapping[str, float]) -> float:
        return champion[self.name]

    def names(self) -> Iterator[tuple[bool, str]]:
        yield True, self.name


@dataclass(frozen=True)
class Negate(Expr):
    """Unary minus."""

    operand: Expr

    def render(self) -> str:
        return f"(-{self.operand.render()})"

    def evaluate(self, candidate: Mapping[str, float], champion: Mapping[str, float]) -> float:
        return -self.operand.evaluate(candidate, champion)

    def names(self) -> Iterator[tuple[bool, str]]:
        return self.operand.names()


@dataclass(frozen=True)
class BinaryOp(Expr):
    """``left op right`` with ``op`` one of ``+ - * /``."""

    op: str
    left: Expr
    right: Expr

    def render(self) -> str:
        return f"({self.left.render()} {self.op} {self.right.render()})"

    def evaluate(self, candidate: Mapping[str, float], champion: Mapping[str, float]) -> float:
        left = self.left.evaluate(candidate, champion)
        return _ARITHMETIC[self.op](left, self.right.evaluate(candidate, champion))

    def names(self) -> Iterator[tuple[bool, str]]:
        yield from self.left.names()
        yield from self.right.names()


@dataclass(frozen=True)
class Rule:
    """One parsed comparison.

    Two rules are equal when they have the same tree and ``why``; ``text`` (as
    written) is kept for reports but not compared, so ``parse_rule(str(rule))
    == rule``.
    """

    text: str = field(compare=False)
    left: Expr
    op: str
    right: Expr
    why: str | None = None

    def names(self) -> list[tuple[bool, str]]:
        """Return ``(is_champion, name)`` pairs in reading order, without repeats."""
        return list(dict.fromkeys([*self.left.names(), *self.right.names()]))

    def metric_names(self) -> set[str]:
        """Return the candidate metric names the rule reads."""
        return {name for is_champion, name in self.names() if not is_champion}

    def champion_names(self) -> set[str]:
        """Return the metric names the rule reads as ``champion.NAME``."""
        return {name for is_champion, name in self.names() if is_champion}

    def render(self) -> str:
        """Return the rule as canonical text with every sub-expression parenthesised."""
        return f"{self.left.render()} {self.op} {self.right.render()}"

    def __str__(self) -> str:
        return self.render()

    def compare(self, left: float, right: float) -> bool:
        """Apply the rule's comparison to the two computed sides."""
        return COMPARISONS[self.op](left, right)

    def evaluate(
        self, candidate: Mapping[str, float], champion: Mapping[str, float] | None = None
    ) -> RuleOutcome:
        """Check the rule against a candidate's metrics (see `evaluate_rule`).

        Args:
            candidate: The candidate model's metrics by name.
            champion: The champion's metrics, or None when there is no champion.

        Returns:
            Whether the rule held, with the values compared and a reason.
        """
        return evaluate_rule(self, candidate, champion)
