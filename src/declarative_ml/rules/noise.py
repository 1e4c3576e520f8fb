"""Rules with ``confidence``: the comparison must hold beyond noise, not only in the point.

A rule such as ``test_roc_auc > champion.test_roc_auc + 0.002`` with ``confidence: 0.95``
is decided on the paired bootstrap of both models on the same rows (``Resampled``, given
by the caller): the rule holds when the one-sided bound of the tested difference at
that confidence is past the margin. Pure: arrays in, a :class:`NoiseCheck` out.

What is tested: when the rule is linear with the candidate and champion terms
opposite (``a*(M - champion.M) + k``, which covers additive margins), the difference
``M - champion.M`` against the margin ``-k/a``, so the report reads in the metric's own
units ("+0.0031, lower bound -0.0042, margin 0.002"). Otherwise (a margin by factor,
``test_rmse <= champion.test_rmse * 0.99``) the difference of the two sides against 0.
For ``>``/``>=`` the lower bound (the ``1 - confidence`` quantile of the resampled
difference) must be above the margin (``>``) or at least it (``>=``); for ``<``/``<=``
the upper bound (the ``confidence`` quantile), mirrored.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from declarative_ml.errors import RuleError
from declarative_ml.rules.report import SIDES

if TYPE_CHECKING:
    from declarative_ml.rules.nodes import Expr, Rule

#: Prefixes of metrics scored on rows neither model trained on.
ROW_PREFIXES = ("test_", "new_data_")
ORDERINGS = ("<", "<=", ">", ">=")
_FLIP = {"<": ">", "<=": ">=", ">": "<", ">=": "<="}


@dataclass(frozen=True)
class Resampled:
    """One metric of the candidate and the champion on the same rows.

    Attributes:
        metric: the metric as rules name it (``test_roc_auc``).
        candidate: the candidate's value on all the rows.
        champion: the champion's value on the same rows.
        candidate_draws: the candidate's value on each resample (a float array).
        champion_draws: the champion's value on the same resamples.
        rows: how many rows.
        rows_from: where the rows come from (``the test split``, ``new data 'x'``).
    """

    metric: str
    candidate: float
    champion: float
    candidate_draws: Any
    champion_draws: Any
    rows: int
    rows_from: str

    @property
    def resamples(self) -> int:
        """How many resamples."""
        return len(self.candidate_draws)


@dataclass(frozen=True)
class Evidence:
    """What confident rules are decided on.

    Attributes:
        draws: ``Resampled`` by metric name (``test_roc_auc``).
        plots: artifact URI of each confident rule's plot, by ``"gate[index]"``.
    """

    draws: Mapping[str, Resampled] = field(default_factory=dict)
    plots: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class NoiseCheck:
    """How a confident rule was decided.

    Attributes:
        confidence: the rule's ``confidence``.
        quantity: what was resampled, e.g. ``test_roc_auc - champion.test_roc_auc``.
        difference: its value on all the rows.
        bound: its one-sided bound at ``confidence``.
        side: ``lower`` (for ``>``, ``>=``) or ``upper`` (``<``, ``<=``).
        op: how the bound is compared with ``margin``.
        margin: what the bound must be past.
        rows: how many rows both models were scored on.
        resamples: how many resamples.
        rows_from: where the rows come from.
        plot: the artifact URI of the rule's plot, if one was drawn.
    """

    confidence: float
    quantity: str
    difference: float
    bound: float
    side: str
    op: str
    margin: float
    rows: int
    resamples: int
    rows_from: str
    plot: str | None = None

    @property
    def held(self) -> bool:
        """Whether the bound is past the margin."""
        from declarative_ml.rules.nodes import COMPARISONS

        return math.isfinite(self.bound) and COMPARISONS[self.op](self.bound, self.margin)

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe fields."""
        return {
            "confidence": self.confidence,
            "quantity": self.quantity,
            "difference": _finite(self.difference),
            "bound": _finite(self.bound),
            "side": self.side,
            "op": self.op,
            "margin": self.margin,
            "rows": self.rows,
            "resamples": self.resamples,
            "rows_from": self.rows_from,
            "plot": self.plot,
        }


