"""Apply parsed promotion rules to a candidate's metrics: a pure `Decision`.

Nothing here reads files or talks to MLflow. ``evaluate_rules`` takes the rules
of the three gates, the candidate's metrics and the champion's (or None), and
returns a `Decision` that says which rules held, with the values compared, and
which stage the candidate reaches. The registry code applies it; the tracking
code stores ``to_dict()`` and ``to_markdown()``.
"""

from __future__ import annotations

import difflib
import math
import numbers
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from declarative_ml.errors import RuleError

if TYPE_CHECKING:
    from declarative_ml.rules.nodes import Expr, Rule

#: The gates, in the order a candidate passes them: each counts only if the ones
#: before it passed (a model is registered, then staged, then put in production).
GATES: tuple[str, ...] = ("register", "staging", "production")
Gates = GATES

NO_CHAMPION = "no champion: rule reads champion.* and passes"


@dataclass(frozen=True)
class RuleOutcome:
    """How one rule fared.

    Attributes:
        text: The rule as written.
        why: The rule's stated reason, if any.
        held: Whether the rule holds (True also when skipped for lack of a champion).
        left: Value of the left side (None when it could not be computed).
        right: Value of the right side, the threshold (None likewise).
        reason: Why the rule failed or was skipped; None when it was simply compared.
        skipped_no_champion: True when the rule reads ``champion.*``, there is no
            champion, and the rule therefore passes without a comparison.
    """

    text: str
    why: str | None
    held: bool
    left: float | None = None
    right: float | None = None
    reason: str | None = None
    skipped_no_champion: bool = False

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-safe dict (non-finite values become None)."""
        return {
            "rule": self.text,
            "why": self.why,
            "held": self.held,
            "left": _json_float(self.left),
            "right": _json_float(self.right),
            "reason": self.reason,
            "skipped_no_champion": self.skipped_no_champion,
        }


def _json_float(value: float | None) -> float | None:
    return value if value is not None and math.isfinite(value) else None


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


def evaluate_rule(
    rule: Rule, candidate: Mapping[str, Any], champion: Mapping[str, Any] | None
) -> RuleOutcome:
    """Check one rule.

    A missing, non-numeric or NaN candidate metric fails the rule, even when
    there is no champion. Then, if the rule reads ``champion.*`` and there is
    no champion, it passes (``skipped_no_champion``). A missing champion metric,
    a division by zero or a NaN result fails it with a reason. Never raises for
    bad values.

    Args:
        rule: The parsed rule.
        candidate: The candidate's metrics by name.
        champion: The champion's metrics, or None when there is no champion.

    Returns:
        The outcome, with both sides' values where they could be computed.
    """

    def outcome(
        held: bool,
        left: float | None = None,
        right: float | None = None,
        reason: str | None = None,
        skipped: bool = False,
    ) -> RuleOutcome:
        return RuleOutcome(rule.text, rule.why, held, left, right, reason, skipped)

    values, reason = _read_values(rule.metric_names(), candidate, "metric")
    if reason:
        return outcome(False, reason=reason)
    if rule.champion_names() and champion is None:
        # Show the candidate-only side(s) in the report; sides reading champion.* stay None.
        sides = [
            None
            if any(is_champion for is_champion, _ in side.names())
            else _compute(side, values, {})[0]
            for side in (rule.left, rule.right)
        ]
        return outcome(True, sides[0], sides[1], NO_CHAMPION, skipped=True)
    champion_values, reason = _read_values(rule.champion_names(), champion or {}, "champion metric")
    if reason:
        return outcome(False, reason=reason)
    # Both sides are computed even when one fails, so the report shows what it can.
    left, left_reason = _compute(rule.left, values, champion_values)
    right, right_reason = _compute(rule.right, values, champion_values)
    reason = left_reason or right_reason
    if reason is not None or left is None or right is None:
        return outcome(False, left, right, reason)
    return outcome(rule.compare(left, right), left, right)


def unknown_rule_names(
    gates: Mapping[str, Sequence[Rule]], known_metrics: Iterable[str], *, source: str
) -> list[str]:
    """List every metric name the rules read that the config will not produce.

    Args:
        gates: Rules by gate, as returned by `parse_gates`.
        known_metrics: The metric names the run will log.
        source: Where the rules came from; rules are named ``"{source}: {gate}[{i}]"``.

    Returns:
        One message per unknown name (candidate or ``champion.NAME``), in gate
        and rule order; empty when all names are known.
    """
    known = set(known_metrics)
    listing = ", ".join(sorted(known)) or "(none)"
    problems = []
    for gate, rules in gates.items():
        for index, rule in enumerate(rules):
            for is_champion, name in rule.names():
                if name in known:
                    continue
                shown = f"champion.{name}" if is_champion else name
                close = difflib.get_close_matches(name, sorted(known), n=1)
                hint = f"did you mean {close[0]!r}? " if close else ""
                problems.append(
                    f"unknown metric {shown!r} in {source}: {gate}[{index}]; {hint}known: {listing}"
                )
    return problems


def check_rule_names(
    gates: Mapping[str, Sequence[Rule]], known_metrics: Iterable[str], *, source: str
) -> None:
    """Fail on the first metric name the rules read that the config will not produce.

    Args:
        gates: Rules by gate, as returned by `parse_gates`.
        known_metrics: The metric names the run will log.
        source: Where the rules came from (a file name), used in the message.

    Raises:
        RuleError: Naming the unknown metric, the rule and the known names.
    """
    problems = unknown_rule_names(gates, known_metrics, source=source)
    if problems:
        raise RuleError(problems[0])


@dataclass(frozen=True)
class GateResult:
    """The outcomes of one gate's rules.

    Attributes:
        name: ``register``, ``staging`` or ``production``.
        outcomes: One outcome per rule, in the order written.
    """

    name: str
    outcomes: tuple[RuleOutcome, ...]

    @property
    def passed(self) -> bool:
        """Whether every rule held (an empty gate passes)."""
        return all(outcome.held for outcome in self.outcomes)


@dataclass(frozen=True)
class Decision:
    """What the rules say about a candidate: per-gate outcomes and the stage it reaches.

    Attributes:
        gates: Results for ``register``, ``staging`` and ``production``, in that order.
        has_champion: Whether a champion's metrics were compared.
    """

    gates: dict[str, GateResult]
    has_champion: bool

    def reached(self, gate: str) -> bool:
        """Return whether ``gate`` and every gate before it passed."""
        return all(self.gates[name].passed for name in GATES[: GATES.index(gate) + 1])

    @property
    def register(self) -> bool:
        """Whether a model version should be created."""
        return self.reached("register")

    @property
    def target_stage(self) -> str:
        """``"production"``, ``"staging"`` or ``"none"`` (gates are cumulative)."""
        for stage in ("production", "staging"):
            if self.reached(stage):
                return stage
        return "none"

    def summary(self) -> str:
        """Return a one-line account, e.g. for the console."""
        parts = []
        for name, result in self.gates.items():
            failed = [" ".join(o.text.split()) for o in result.outcomes if not o.held]
            parts.append(f"{name}: failed ({'; '.join(failed)})" if failed else f"{name}: passed")
        return f"target stage: {self.target_stage}; " + ", ".join(parts)

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-safe dict with stable keys (stored as the run's decision artifact)."""
        return {
            "target_stage": self.target_stage,
            "register": self.register,
            "has_champion": self.has_champion,
            "gates": {
                name: {
                    "passed": result.passed,
                    "reached": self.reached(name),
                    "rules": [outcome.to_dict() for outcome in result.outcomes],
                }
                for name, result in self.gates.items()
            },
        }

    def to_markdown(self, title: str) -> str:
        """Render the decision as markdown: one table per gate.

        Args:
            title: The heading (e.g. the model name and version).

        Returns:
            Markdown text with columns Rule | Value | Threshold | Result.
        """
        registered = "yes" if self.register else "no"
        heading = f"**Target stage: {self.target_stage}** (registered: {registered})"
        lines = [f"## {' '.join(title.split())}", "", heading, ""]
        if not self.has_champion:
            lines += ["No champion: rules that read `champion.*` passed without a comparison.", ""]
        previous_failed: str | None = None
        for name, result in self.gates.items():
            status = "passed" if result.passed else "failed"
            if previous_failed:
                status += f" (not reached: {previous_failed} failed)"
            elif not result.passed:
                previous_failed = name
            lines += [f"### {name}: {status}", ""]
            if not result.outcomes:
                lines += ["No rules: the gate passes.", ""]
                continue
            lines += ["| Rule | Value | Threshold | Result |", "| --- | --- | --- | --- |"]
            for o in result.outcomes:
                rule = f"`{' '.join(o.text.split())}`" + (f" ({o.why})" if o.why else "")
                cells = [rule, _number(o.left), _number(o.right), _result(o)]
                lines.append("| " + " | ".join(_cell(c) for c in cells) + " |")
            lines.append("")
        return "\n".join(lines)


