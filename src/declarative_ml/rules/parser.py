"""Parse a promotion rule into a small expression tree, without ``eval``.

Grammar (DESIGN.md, "Promotion rules")::

    rule    := expr CMP expr END          CMP is one of < <= > >= == !=
    expr    := term (('+' | '-') term)*   left-associative
    term    := unary (('*' | '/') unary)* left-associative, binds tighter than + -
    unary   := '-' unary | primary
    primary := NUMBER | NAME | 'champion' '.' NAME | '(' expr ')'

The text is split by a hand-written tokenizer and read by a recursive-descent
parser; user text never reaches ``eval``, ``exec`` or ``ast``. Numbers are
converted with ``float()`` only after the tokenizer has matched them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from declarative_ml.errors import RuleError
from declarative_ml.rules.decision import GATES
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
from declarative_ml.rules.noise import check_confidence, read_confidence
from declarative_ml.rules.tokens import (
    MAX_TOKENS,
    Token,
    describe,
    fail,
    one_line,
    quote,
    tokenize,
)

MAX_NESTING = 32
_OPERAND = "a number, metric name or '('"
_CMP_LIST = "a comparison (" + ", ".join(COMPARISONS) + ")"
_SPEC_KEYS = ("rule", "why", "confidence")


class _Parser:
    """Recursive-descent reader over a token list (one instance per rule)."""

    def __init__(self, text: str, where: str) -> None:
        self.text = text
        self.where = where
        self.tokens = tokenize(text, where=where)
        self.pos = 0
        self.nesting = 0

    @property
    def current(self) -> Token:
        return self.tokens[self.pos]

    def advance(self) -> Token:
        token = self.tokens[self.pos]
        self.pos += 1
        return token

    def error(self, expected: str, token: Token | None = None, hint: str = "") -> RuleError:
        token = token or self.current
        message = f"expected {expected} but found {describe(token)}{hint}"
        return fail(self.text, self.where, token.column, message)

    def rule(self) -> tuple[Expr, str, Expr]:
        if self.current.kind == "end":
            raise fail(self.text, self.where, 1, "the rule is empty; expected a comparison")
        left = self.expr()
        if self.current.kind != "cmp":
            raise self.error(f"an operator or {_CMP_LIST}", hint=self.after_operand_hint())
        op = self.advance().text
        right = self.expr()
        if self.current.kind == "cmp":
            hint = " (a rule is one comparison; chained comparisons are not allowed)"
            raise self.error("an operator or end of rule", hint=hint)
        if self.current.kind != "end":
            raise self.error("an operator or end of rule", hint=self.after_operand_hint())
        return left, op, right

    def after_operand_hint(self) -> str:
        token = self.current
        if token.kind == "(":
            return " (function calls are not allowed)"
        if token.kind == ".":
            return " (only champion.NAME may use a dot)"
        if token.kind == "name" and token.text in ("and", "or", "not"):
            return " (a rule is one comparison; write each condition as its own rule)"
        return ""

    def expr(self) -> Expr:
        node = self.term()
        while self.current.kind == "op" and self.current.text in "+-":
            op = self.advance().text
            node = BinaryOp(op, node, self.term())
        return node

    def term(self) -> Expr:
        node = self.unary()
        while self.current.kind == "op" and self.current.text in "*/":
            op = self.advance().text
            node = BinaryOp(op, node, self.unary())
        return node

    def unary(self) -> Expr:
        # Iterative, so a run of minus signs costs no recursion depth.
        minuses = 0
        while self.current.kind == "op" and self.current.text == "-":
            self.advance()
            minuses += 1
        node = self.primary()
        for _ in range(minuses):
            node = Negate(node)
        return node

    def primary(self) -> Expr:
        token = self.current
        if token.kind == "number":
            self.advance()
            value = float(token.text)  # safe: the tokenizer matched a plain decimal literal
            if value == float("inf"):
                raise fail(self.text, self.where, token.column, "number is too large")
            return Number(value)
        if token.kind == "name" and token.text == "champion":
            self.advance()
            if self.current.kind != ".":
                raise self.error("'.' after 'champion' (write champion.METRIC)")
            self.advance()
            if self.current.kind != "name":
                raise self.error("a metric name after 'champion.'")
            return ChampionMetric(self.advance().text)
        if token.kind == "name":
            self.advance()
            return Metric(token.text)
        if token.kind == "(":
            if self.nesting >= MAX_NESTING:
                message = f"parentheses nested too deeply (more than {MAX_NESTING} levels)"
                raise fail(self.text, self.where, token.column, message)
            self.advance()
            self.nesting += 1
            node = self.expr()
            self.nesting -= 1
            if self.current.kind != ")":
                raise self.error("an operator or ')'", hint=self.after_operand_hint())
            self.advance()
            return node
        raise self.error(_OPERAND)


def parse_rule(
    text: str, *, where: str = "rule", why: str | None = None, confidence: float | None = None
) -> Rule:
    """Parse one rule such as ``test_roc_auc >= champion.test_roc_auc + 0.002``.

    Args:
        text: The rule as written by the user.
        where: Where the rule came from (e.g. ``"conf/promotion/default.yaml:
            production[1]"``); every error message starts with it.
        why: The rule's stated reason, kept on the returned rule.
        confidence: The rule's confidence (already checked to be in range), kept on
            the returned rule; the rule must be one the paired bootstrap can decide.

    Returns:
        The parsed rule.

    Raises:
        RuleError: A one-line message naming ``where``, the 1-based column and
            what was expected, when ``text`` is not a rule of the grammar.
    """
    if not isinstance(text, str):
        raise RuleError(f"{where}: expected a rule as text but found {type(text).__name__}")
    left, op, right = _Parser(text, where).rule()
    _check_canonical_size(text, where, left, right)
    rule = Rule(text=text, left=left, op=op, right=right, why=why, confidence=confidence)
    check_confidence(rule, where)
    return rule


def _canonical_size(expr: Expr) -> tuple[int, int]:
    """``(parenthesis depth, token count)`` of ``expr.render()``, without rendering it."""
    if isinstance(expr, BinaryOp):
        left_depth, left_tokens = _canonical_size(expr.left)
        right_depth, right_tokens = _canonical_size(expr.right)
        return 1 + max(left_depth, right_depth), left_tokens + right_tokens + 3
    if isinstance(expr, Negate):
        depth, tokens = _canonical_size(expr.operand)
        return depth + 1, tokens + 3
    return 0, 3 if isinstance(expr, ChampionMetric) else 1


def _check_canonical_size(text: str, where: str, left: Expr, right: Expr) -> None:
    """Keep ``parse_rule(rule.render()) == rule``: the fully parenthesised form of an
    accepted rule must itself stay within ``MAX_NESTING`` and ``MAX_TOKENS``."""
    (left_depth, left_tokens), (right_depth, right_tokens) = map(_canonical_size, (left, right))
    if max(left_depth, right_depth) > MAX_NESTING:
        message = f"expression nested too deeply (more than {MAX_NESTING} levels of operators)"
        raise fail(text, where, 1, message)
    if left_tokens + right_tokens + 1 > MAX_TOKENS:
        message = f"rule is too long (more than {MAX_TOKENS} tokens once parenthesised)"
        raise fail(text, where, 1, message)


def parse_rule_spec(item: str | Mapping[str, Any], *, where: str) -> Rule:
    """Parse a rule given as text or as a mapping ``{rule: "...", why: "...",
    confidence: 0.95}``.

    Args:
        item: The rule text, or a mapping with key ``rule`` (required), ``why``
            (optional text or null) and ``confidence`` (optional: a number between
            0.5 and 1, or null).
        where: Where the item came from, used in error messages.

    Returns:
        The parsed rule, carrying ``why`` and ``confidence`` when given.

    Raises:
        RuleError: On any other shape or key, when the rule does not parse, or when
            it carries ``confidence`` but does not compare the candidate with the
            champion on a metric scored on rows.
    """
    if isinstance(item, str):
        return parse_rule(item, where=where)
    allowed = "allowed keys: rule, why, confidence"
    if not isinstance(item, Mapping):
        raise RuleError(
            f"{where}: expected a rule as text or a mapping {{rule, why, confidence}} "
            f"but found {type(item).__name__}; {allowed}"
        )
    unknown = sorted(str(key) for key in item if key not in _SPEC_KEYS)
    if unknown:
        raise RuleError(f"{where}: unknown key {', '.join(map(quote, unknown))}; {allowed}")
    if "rule" not in item:
        raise RuleError(f"{where}: missing key 'rule'; {allowed}")
    text, why = item["rule"], item.get("why")
    if not isinstance(text, str):
        raise RuleError(f"{where}.rule: expected text but found {type(text).__name__}")
    if why is not None and not isinstance(why, str):
        raise RuleError(f"{where}.why: expected text but found {type(why).__name__}")
    confidence = read_confidence(item.get("confidence"), where)
    return parse_rule(text, where=where, why=why, confidence=confidence)


def parse_gates(promotion: Mapping[str, Any], *, source: str) -> dict[str, list[Rule]]:
    """Read the rule lists of the three gates from a promotion config.

    Args:
        promotion: The ``promotion`` mapping (a dict or an OmegaConf DictConfig);
            keys other than the gates (``model_name``, ``new_data``) are ignored.
        source: Where the mapping came from (e.g. ``"conf/promotion/default.yaml"``);
            rules are named ``"{source}: {gate}[{index}]"`` (0-based) in errors.

    Returns:
        ``{"register": [...], "staging": [...], "production": [...]}`` in that
        order; a missing or null gate is an empty list.

    Raises:
        RuleError: When ``promotion`` is not a mapping, a gate is not a list, or
            a rule does not parse.
    """
    if not isinstance(promotion, Mapping):
        raise RuleError(
            f"{source}: expected a mapping with keys {', '.join(GATES)} "
            f"but found {type(promotion).__name__}"
        )
    gates: dict[str, list[Rule]] = {}
    for gate in GATES:
        items = promotion.get(gate)
        if items is None:
            gates[gate] = []
            continue
        if isinstance(items, str | bytes) or not isinstance(items, Sequence):
            hint = ""
            if isinstance(items, str):
                hint = f" (write each rule as a list item: '- {one_line(items)}')"
            raise RuleError(
                f"{source}: {gate}: expected a list of rules but found {type(items).__name__}{hint}"
            )
        gates[gate] = [
            parse_rule_spec(item, where=f"{source}: {gate}[{index}]")
            for index, item in enumerate(items)
        ]
    return gates
