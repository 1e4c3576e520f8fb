"""Tests for the promotion-rule tokenizer and parser (declarative_ml.rules.parser)."""

from __future__ import annotations

import math
import operator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from declarative_ml.errors import RuleError
from declarative_ml.rules import (
    COMPARISONS,
    BinaryOp,
    ChampionMetric,
    Metric,
    Negate,
    Number,
    Rule,
    parse_gates,
    parse_rule,
    parse_rule_spec,
)

WHERE = "conf/promotion/default.yaml: production[1]"
DESIGN_RULES = [
    "test_roc_auc >= 0.90",
    "test_roc_auc >= 0.95",
    "test_roc_auc >= champion.test_roc_auc + 0.002",
    "model_size_mb <= 50",
    "training_duration_s <= 600",
]


def value(text: str, **metrics: float) -> float | None:
    """Parse ``text`` as the left side of a rule and evaluate it."""
    outcome = parse_rule(f"{text} == 0").evaluate(metrics, None)
    return outcome.left


# --- structure ---------------------------------------------------------------


@pytest.mark.parametrize("text", DESIGN_RULES)
def test_design_examples_parse(text: str) -> None:
    rule = parse_rule(text)
    assert rule.text == text
    assert rule.op in ("<=", ">=")
    assert rule.why is None


def test_design_champion_rule_tree() -> None:
    rule = parse_rule("test_roc_auc >= champion.test_roc_auc + 0.002")
    assert rule.left == Metric("test_roc_auc")
    assert rule.op == ">="
    assert rule.right == BinaryOp("+", ChampionMetric("test_roc_auc"), Number(0.002))
    assert rule.metric_names() == {"test_roc_auc"}
    assert rule.champion_names() == {"test_roc_auc"}


@pytest.mark.parametrize("op", list(COMPARISONS))
def test_every_comparison_operator(op: str) -> None:
    rule = parse_rule(f"a {op} 1")
    assert rule.op == op
    expected = {
        "<": operator.lt,
        "<=": operator.le,
        ">": operator.gt,
        ">=": operator.ge,
        "==": operator.eq,
        "!=": operator.ne,
    }[op]
    for a in (0.0, 1.0, 2.0):
        assert rule.evaluate({"a": a}, None).held is expected(a, 1.0)


def test_subtraction_and_division_are_left_associative() -> None:
    assert parse_rule("a - b - c > 0").left == BinaryOp(
        "-", BinaryOp("-", Metric("a"), Metric("b")), Metric("c")
    )
    assert value("10 - 4 - 3") == 3.0
    assert value("64 / 4 / 2") == 8.0


def test_multiplication_binds_tighter_than_addition() -> None:
    assert parse_rule("a + b * c > 0").left == BinaryOp(
        "+", Metric("a"), BinaryOp("*", Metric("b"), Metric("c"))
    )
    assert value("1 + 2 * 3") == 7.0
    assert value("(1 + 2) * 3") == 9.0
    assert value("8 - 6 / 2") == 5.0


def test_unary_minus() -> None:
    assert parse_rule("-a < 0").left == Negate(Metric("a"))
    assert value("-2 * 3") == -6.0
    assert value("- -2") == 2.0
    assert value("1 - -2") == 3.0
    assert value("-(1 + 2)") == -3.0
    assert value("--a", a=4.0) == 4.0


@pytest.mark.parametrize(
    ("text", "expected"),
    [("1e-3", 0.001), ("2.5E+2", 250.0), ("0.5", 0.5), (".5", 0.5), ("3.", 3.0), ("600", 600.0)],
)
def test_number_forms(text: str, expected: float) -> None:
    assert parse_rule(f"a < {text}").right == Number(expected)


def test_whitespace_and_newlines_are_ignored() -> None:
    assert parse_rule("a>=b") == parse_rule(" a\n>=\tb ")


def test_rule_equality_ignores_text_but_not_why() -> None:
    assert parse_rule("a>1") == parse_rule("a > 1")
    assert parse_rule("a > 1").text == "a > 1"
    assert parse_rule("a > 1", why="x") != parse_rule("a > 1")


def test_render_is_fully_parenthesised() -> None:
    rule = parse_rule("a + b * -c >= champion.a - 1 - 2.5")
    assert str(rule) == "(a + (b * (-c))) >= ((champion.a - 1) - 2.5)"
    assert rule.render() == str(rule)


def test_names_in_reading_order_without_repeats() -> None:
    rule = parse_rule("b + a + champion.a >= b * champion.c")
    assert rule.names() == [(False, "b"), (False, "a"), (True, "a"), (True, "c")]
    assert rule.metric_names() == {"a", "b"}
    assert rule.champion_names() == {"a", "c"}


