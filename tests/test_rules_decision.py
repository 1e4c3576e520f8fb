"""Tests for rule evaluation and the promotion decision (declarative_ml.rules.decision)."""

from __future__ import annotations

import json
import math

import pytest

from declarative_ml.errors import RuleError
from declarative_ml.rules import (
    GATES,
    NO_CHAMPION,
    Decision,
    GateResult,
    RuleOutcome,
    check_rule_names,
    evaluate_rules,
    parse_gates,
    parse_rule,
    unknown_rule_names,
)

SOURCE = "conf/promotion/default.yaml"
# conf/promotion/default.yaml as written in DESIGN.md.
DEFAULT_PROMOTION = {
    "model_name": "iris-xgb",
    "new_data": None,
    "register": ["test_roc_auc >= 0.90"],
    "staging": ["test_roc_auc >= 0.90"],
    "production": [
        "test_roc_auc >= 0.95",
        "test_roc_auc >= champion.test_roc_auc + 0.002",
        "model_size_mb <= 50",
        "training_duration_s <= 600",
    ],
}
GOOD = {"test_roc_auc": 0.97, "model_size_mb": 12.0, "training_duration_s": 30.0}
KNOWN = [
    "test_accuracy",
    "test_f1",
    "test_roc_auc",
    "val_roc_auc",
    "model_size_mb",
    "training_duration_s",
    "predict_latency_ms",
]


@pytest.fixture
def gates() -> dict:
    return parse_gates(DEFAULT_PROMOTION, source=SOURCE)


# --- single rules -------------------------------------------------------------------


def test_rule_holds_with_values() -> None:
    outcome = parse_rule("test_roc_auc >= champion.test_roc_auc + 0.002").evaluate(
        {"test_roc_auc": 0.96}, {"test_roc_auc": 0.95}
    )
    assert outcome == RuleOutcome(
        text="test_roc_auc >= champion.test_roc_auc + 0.002",
        why=None,
        held=True,
        left=0.96,
        right=0.95 + 0.002,
        reason=None,
        skipped_no_champion=False,
    )


def test_rule_fails_when_champion_is_better() -> None:
    outcome = parse_rule("test_roc_auc >= champion.test_roc_auc + 0.002").evaluate(
        {"test_roc_auc": 0.951}, {"test_roc_auc": 0.95}
    )
    assert not outcome.held
    assert outcome.reason is None
    assert (outcome.left, outcome.right) == (0.951, 0.95 + 0.002)


def test_no_champion_passes_and_says_so() -> None:
    rule = parse_rule("test_roc_auc >= champion.test_roc_auc + 0.002", why="beat prod")
    outcome = rule.evaluate({"test_roc_auc": 0.5}, None)
    assert outcome.held
    assert outcome.skipped_no_champion
    assert outcome.reason == NO_CHAMPION == "no champion: rule reads champion.* and passes"
    assert outcome.why == "beat prod"
    assert outcome.left == 0.5  # the candidate side is still shown
    assert outcome.right is None


def test_rule_without_champion_names_is_compared_even_without_champion() -> None:
    outcome = parse_rule("a > 1").evaluate({"a": 0.5}, None)
    assert not outcome.held
    assert not outcome.skipped_no_champion


@pytest.mark.parametrize(
    ("text", "candidate", "champion", "reason"),
    [
        ("x > 1", {}, None, "metric 'x' missing"),
        ("x + y > 1", {}, None, "metrics 'x', 'y' missing"),
        ("x > champion.x", {}, None, "metric 'x' missing"),  # missing candidate beats no champion
        ("x > champion.y", {"x": 1.0}, {"x": 1.0}, "champion metric 'y' missing"),
        ("x > 1", {"x": float("nan")}, None, "metric 'x' is NaN"),
        ("x > champion.x", {"x": 1.0}, {"x": float("nan")}, "champion metric 'x' is NaN"),
        ("x > 1", {"x": "0.9"}, None, "metric 'x' is not a number: '0.9'"),
        ("x > 1", {"x": None}, None, "metric 'x' is not a number: None"),
        ("x > 1", {"x": True}, None, "metric 'x' is not a number: True"),
        ("x / y > 1", {"x": 1.0, "y": 0.0}, None, "division by zero in (x / y)"),
        ("1 < x / (y - y)", {"x": 1.0, "y": 2.0}, None, "division by zero in (x / (y - y))"),
        ("x - x > 1", {"x": math.inf}, None, "(x - x) is NaN"),
    ],
)
def test_rule_fails_with_reason(
    text: str, candidate: dict, champion: dict | None, reason: str
) -> None:
    outcome = parse_rule(text).evaluate(candidate, champion)
    assert not outcome.held
    assert not outcome.skipped_no_champion
    assert outcome.reason == reason


