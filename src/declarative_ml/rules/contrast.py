"""What a rule with ``confidence`` tests: a resampled difference against a margin.

When the rule is linear with the candidate and champion terms opposite
(``a*(M - champion.M) + k op 0``, which covers additive margins), the difference
``M - champion.M`` against the margin ``-k/a``, so reports read in the metric's own
units ("+0.0031, lower bound -0.0042, margin 0.002"). Otherwise (a margin by factor,
``test_rmse <= champion.test_rmse * 0.99``) the difference of the two sides against 0.
Pure arithmetic on the parsed tree, evaluated on arrays of resampled values.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from declarative_ml.rules.report import SIDES

if TYPE_CHECKING:
    from declarative_ml.rules.nodes import Expr, Rule
    from declarative_ml.rules.noise import Resampled

_FLIP = {"<": ">", "<=": ">=", ">": "<", ">=": "<="}


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
