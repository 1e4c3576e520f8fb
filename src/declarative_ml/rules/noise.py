"""Rules with ``confidence``: the comparison must hold beyond noise, not only in the point.

A rule such as ``test_roc_auc > champion.test_roc_auc + 0.002`` with ``confidence: 0.95``
is decided on the paired bootstrap of both models on the same rows (``Resampled``, given
by the caller): the rule holds when the one-sided bound of the tested difference at
that confidence is past the margin. Pure: arrays in, a :class:`NoiseCheck` out.

What is tested (``contrast.py``): when the rule is linear with the candidate and champion terms
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
from declarative_ml.rules.contrast import contrast

if TYPE_CHECKING:
    from declarative_ml.rules.nodes import Rule

#: Prefixes of metrics scored on rows neither model trained on.
ROW_PREFIXES = ("test_", "new_data_")
ORDERINGS = ("<", "<=", ">", ">=")


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


def read_confidence(value: Any, where: str) -> float | None:
    """A rule's ``confidence``: a number strictly between 0.5 and 1, or None when absent.

    Args:
        value: the value written (any YAML value).
        where: the rule's place (``promotion/x.yaml: production[1]``), for the message.

    Returns:
        The confidence as a float, or None.

    Raises:
        RuleError: naming ``where.confidence``, the value and what is allowed.
    """
    if value is None:
        return None
    number = None
    if isinstance(value, int | float) and not isinstance(value, bool):
        number = float(value)
    if number is None or not 0.5 < number < 1:
        shown = repr(value)[:40] if number is None else f"{number:g}"
        raise RuleError(
            f"{where}.confidence: {' '.join(shown.split())} is not allowed; a number between 0.5 "
            f"and 1, exclusive (0.95: the difference must be past the margin in 95% of resamples)"
        )
    return number