def test_division_by_zero_on_right_keeps_left_value() -> None:
    outcome = parse_rule("a > 1 / b").evaluate({"a": 2.0, "b": 0.0}, None)
    assert not outcome.held
    assert outcome.left == 2.0
    assert outcome.right is None
    assert outcome.reason == "division by zero in (1 / b)"


def test_numpy_and_int_values_are_accepted() -> None:
    numpy = pytest.importorskip("numpy")
    outcome = parse_rule("a + b >= 3").evaluate({"a": numpy.float32(1.5), "b": 2}, None)
    assert outcome.held
    assert type(outcome.left) is float
    assert outcome.left == 3.5


def test_infinite_values_compare() -> None:
    assert parse_rule("a > 1e300").evaluate({"a": math.inf}, None).held


# --- gates and the decision --------------------------------------------------------


def test_design_default_no_champion_reaches_production(gates: dict) -> None:
    decision = evaluate_rules(gates, GOOD, None)
    assert decision.target_stage == "production"
    assert decision.register
    assert not decision.has_champion
    assert list(decision.gates) == list(GATES)
    production = decision.gates["production"]
    assert production.passed
    assert [o.skipped_no_champion for o in production.outcomes] == [False, True, False, False]


def test_design_default_champion_blocks_production(gates: dict) -> None:
    decision = evaluate_rules(gates, GOOD, {"test_roc_auc": 0.969})
    assert decision.has_champion
    assert decision.target_stage == "staging"
    assert decision.register
    assert not decision.gates["production"].passed
    assert [o.held for o in decision.gates["production"].outcomes] == [True, False, True, True]


def test_design_default_champion_beaten(gates: dict) -> None:
    decision = evaluate_rules(gates, GOOD, {"test_roc_auc": 0.95})
    assert decision.target_stage == "production"


def test_design_default_too_big_stays_in_staging(gates: dict) -> None:
    decision = evaluate_rules(gates, {**GOOD, "model_size_mb": 51.0}, None)
    assert decision.target_stage == "staging"


def test_gates_are_cumulative() -> None:
    gates = {
        "register": [parse_rule("a >= 1")],
        "staging": [parse_rule("b >= 1")],
        "production": [parse_rule("c >= 1")],
    }
    # register fails: nothing else counts, even though staging and production hold
    decision = evaluate_rules(gates, {"a": 0.0, "b": 1.0, "c": 1.0}, None)
    assert (decision.register, decision.target_stage) == (False, "none")
    assert decision.gates["staging"].passed and decision.gates["production"].passed
    assert not decision.reached("staging")
    # staging fails: registered but not staged, production does not count
    decision = evaluate_rules(gates, {"a": 1.0, "b": 0.0, "c": 1.0}, None)
    assert (decision.register, decision.target_stage) == (True, "none")
    assert not decision.reached("production")
    decision = evaluate_rules(gates, {"a": 1.0, "b": 1.0, "c": 0.0}, None)
    assert (decision.register, decision.target_stage) == (True, "staging")
    decision = evaluate_rules(gates, {"a": 1.0, "b": 1.0, "c": 1.0}, None)
    assert (decision.register, decision.target_stage) == (True, "production")


def test_empty_or_missing_gates_pass() -> None:
    assert GateResult("staging", ()).passed
    decision = evaluate_rules({}, {}, None)
    assert decision.target_stage == "production"
    assert decision.register
    assert all(result.outcomes == () for result in decision.gates.values())
    decision = evaluate_rules({"production": [parse_rule("a > 1")]}, {"a": 0.0}, None)
    assert decision.target_stage == "staging"


def test_unknown_gate_is_an_error() -> None:
    with pytest.raises(
        RuleError, match="unknown gate 'prod'; gates: register, staging, production"
    ):
        evaluate_rules({"prod": []}, {}, None)


def test_summary_names_failed_rules(gates: dict) -> None:
    decision = evaluate_rules(gates, {**GOOD, "model_size_mb": 51.0}, None)
    assert decision.summary() == (
        "target stage: staging; register: passed, staging: passed, "
        "production: failed (model_size_mb <= 50)"
    )


# --- metric names ---------------------------------------------------------------------


def test_known_names_pass_the_check(gates: dict) -> None:
    check_rule_names(gates, KNOWN, source=SOURCE)
    assert unknown_rule_names(gates, KNOWN, source=SOURCE) == []


def test_unknown_name_is_reported_with_known_names() -> None:
    gates = parse_gates({"production": ["test_roc_auc >= 0.9", "test_auc >= 0.9"]}, source=SOURCE)
    with pytest.raises(RuleError) as caught:
        check_rule_names(gates, KNOWN, source=SOURCE)
    known = ", ".join(sorted(KNOWN))
    assert str(caught.value) == (
        f"unknown metric 'test_auc' in {SOURCE}: production[1]; "
        f"did you mean 'test_roc_auc'? known: {known}"
    )


