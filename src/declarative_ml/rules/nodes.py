"""The parsed form of a promotion rule: expression nodes and :class:`Rule`.

Pure data with evaluation; the text -> tree step is in ``parser.py``.
"""

from __future__ import annotations

import math
import numbers
import operator
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from declarative_ml.rules.decision import NO_CHAMPION, RuleOutcome
from declarative_ml.rules.noise import Resampled, check_noise, compared_metric

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
class ChampionMetric(Expr):
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

    Two rules are equal when they have the same tree, ``why`` and ``confidence``;
    ``text`` (as written) is kept for reports but not compared, so
    ``parse_rule(str(rule)) == rule``. With ``confidence``, a comparison with the
    champion is decided on the paired bootstrap of both models (``noise.py``).
    """

    text: str = field(compare=False)
    left: Expr
    op: str
    right: Expr
    why: str | None = None
    confidence: float | None = None

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
        self,
        candidate: Mapping[str, Any],
        champion: Mapping[str, Any] | None = None,
        noise: Resampled | None = None,
        plot: str | None = None,
    ) -> RuleOutcome:
        """Check the rule against a candidate's metrics (and the champion's).

        A missing, non-numeric or NaN candidate metric fails the rule, even when there
        is no champion. Then, if the rule reads ``champion.*`` and there is no champion,
        it passes (``skipped_no_champion``). A missing champion metric, a division by
        zero or a NaN result fails it with a reason. A rule with ``confidence`` is
        decided on ``noise``, both models' metric on the same resampled rows, and fails
        without it. Never raises for bad values.

        Args:
            candidate: The candidate model's metrics by name.
            champion: The champion's metrics, or None when there is no champion.
            noise: For a rule with ``confidence``: the paired bootstrap of its metric.
            plot: For a rule with ``confidence``: the artifact URI of its plot.

        Returns:
            Whether the rule held, with both sides' values where they could be computed.
        """

        def outcome(
            held: bool,
            left: float | None = None,
            right: float | None = None,
            reason: str | None = None,
            skipped: bool = False,
        ) -> RuleOutcome:
            return RuleOutcome(self.text, self.why, held, left, right, reason, skipped)

        values, reason = _read_values(self.metric_names(), candidate, "metric")
        if reason:
            return outcome(False, reason=reason)
        if self.champion_names() and champion is None:
            # Show the candidate-only side(s) in the report; sides reading champion.* stay None.
            sides = [
                None
                if any(is_champion for is_champion, _ in side.names())
                else _compute(side, values, {})[0]
                for side in (self.left, self.right)
            ]
            return outcome(True, sides[0], sides[1], NO_CHAMPION, skipped=True)
        if self.confidence is not None:
            return self._evaluate_noise(noise, plot)
        champion_values, reason = _read_values(
            self.champion_names(), champion or {}, "champion metric"
        )
        if reason:
            return outcome(False, reason=reason)
        # Both sides are computed even when one fails, so the report shows what it can.
        left, left_reason = _compute(self.left, values, champion_values)
        right, right_reason = _compute(self.right, values, champion_values)
        reason = left_reason or right_reason
        if reason is not None or left is None or right is None:
            return outcome(False, left, right, reason)
        return outcome(self.compare(left, right), left, right)

    def _evaluate_noise(self, noise: Resampled | None, plot: str | None) -> RuleOutcome:
        """A confident rule: its sides on the rows both models were scored on, decided
        by the bound of the resampled difference."""
        metric = compared_metric(self)
        if noise is None or noise.metric != metric:
            reason = (
                f"no scores of candidate and champion on the same rows for {metric} "
                f"(confidence {self.confidence:g} needs them)"
            )
            return RuleOutcome(self.text, self.why, False, reason=reason)
        sides = {metric: noise.candidate}, {metric: noise.champion}
        left, right = _compute(self.left, *sides)[0], _compute(self.right, *sides)[0]
        check = check_noise(self, noise, plot)
        return RuleOutcome(self.text, self.why, check.held, left, right, noise=check)


def _read_values(
    names: Iterable[str], metrics: Mapping[str, Any], label: str
) -> tuple[dict[str, float], str | None]:
    """Return the named metrics as floats, or a reason why they cannot be used."""
    names = sorted(names)
    missing = [name for name in names if name not in metrics]
    if missing:
        plural = "s" if len(missing) > 1 else ""
        return {}, f"{label}{plural} {', '.join(repr(n) for n in missing)} missing"
    values: dict[str, float] = {}
    for name in names:
        raw = metrics[name]
        try:
            if isinstance(raw, bool) or not isinstance(raw, numbers.Real):
                raise TypeError
            value = float(raw)
        except (TypeError, ValueError, OverflowError):
            return {}, f"{label} {name!r} is not a number: {repr(raw)[:40]}"
        if math.isnan(value):
            return {}, f"{label} {name!r} is NaN"
        values[name] = value
    return values, None


def _compute(
    expr: Expr, candidate: Mapping[str, float], champion: Mapping[str, float]
) -> tuple[float | None, str | None]:
    """Evaluate one side of a rule: ``(value, None)`` or ``(value or None, reason)``."""
    try:
        value = expr.evaluate(candidate, champion)
    except ZeroDivisionError:
        return None, f"division by zero in {expr.render()}"
    if math.isnan(value):
        return value, f"{expr.render()} is NaN"
    return value, None
