"""Applying parsed rules to a candidate's metrics: a pure ``Decision``.

Nothing here reads files or talks to MLflow. ``evaluate_rules`` takes the rules of the
three gates, the candidate's metrics and the champion's (or None), and returns a
``Decision`` that says which rules held, with the values compared, and which stage the
candidate reaches. The registry code applies it; the tracking code stores it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from declarative_ml.errors import RuleError
from declarative_ml.rules.decision import GATES, Decision, GateResult, RuleOutcome
from declarative_ml.rules.nodes import Rule
from declarative_ml.rules.noise import Evidence, compared_metric


def evaluate_rule(
    rule: Rule, candidate: Mapping[str, Any], champion: Mapping[str, Any] | None
) -> RuleOutcome:
    """Check one rule (``Rule.evaluate``)."""
    return rule.evaluate(candidate, champion)


def confident_metrics(gates: Mapping[str, Sequence[Rule]]) -> list[str]:
    """The metrics that rules with ``confidence`` compare, in order, without repeats:
    what the caller must resample for both models."""
    found = [compared_metric(rule) for rules in gates.values() for rule in rules if rule.confidence]
    return [m for m in dict.fromkeys(found) if m is not None]


def evaluate_rules(
    gates: Mapping[str, Sequence[Rule]],
    candidate: Mapping[str, Any],
    champion: Mapping[str, Any] | None,
    evidence: Evidence | None = None,
) -> Decision:
    """Evaluate every gate's rules against a candidate (and the champion, if any).

    Args:
        gates: Rules by gate name (``register``, ``staging``, ``production``); a
            missing gate has no rules and passes.
        candidate: The candidate's metrics by name.
        champion: The current production version's metrics, or None when there
            is none (rules reading ``champion.*`` then pass, and the report says so).
        evidence: For rules with ``confidence``: both models' metrics resampled on
            the same rows (``confident_metrics`` says which), and their plots.

    Returns:
        The decision; all gates are evaluated, even after one fails.

    Raises:
        RuleError: When ``gates`` has a key that is not a gate.
    """
    unknown = [str(name) for name in gates if name not in GATES]
    if unknown:
        raise RuleError(f"unknown gate {', '.join(map(repr, unknown))}; gates: {', '.join(GATES)}")
    evidence = evidence or Evidence()
    results = {
        name: GateResult(
            name,
            tuple(
                rule.evaluate(
                    candidate,
                    champion,
                    evidence.draws.get(compared_metric(rule) or ""),
                    evidence.plots.get(f"{name}[{index}]"),
                )
                for index, rule in enumerate(gates.get(name, ()))
            ),
        )
        for name in GATES
    }
    return Decision(gates=results, has_champion=champion is not None)