def test_all_unknown_names_are_listed_in_order() -> None:
    gates = parse_gates(
        {
            "register": ["nope > 1"],
            "production": ["test_f1 >= champion.test_f2", "zzz + zzz > champion.zzz"],
        },
        source=SOURCE,
    )
    problems = unknown_rule_names(gates, KNOWN, source=SOURCE)
    assert [p.split(";")[0] for p in problems] == [
        f"unknown metric 'nope' in {SOURCE}: register[0]",
        f"unknown metric 'champion.test_f2' in {SOURCE}: production[0]",
        f"unknown metric 'zzz' in {SOURCE}: production[1]",
        f"unknown metric 'champion.zzz' in {SOURCE}: production[1]",
    ]
    assert "did you mean 'test_f1'?" in problems[1]
    with pytest.raises(RuleError, match="unknown metric 'nope'"):
        check_rule_names(gates, KNOWN, source=SOURCE)
    assert unknown_rule_names(gates, [], source=SOURCE)[0].endswith("known: (none)")


# --- reports ----------------------------------------------------------------------------


def test_to_dict_is_json_safe_with_stable_keys(gates: dict) -> None:
    decision = evaluate_rules(gates, GOOD, None)
    data = json.loads(json.dumps(decision.to_dict(), allow_nan=False))
    assert list(data) == ["target_stage", "register", "has_champion", "gates"]
    assert data["target_stage"] == "production"
    assert data["register"] is True
    assert data["has_champion"] is False
    assert list(data["gates"]) == ["register", "staging", "production"]
    production = data["gates"]["production"]
    assert (production["passed"], production["reached"]) == (True, True)
    assert production["rules"][1] == {
        "rule": "test_roc_auc >= champion.test_roc_auc + 0.002",
        "why": None,
        "held": True,
        "left": 0.97,
        "right": None,
        "reason": NO_CHAMPION,
        "skipped_no_champion": True,
    }


def test_to_dict_turns_non_finite_values_into_null() -> None:
    gates = {"register": [parse_rule("x - x > 1"), parse_rule("x > 1")]}
    data = evaluate_rules(gates, {"x": math.inf}, None).to_dict()
    json.dumps(data, allow_nan=False)
    rules = data["gates"]["register"]["rules"]
    assert rules[0]["left"] is None and rules[0]["reason"] == "(x - x) is NaN"
    assert rules[1]["left"] is None and rules[1]["held"] is True
    assert data["gates"]["staging"] == {"passed": True, "reached": False, "rules": []}


def test_markdown_report_without_champion(gates: dict) -> None:
    markdown = evaluate_rules(gates, GOOD, None).to_markdown("iris-xgb version 3")
    lines = markdown.splitlines()
    assert lines[0] == "## iris-xgb version 3"
    assert "**Target stage: production** (registered: yes)" in lines
    assert "No champion: rules that read `champion.*` passed without a comparison." in lines
    assert lines.count("| Rule | Value | Threshold | Result |") == 3
    assert "### register: passed" in lines
    assert "| `test_roc_auc >= 0.90` | 0.97 | 0.9 | held |" in lines
    assert (
        "| `test_roc_auc >= champion.test_roc_auc + 0.002` | 0.97 | n/a | passed: no champion |"
        in lines
    )
    assert "| `model_size_mb <= 50` | 12 | 50 | held |" in lines


def test_markdown_report_with_failures(gates: dict) -> None:
    decision = evaluate_rules(
        gates, {**GOOD, "test_roc_auc": 0.85}, {"test_roc_auc": 0.96, "model_size_mb": 1.0}
    )
    markdown = decision.to_markdown("m")
    assert "No champion" not in markdown
    assert "**Target stage: none** (registered: no)" in markdown
    assert "### register: failed\n" in markdown
    assert "### staging: failed (not reached: register failed)" in markdown
    assert "### production: failed (not reached: register failed)" in markdown
    assert "| `test_roc_auc >= 0.90` | 0.85 | 0.9 | failed |" in markdown
    assert "| `test_roc_auc >= champion.test_roc_auc + 0.002` | 0.85 | 0.962 | failed |" in markdown


def test_markdown_shows_why_reasons_empty_gates_and_escapes_pipes() -> None:
    gates = parse_gates(
        {"register": [{"rule": "a / b >\n 1", "why": "ratio | sanity\ncheck"}]}, source=SOURCE
    )
    markdown = evaluate_rules(gates, {"a": 1.0, "b": 0.0}, None).to_markdown("t")
    assert (
        "| `a / b > 1` (ratio \\| sanity check) | n/a | 1 | failed: division by zero in (a / b) |"
        in markdown
    )
    assert markdown.count("No rules: the gate passes.") == 2


def test_decision_is_frozen() -> None:
    decision = evaluate_rules({}, {}, None)
    assert isinstance(decision, Decision)
    with pytest.raises(AttributeError):
        decision.has_champion = True  # type: ignore[misc]
