"""Promotion rules: a safe parser and a pure evaluator (no MLflow, no I/O).

Typical use::

    gates = parse_gates(cfg.promotion, source="conf/promotion/default.yaml")
    check_rule_names(gates, known_metrics, source="conf/promotion/default.yaml")
    decision = evaluate_rules(gates, candidate_metrics, champion_metrics_or_none)
    decision.target_stage        # "none" | "staging" | "production"
"""

from __future__ import annotations

from declarative_ml.rules.decision import (
    GATES,
    NO_CHAMPION,
    Decision,
    GateResult,
    Gates,
    RuleOutcome,
    check_rule_names,
    evaluate_rule,
    evaluate_rules,
    unknown_rule_names,
)
from declarative_ml.rules.parser import (
    COMPARISONS,
    BinaryOp,
    Champion,
    Expr,
    Metric,
    Negate,
    Number,
    Rule,
    parse_gates,
    parse_rule,
    parse_rule_spec,
    tokenize,
)

__all__ = [
    "COMPARISONS",
    "GATES",
    "NO_CHAMPION",
    "BinaryOp",
    "Champion",
    "Decision",
    "Expr",
    "GateResult",
    "Gates",
    "Metric",
    "Negate",
    "Number",
    "Rule",
    "RuleOutcome",
    "check_rule_names",
    "evaluate_rule",
    "evaluate_rules",
    "parse_gates",
    "parse_rule",
    "parse_rule_spec",
    "tokenize",
    "unknown_rule_names",
]