# --- errors --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "column", "fragment"),
    [
        ("test_roc_auc >= > 0.9", 17, "expected a number, metric name or '(' but found '>'"),
        ("", 1, "the rule is empty"),
        ("   ", 1, "the rule is empty"),
        ("a", 2, "but found end of rule"),
        ("a >", 4, "expected a number, metric name or '(' but found end of rule"),
        ("a < b < c", 7, "chained comparisons are not allowed"),
        ("a > 1 and b > 2", 7, "write each condition as its own rule"),
        ("a > 1 or b", 7, "write each condition as its own rule"),
        ("log(a) > 1", 4, "function calls are not allowed"),
        ("a.b > 1", 2, "only champion.NAME may use a dot"),
        ("champion > 1", 10, "expected '.' after 'champion'"),
        ("champion. > 1", 11, "expected a metric name after 'champion.'"),
        ("champion.a.b > 1", 11, "only champion.NAME may use a dot"),
        ("a = 1", 3, "did you mean '=='?"),
        ("a ! 1", 3, "did you mean '!='?"),
        ("a > 1 && b", 7, "unexpected character '&'"),
        ("a > 'x'", 5, "strings are not allowed"),
        ('a > "x"', 5, "strings are not allowed"),
        ("a > 1e", 5, "malformed number '1e'"),
        ("a > 1.2.3", 5, "malformed number '1.2.3'"),
        ("a > 1_000", 5, "malformed number '1_000'"),
        ("a > 2x", 5, "malformed number '2x'"),
        ("a > 1e999", 5, "number is too large"),
        ("a ** 2 > 1", 4, "expected a number, metric name or '(' but found '*'"),
        ("+a > 1", 1, "expected a number, metric name or '(' but found '+'"),
        ("(a > 1", 4, "expected an operator or ')' but found '>'"),
        ("a > 1)", 6, "expected an operator or end of rule but found ')'"),
        ("a > 1 2", 7, "expected an operator or end of rule but found '2'"),
        ("a > b[0]", 6, "unexpected character '['"),
        ("a > ñ", 5, "unexpected character 'ñ'"),
        ("a >\n?", 5, "unexpected character '?'"),
        ("a > \x00", 5, "unexpected character U+0000"),
    ],
)
def test_syntax_errors_name_where_column_and_expectation(
    text: str, column: int, fragment: str
) -> None:
    with pytest.raises(RuleError) as caught:
        parse_rule(text, where=WHERE)
    message = str(caught.value)
    assert message.startswith(f"{WHERE}, column {column}: ")
    assert fragment in message
    assert len(message.splitlines()) == 1


def test_error_message_matches_documented_shape() -> None:
    with pytest.raises(RuleError) as caught:
        parse_rule("test_roc_auc >= > 0.9", where=WHERE)
    assert str(caught.value) == (
        f"{WHERE}, column 17: expected a number, metric name or '(' but found '>'"
        "  in 'test_roc_auc >= > 0.9'"
    )


def test_rule_error_is_a_value_error() -> None:
    with pytest.raises(ValueError):
        parse_rule("a >")


def test_too_deep_or_too_long_rules_are_errors_not_crashes() -> None:
    with pytest.raises(RuleError, match="nested too deeply"):
        parse_rule("(" * 40 + "a" + ")" * 40 + " > 1")
    with pytest.raises(RuleError, match="too long"):
        parse_rule(" + ".join(["a"] * 150) + " > 1")
    assert parse_rule("(" * 30 + "a" + ")" * 30 + " > 1").left == Metric("a")


def test_non_text_rule_is_an_error() -> None:
    with pytest.raises(RuleError, match="expected a rule as text but found int"):
        parse_rule(3, where=WHERE)  # type: ignore[arg-type]


# --- {rule, why} form and gates ---------------------------------------------------


def test_rule_spec_accepts_text_and_mapping() -> None:
    assert parse_rule_spec("a > 1", where=WHERE) == parse_rule("a > 1")
    rule = parse_rule_spec({"rule": "a > 1", "why": "beats baseline"}, where=WHERE)
    assert rule.why == "beats baseline"
    assert rule.text == "a > 1"
    assert parse_rule_spec({"rule": "a > 1"}, where=WHERE).why is None
    assert parse_rule_spec({"rule": "a > 1", "why": None}, where=WHERE).why is None