def _number(value: float | None) -> str:
    return "n/a" if value is None else format(value, ".10g")


def _result(outcome: RuleOutcome) -> str:
    if outcome.skipped_no_champion:
        return "passed: no champion"
    if outcome.held:
        return "held"
    return f"failed: {outcome.reason}" if outcome.reason else "failed"


def _cell(text: str) -> str:
    """Keep a table cell on one line and its pipes literal."""
    return " ".join(text.split()).replace("|", "\\|")


def evaluate_rules(
    gates: Mapping[str, Sequence[Rule]],
    candidate: Mapping[str, Any],
    champion: Mapping[str, Any] | None,
) -> Decision:
    """Evaluate every gate's rules against a candidate (and the champion, if any).

    Args:
        gates: Rules by gate name (``register``, ``staging``, ``production``); a
            missing gate has no rules and passes.
        candidate: The candidate's metrics by name.
        champion: The current production version's metrics, or None when there
            is none (rules reading ``champion.*`` then pass, and the report says so).

    Returns:
        The decision; all gates are evaluated, even after one fails.

    Raises:
        RuleError: When ``gates`` has a key that is not a gate.
    """
    unknown = [str(name) for name in gates if name not in GATES]
    if unknown:
        raise RuleError(f"unknown gate {', '.join(map(repr, unknown))}; gates: {', '.join(GATES)}")
    results = {
        name: GateResult(
            name, tuple(rule.evaluate(candidate, champion) for rule in gates.get(name, ()))
        )
        for name in GATES
    }
    return Decision(gates=results, has_champion=champion is not None)
