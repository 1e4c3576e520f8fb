"""Promotion rules: a safe parser, a pure evaluator and the reports of a decision (no
MLflow, no I/O).

Typical use::

    gates = parse_gates(cfg.promotion, source="conf/promotion/default.yaml")
    check_rule_names(gates, known_metrics, source="conf/promotion/default.yaml")
    decision = evaluate_rules(gates, candidate_metrics, champion_metrics_or_none)
    decision.target_stage        # "none" | "staging" | "production"

Modules: ``tokens`` and ``parser`` (text -> tree), ``nodes`` (the tree and a rule's own
evaluation), ``evaluate`` (gates -> ``Decision``), ``decision`` (the outcome data),
``names`` (names read vs names logged), ``noise`` (rules with ``confidence``: decided
on a paired bootstrap the caller supplies), ``report`` (every rendering of a decision).
"""

from __future__ import annotations

from declarative_ml.rules.decision import (
    GATES,
    NO_CHAMPION,
    Decision,
    GateResult,
    RuleOutcome,
)
from declarative_ml.rules.evaluate import confident_metrics, evaluate_rule, evaluate_rules
from declarative_ml.rules.names import check_rule_names, unknown_rule_names
from declarative_ml.rules.nodes import (
    COMPARISONS,
    BinaryOp,
    ChampionMetric,
    Expr,
    Metric,
    Negate,
    Number,
    Rule,
)
from declarative_ml.rules.noise import Evidence, NoiseCheck, Resampled, check_noise
from declarative_ml.rules.parser import parse_gates, parse_rule, parse_rule_spec
from declarative_ml.rules.tokens import tokenize

__all__ = [
    "COMPARISONS",
    "GATES",
    "NO_CHAMPION",
    "BinaryOp",
    "ChampionMetric",
    "Decision",
    "Evidence",
    "Expr",
    "GateResult",
    "Metric",
    "Negate",
    "NoiseCheck",
    "Number",
    "Resampled",
    "Rule",
    "RuleOutcome",
    "check_noise",
    "check_rule_names",
    "confident_metrics",
    "evaluate_rule",
    "evaluate_rules",
    "parse_gates",
    "parse_rule",
    "parse_rule_spec",
    "tokenize",
    "unknown_rule_names",
]
