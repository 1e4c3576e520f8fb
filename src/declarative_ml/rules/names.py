"""Metric names the rules read, against those a config's runs log."""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING

from declarative_ml.errors import RuleError

if TYPE_CHECKING:
    from declarative_ml.rules.nodes import Rule


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