@pytest.mark.parametrize(
    ("item", "fragment"),
    [
        (
            {"rule": "a > 1", "reason": "x"},
            "unknown key 'reason'; allowed keys: rule, why, confidence",
        ),
        ({"why": "x"}, "missing key 'rule'; allowed keys: rule, why, confidence"),
        ({"rule": 3}, f"{WHERE}.rule: expected text but found int"),
        ({"rule": "a > 1", "why": 2}, f"{WHERE}.why: expected text but found int"),
        (3.5, "expected a rule as text or a mapping {rule, why, confidence} but found float"),
        (["a > 1"], "but found list; allowed keys: rule, why, confidence"),
        (None, "but found NoneType"),
    ],
)
def test_rule_spec_rejects_other_shapes(item: object, fragment: str) -> None:
    with pytest.raises(RuleError) as caught:
        parse_rule_spec(item, where=WHERE)  # type: ignore[arg-type]
    assert str(caught.value).startswith(WHERE)
    assert fragment in str(caught.value)


def test_rule_spec_syntax_error_names_where() -> None:
    with pytest.raises(RuleError, match=r"^conf/p.yaml: staging\[0\], column 4: "):
        parse_rule_spec({"rule": "a >> 1"}, where="conf/p.yaml: staging[0]")


def test_parse_gates_reads_the_three_gates_in_order() -> None:
    promotion = {
        "model_name": "iris-xgb",
        "new_data": None,
        "register": ["test_roc_auc >= 0.90"],
        "staging": None,
        "production": [
            "test_roc_auc >= 0.95",
            {"rule": "test_roc_auc >= champion.test_roc_auc + 0.002", "why": "must beat"},
        ],
    }
    gates = parse_gates(promotion, source="conf/promotion/default.yaml")
    assert list(gates) == ["register", "staging", "production"]
    assert gates["register"] == [parse_rule("test_roc_auc >= 0.90")]
    assert gates["staging"] == []
    assert [rule.why for rule in gates["production"]] == [None, "must beat"]
    assert parse_gates({}, source="x") == {"register": [], "staging": [], "production": []}


def test_parse_gates_accepts_omegaconf_containers() -> None:
    omegaconf = pytest.importorskip("omegaconf")
    cfg = omegaconf.OmegaConf.create(
        {"register": ["a > 1", {"rule": "b < 2", "why": "small"}], "production": None}
    )
    gates = parse_gates(cfg, source="conf/promotion/x.yaml")
    assert [str(rule) for rule in gates["register"]] == ["a > 1", "b < 2"]
    assert gates["register"][1].why == "small"


def test_parse_gates_errors_name_source_gate_and_index() -> None:
    with pytest.raises(RuleError, match=r"^conf/p.yaml: production\[1\], column 5: "):
        parse_gates({"production": ["a > 1", "a > > 1"]}, source="conf/p.yaml")
    with pytest.raises(RuleError, match="conf/p.yaml: staging: expected a list of rules but found"):
        parse_gates({"staging": "a > 1"}, source="conf/p.yaml")
    with pytest.raises(RuleError, match="found dict"):
        parse_gates({"register": {"rule": "a > 1"}}, source="conf/p.yaml")
    with pytest.raises(RuleError, match="expected a mapping with keys register, staging"):
        parse_gates(["a > 1"], source="conf/p.yaml")  # type: ignore[arg-type]


# --- properties -------------------------------------------------------------------

NAMES = ["a", "b", "test_roc_auc", "x_1"]
PRECEDENCE = {"+": 1, "-": 1, "*": 2, "/": 2}
PY_COMPARE = {
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
    "==": operator.eq,
    "!=": operator.ne,
}

leaves = st.one_of(
    st.tuples(st.just("num"), st.floats(min_value=0, max_value=1e6)),
    st.tuples(st.just("num"), st.integers(min_value=0, max_value=10**6).map(float)),
    st.tuples(st.just("metric"), st.sampled_from(NAMES)),
    st.tuples(st.just("champion"), st.sampled_from(NAMES)),
)
trees = st.recursive(
    leaves,
    lambda children: st.one_of(
        st.tuples(st.just("neg"), children),
        st.tuples(st.just("bin"), st.sampled_from("+-*/"), children, children),
    ),
    max_leaves=10,
)
metric_values = st.fixed_dictionaries(
    {name: st.floats(min_value=-1e6, max_value=1e6) for name in NAMES}
)


def compute(tree: tuple, candidate: dict[str, float], champion: dict[str, float]) -> float:
    """The expected value, computed directly from the tree in Python."""
    kind = tree[0]
    if kind == "num":
        return tree[1]
    if kind == "metric":
        return candidate[tree[1]]
    if kind == "champion":
        return champion[tree[1]]
    if kind == "neg":
        return -compute(tree[1], candidate, champion)
    left = compute(tree[2], candidate, champion)
    right = compute(tree[3], candidate, champion)
    return {"+": operator.add, "-": operator.sub, "*": operator.mul, "/": operator.truediv}[
        tree[1]
    ](left, right)


