"""Writing decisions out: one line, a markdown table per gate, the rules that failed.

The one place a decision is rendered, for every reader: the run summary, the version's
description, ``dml promote``'s refusal, ``dml rules plan``'s table. Takes a ``Decision``
and reads its attributes; imports nothing of ``rules`` (``decision.py`` imports this).

A rule with ``confidence`` is shown with what it was decided on, e.g.
``test_roc_auc > champion.test_roc_auc + 0.002 at 95%: +0.0031, lower bound -0.0042
(margin 0.002; 114 rows of the test split, 2000 resamples): not shown``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import quote


def number(value: float | None) -> str:
    """A value in a one-line report: 4 significant digits, ``n/a`` when missing."""
    return "n/a" if value is None else f"{value:.4g}"


def rule_text(text: str) -> str:
    """A rule as written, on one line."""
    return " ".join(text.split())


@dataclass(frozen=True)
class FailedRule:
    """A rule that did not hold: its gate, text and why (its values, or a reason)."""

    gate: str
    rule: str
    detail: str

    def to_dict(self) -> dict[str, str]:
        """``{"gate", "rule", "detail"}`` (JSON)."""
        return {"gate": self.gate, "rule": self.rule, "detail": self.detail}


def failed(decision: Any, *, first_gate_only: bool = False) -> list[FailedRule]:
    """The rules that failed, gate by gate (only the first gate that failed, if asked)."""
    found = []
    for name, gate in decision.gates.items():
        for outcome in gate.outcomes:
            if outcome.held:
                continue
            detail = outcome.reason or f"{number(outcome.left)} vs {number(outcome.right)}"
            if outcome.noise is not None:
                detail = noise_detail(outcome.noise)
            found.append(FailedRule(name, rule_text(outcome.text), detail))
        if found and first_gate_only:
            break
    return found


#: What a confident rule resamples when it is not a difference of one metric plus a margin.
SIDES = "left - right"


def signed(value: float | None) -> str:
    """A difference in a report: 4 significant digits with its sign, ``n/a`` when missing."""
    return "n/a" if value is None or value != value else f"{value:+.4g}"


def percent(confidence: float) -> str:
    """``0.95`` -> ``95%``."""
    return f"{confidence * 100:g}%"


def noise_detail(check: Any) -> str:
    """What a confident rule was decided on: ``at 95%: +0.0031, lower bound -0.0042
    (margin 0.002; 114 rows of the test split, 2000 resamples): not shown``."""
    sides = check.quantity == SIDES  # a margin by factor: the two sides' difference vs 0
    label = f"{SIDES} " if sides else ""
    margin = f"margin {check.margin:g}; " if not sides and check.margin != 0 else ""
    verdict = "shown" if check.held else "not shown"
    return (
        f"at {percent(check.confidence)}: {label}{signed(check.difference)}, {check.side} bound "
        f"{signed(check.bound)} ({margin}{check.rows} rows of {check.rows_from}, "
        f"{check.resamples} resamples): {verdict}"
    )


def noise_title(text: str, check: Any) -> str:
    """A confident rule's plot title: the rule, the confidence, rows, resamples, verdict."""
    verdict = "shown" if check.held else "not shown"
    return (
        f"{rule_text(text)} at {percent(check.confidence)} ({check.rows} rows of "
        f"{check.rows_from}, {check.resamples} resamples): {verdict}"
    )


def bound_label(check: Any) -> str:
    """``lower bound at 95%``."""
    return f"{check.side} bound at {percent(check.confidence)}"


def noise_lines(decision: Any) -> list[str]:
    """One line per rule decided with ``confidence`` (held or not), gate by gate."""
    return [
        f"{name}: {rule_text(o.text)} {noise_detail(o.noise)}"
        for name, gate in decision.gates.items()
        for o in gate.outcomes
        if o.noise is not None
    ]


def plot_link(uri: str) -> str:
    """A markdown link to a run's artifact (``runs:/RUN/PATH``), served by the tracking
    server's ``get-artifact`` endpoint relative to the MLflow UI, with the URI itself."""
    run_id, _, path = uri.removeprefix("runs:/").partition("/")
    target = f"get-artifact?path={quote(path)}&run_uuid={quote(run_id)}"
    return f"[plot]({target}) `{uri}`"


def fate(decision: Any) -> str:
    """``production``, ``staging``, ``none`` (registered only) or ``not registered``."""
    if not decision.register:
        return "not registered"
    return str(decision.target_stage)


def summary(decision: Any) -> str:
    """A one-line account: the target stage and each gate, with the rules that failed."""
    parts = []
    for name, result in decision.gates.items():
        texts = [rule_text(o.text) for o in result.outcomes if not o.held]
        parts.append(f"{name}: failed ({'; '.join(texts)})" if texts else f"{name}: passed")
    return f"target stage: {decision.target_stage}; " + ", ".join(parts)


def markdown(decision: Any, title: str) -> str:
    """The decision as markdown: a heading, then one table per gate (Rule | Value |
    Threshold | Result), each rule's stated reason beside it."""
    registered = "yes" if decision.register else "no"
    heading = f"**Target stage: {decision.target_stage}** (registered: {registered})"
    lines = [f"## {' '.join(title.split())}", "", heading, ""]
    if not decision.has_champion:
        lines += ["No champion: rules that read `champion.*` passed without a comparison.", ""]
    previous_failed: str | None = None
    for name, result in decision.gates.items():
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


def _result(outcome: Any) -> str:
    if outcome.skipped_no_champion:
        return "passed: no champion"
    if outcome.noise is not None:
        plot = f"; {plot_link(outcome.noise.plot)}" if outcome.noise.plot else ""
        result = "held" if outcome.held else "failed"
        return f"{result} {noise_detail(outcome.noise)}{plot}"
    if outcome.held:
        return "held"
    return f"failed: {outcome.reason}" if outcome.reason else "failed"


def _cell(text: str) -> str:
    """Keep a table cell on one line and its pipes literal."""
    return " ".join(text.split()).replace("|", "\\|")