def _finite(value: float) -> float | None:
    return value if math.isfinite(value) else None


def compared_metric(rule: Rule) -> str | None:
    """The metric a rule compares between candidate and champion, if that is all it reads
    (``M`` and ``champion.M``, one metric scored on rows: ``test_*`` or ``new_data_*``)."""
    if rule.op not in ORDERINGS:
        return None
    names = rule.names()
    metrics = {name for _, name in names}
    if len(metrics) != 1 or len(names) != 2:
        return None
    metric = metrics.pop()
    return metric if metric.startswith(ROW_PREFIXES) else None


def check_confidence(rule: Rule, where: str) -> None:
    """Refuse ``confidence`` on a rule the paired bootstrap cannot decide.

    Raises:
        RuleError: naming the rule and what a confident rule must compare.
    """
    if rule.confidence is None or compared_metric(rule) is not None:
        return
    if rule.op not in ORDERINGS:
        why = f"it compares with '{rule.op}'; use one of {', '.join(ORDERINGS)}"
    else:
        read = ", ".join(("champion." if c else "") + n for c, n in rule.names())
        why = f"it reads {read}"
    raise RuleError(
        f"{where}: confidence is only for a rule comparing a metric scored on rows (test_* "
        f"or new_data_*) of the candidate with the same metric of the champion, e.g. "
        f"'test_roc_auc > champion.test_roc_auc + 0.002'; '{' '.join(rule.text.split())}' "
        f"cannot carry it: {why}"
    )


@dataclass(frozen=True)
class Contrast:
    """What a confident rule tests: a resampled difference against a margin.

    Attributes:
        quantity: ``M - champion.M``, or ``left - right`` (``SIDES``).
        values: the difference on each resample (a float array).
        difference: the difference on all the rows.
        margin: what its bound must be past.
        op: how the bound is compared with the margin (``<``, ``<=``, ``>``, ``>=``).
    """

    quantity: str
    values: Any
    difference: float
    margin: float
    op: str

    @property
    def side(self) -> str:
        """``lower`` for ``>``/``>=``, ``upper`` for ``<``/``<=``."""
        return "lower" if self.op in (">", ">=") else "upper"

    def bound(self, confidence: float) -> float:
        """The one-sided bound at ``confidence``: the ``1 - confidence`` quantile of the
        resampled difference (lower), or the ``confidence`` quantile (upper); NaN when
        the difference is undefined on a resample."""
        import numpy as np

        values = np.asarray(self.values, dtype=float)
        if len(values) == 0 or np.isnan(values).any():
            return math.nan
        level = 1 - confidence if self.side == "lower" else confidence
        return float(np.quantile(values, level))


def contrast(rule: Rule, evidence: Resampled) -> Contrast:
    """The difference a confident rule is decided on, on the rows and on each resample.

    Args:
        rule: a rule that passes :func:`check_confidence`.
        evidence: both models' metric on the same rows and resamples.

    Returns:
        ``M - champion.M`` against the margin ``-k/a`` when the rule is
        ``a*(M - champion.M) + k op 0`` (the comparison flipped for ``a < 0``), else
        ``left - right`` against 0.
    """
    import numpy as np

    metric = evidence.metric
    draws = {metric: np.asarray(evidence.candidate_draws, dtype=float)}
    champion_draws = {metric: np.asarray(evidence.champion_draws, dtype=float)}
    point = {metric: evidence.candidate}, {metric: evidence.champion}
    left, right = _linear(rule.left), _linear(rule.right)
    with np.errstate(all="ignore"):
        if left is not None and right is not None:
            a, b, k = (left[i] - right[i] for i in range(3))
            if a != 0 and a == -b:  # a * (M - champion.M) + k  op  0
                return Contrast(
                    quantity=f"{metric} - champion.{metric}",
                    values=draws[metric] - champion_draws[metric],
                    difference=evidence.candidate - evidence.champion,
                    margin=-k / a + 0.0,  # + 0.0: no -0.0 in reports
                    op=rule.op if a > 0 else _FLIP[rule.op],
                )
        values = _side(rule.left, draws, champion_draws) - _side(rule.right, draws, champion_draws)
        difference = _side(rule.left, *point) - _side(rule.right, *point)
    return Contrast(SIDES, values, float(difference), 0.0, rule.op)