def precedence(tree: tuple) -> int:
    return {"neg": 3, "bin": PRECEDENCE.get(tree[1], 0)}.get(tree[0], 4)


def render(tree: tuple, draw: st.DrawFn) -> str:
    """Render with minimal parentheses, plus random redundant ones and spacing."""
    kind = tree[0]
    if kind == "num":
        text = str(int(tree[1])) if tree[1].is_integer() and tree[1] < 1e15 else repr(tree[1])
    elif kind == "metric":
        text = tree[1]
    elif kind == "champion":
        text = f"champion.{tree[1]}"
    elif kind == "neg":
        inner = render(tree[1], draw)
        text = "-" + (f"({inner})" if precedence(tree[1]) < 3 else inner)
    else:
        op, left, right = tree[1], tree[2], tree[3]
        left_text, right_text = render(left, draw), render(right, draw)
        if precedence(left) < PRECEDENCE[op]:
            left_text = f"({left_text})"
        if precedence(right) <= PRECEDENCE[op]:  # left-associative: a - (b - c) keeps its parens
            right_text = f"({right_text})"
        space = draw(st.sampled_from(["", " ", "  "]))
        text = f"{left_text}{space}{op}{space}{right_text}"
    if draw(st.integers(0, 9)) == 0:
        text = f"( {text} )"
    return text


@st.composite
def rendered_trees(draw: st.DrawFn) -> tuple[tuple, str]:
    tree = draw(trees)
    return tree, render(tree, draw)


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(
    case=rendered_trees(),
    candidate=metric_values,
    champion=metric_values,
    op=st.sampled_from(list(PY_COMPARE)),
    threshold=st.floats(min_value=-1e6, max_value=1e6),
    tree_on_left=st.booleans(),
)
def test_property_parse_and_evaluate_matches_python(
    case: tuple[tuple, str],
    candidate: dict[str, float],
    champion: dict[str, float],
    op: str,
    threshold: float,
    tree_on_left: bool,
) -> None:
    tree, text = case
    rule_text = f"{text} {op} {threshold!r}" if tree_on_left else f"{threshold!r} {op} {text}"
    outcome = parse_rule(rule_text).evaluate(candidate, champion)
    try:
        expected = compute(tree, candidate, champion)
    except ZeroDivisionError:
        assert not outcome.held
        assert outcome.reason is not None
        assert outcome.reason.startswith("division by zero")
        return
    if math.isnan(expected):
        assert not outcome.held
        assert outcome.reason is not None and "NaN" in outcome.reason
        return
    got = outcome.left if tree_on_left else outcome.right
    assert got is not None
    assert got == expected or math.isclose(got, expected, rel_tol=1e-9)
    held = (
        PY_COMPARE[op](expected, threshold) if tree_on_left else PY_COMPARE[op](threshold, expected)
    )
    assert outcome.held is held
    assert outcome.reason is None


TOKENS = [
    "a", "b_2", "test_roc_auc", "champion", ".", "champion.a", "(", ")", "+", "-", "*", "/",
    "<", "<=", ">", ">=", "==", "!=", "=", "!", "1", "0.5", "1e-3", ".5", "1e", "and", "'x'",
    "f(", "**", ",", "[", " ", "\n", "\t",
]  # fmt: skip
token_soup = st.lists(st.sampled_from(TOKENS), max_size=25).flatmap(
    lambda tokens: st.sampled_from([" ".join(tokens), "".join(tokens)])
)


@settings(max_examples=500)
@given(text=st.one_of(st.text(), token_soup))
def test_property_arbitrary_text_parses_or_raises_rule_error(text: str) -> None:
    try:
        rule = parse_rule(text, where=WHERE)
    except RuleError as error:
        message = str(error)
        assert message.startswith(f"{WHERE}, column ")
        assert len(message.splitlines()) == 1
        return
    assert isinstance(rule, Rule)
    assert rule.op in COMPARISONS


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(
    left=rendered_trees(),
    right=rendered_trees(),
    op=st.sampled_from(list(COMPARISONS)),
    soup=token_soup,
)
def test_property_render_then_reparse_is_identity(
    left: tuple[tuple, str], right: tuple[tuple, str], op: str, soup: str
) -> None:
    texts = [f"{left[1]} {op} {right[1]}", soup]
    for text in texts:
        try:
            rule = parse_rule(text)
        except RuleError:
            continue
        canonical = rule.render()
        again = parse_rule(canonical)
        assert again == rule
        assert again.render() == canonical