def check_noise(rule: Rule, evidence: Resampled, plot: str | None = None) -> NoiseCheck:
    """Decide a confident rule on the paired bootstrap of its metric.

    Args:
        rule: a rule with ``confidence`` that passes :func:`check_confidence`.
        evidence: both models' metric on the same rows and resamples.
        plot: the artifact URI of the rule's plot, recorded with the check.

    Returns:
        The check; ``held`` says whether the rule holds. A resample on which the
        difference is undefined (NaN) makes the bound NaN, and the rule fails.
    """
    assert rule.confidence is not None
    tested = contrast(rule, evidence)
    return NoiseCheck(
        confidence=rule.confidence,
        quantity=tested.quantity,
        difference=float(tested.difference),
        bound=tested.bound(rule.confidence),
        side=tested.side,
        op=tested.op,
        margin=float(tested.margin),
        rows=evidence.rows,
        resamples=evidence.resamples,
        rows_from=evidence.rows_from,
        plot=plot,
    )


def _side(expr: Expr, candidate: Mapping[str, Any], champion: Mapping[str, Any]) -> Any:
    """An expression evaluated on arrays (or floats); division by zero gives inf or NaN."""
    from declarative_ml.rules.nodes import BinaryOp, ChampionMetric, Metric, Negate, Number

    if isinstance(expr, Number):
        return expr.value
    if isinstance(expr, Metric):
        return candidate[expr.name]
    if isinstance(expr, ChampionMetric):
        return champion[expr.name]
    if isinstance(expr, Negate):
        return -_side(expr.operand, candidate, champion)
    assert isinstance(expr, BinaryOp)
    import numpy as np

    left = np.float64(_side(expr.left, candidate, champion))
    right = np.float64(_side(expr.right, candidate, champion))
    if expr.op == "+":
        return left + right
    if expr.op == "-":
        return left - right
    if expr.op == "*":
        return left * right
    return left / right


def _linear(expr: Expr) -> tuple[float, float, float] | None:
    """``(a, b, k)`` with ``expr == a*M + b*champion.M + k`` (M the one metric a
    confident rule reads), or None when not linear."""
    from declarative_ml.rules.nodes import BinaryOp, ChampionMetric, Metric, Negate, Number

    if isinstance(expr, Number):
        return 0.0, 0.0, expr.value
    if isinstance(expr, Metric):
        return 1.0, 0.0, 0.0
    if isinstance(expr, ChampionMetric):
        return 0.0, 1.0, 0.0
    if isinstance(expr, Negate):
        inner = _linear(expr.operand)
        return None if inner is None else (-inner[0], -inner[1], -inner[2])
    assert isinstance(expr, BinaryOp)
    left, right = _linear(expr.left), _linear(expr.right)
    if left is None or right is None:
        return None
    if expr.op in "+-":
        sign = 1.0 if expr.op == "+" else -1.0
        return left[0] + sign * right[0], left[1] + sign * right[1], left[2] + sign * right[2]
    if expr.op == "*":
        if left[:2] == (0.0, 0.0):
            return tuple(left[2] * x for x in right)  # type: ignore[return-value]
        if right[:2] == (0.0, 0.0):
            return tuple(right[2] * x for x in left)  # type: ignore[return-value]
        return None
    if right[:2] == (0.0, 0.0) and right[2] != 0:  # division by a number
        return tuple(x / right[2] for x in left)  # type: ignore[return-value]
    return None
