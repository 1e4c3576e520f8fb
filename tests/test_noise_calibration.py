"""Calibration of rules with ``confidence``, on synthetic predictions (no training).

400 simulated test splits the size of the shipped datasets' (breast_cancer: 114 rows,
diabetes: 89): two equally good models must be promoted in at most 5% of them (plus
binomial slack) at ``confidence: 0.95``, a clearly better one in at least 95%. The same
simulations with the point rule show how often it hands @production over on noise; the
figures are printed (``pytest -s``) and quoted in the README's "Promotion rules".
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from declarative_ml.bootstrap import RowScores, paired_bootstrap
from declarative_ml.rules import Evidence, Resampled, evaluate_rules, parse_gates

DATASETS = 400
CONFIDENCE = 0.95


def binomial_quantile(q: float, n: int, p: float) -> int:
    """The smallest k with P(Binomial(n, p) <= k) >= q."""
    total = 0.0
    for k in range(n + 1):
        total += math.comb(n, k) * p**k * (1 - p) ** (n - k)
        if total >= q:
            return k
    return n


# At most this many promotions of 400 when the true rate is 5%: exceeded by chance once
# in a thousand suites (the simulation is seeded, so a given suite always sees the same).
SLACK = binomial_quantile(0.999, DATASETS, 1 - CONFIDENCE)


def binary(strength: float) -> Callable[[np.random.Generator], tuple]:
    """Two classifiers on one split of 114 rows (37% positive): the candidate's class
    signal ``strength`` (the champion's 2.0), errors partly shared, as two models of the
    same data share the hard rows."""

    def simulate(rng: np.random.Generator) -> tuple:
        y = (rng.random(114) < 0.37).astype(int)
        shared = rng.normal(size=len(y))

        def model(signal: float) -> RowScores:
            score = signal * y + 0.6 * shared + 0.8 * rng.normal(size=len(y))
            p = 1 / (1 + np.exp(-(score - signal / 2)))
            return RowScores((p > 0.5).astype(int), np.stack([1 - p, p], axis=1))

        return y, model(strength), model(2.0), True

    return simulate


def regression(noise: float) -> Callable[[np.random.Generator], tuple]:
    """Two regressors on one split of 89 rows: the candidate's own error ``noise`` (the
    champion's 50), plus an error both share."""

    def simulate(rng: np.random.Generator) -> tuple:
        y = rng.normal(150, 75, size=89)
        shared = rng.normal(0, 20, size=len(y))
        ours = y + shared + rng.normal(0, noise, size=len(y))
        theirs = y + shared + rng.normal(0, 50, size=len(y))
        return y, RowScores(ours), RowScores(theirs), False

    return simulate


def promotion_rates(
    simulate: Callable, rules: dict[str, tuple[str, float | None]]
) -> dict[str, float]:
    """The share of simulated splits on which each rule holds: ``{label: (rule,
    confidence or None for the point rule)}``, all rules on one metric, each split
    resampled once for all of them."""
    metric = next(iter(rules.values()))[0].split()[0]
    name = metric.removeprefix("test_")
    gates = {
        label: parse_gates(
            {"production": [{"rule": rule, "confidence": confidence}]},
            source="promotion/simulated.yaml",
        )
        for label, (rule, confidence) in rules.items()
    }
    held = dict.fromkeys(rules, 0)
    for index in range(DATASETS):
        y, candidate, champion, classification = simulate(np.random.default_rng(index))
        drawn = paired_bootstrap(
            [name], y, candidate, champion, classification=classification, seed=index
        )[name]
        evidence = Evidence(
            {
                metric: Resampled(
                    metric,
                    drawn.candidate,
                    drawn.champion,
                    drawn.candidate_draws,
                    drawn.champion_draws,
                    drawn.rows,
                    "simulated rows",
                )
            }
        )
        points = {metric: drawn.candidate}, {metric: drawn.champion}
        for label, rule_gates in gates.items():
            held[label] += evaluate_rules(rule_gates, *points, evidence).reached("production")
    return {label: count / DATASETS for label, count in held.items()}


def report(name: str, rates: dict[str, float]) -> str:
    line = f"{name}: " + ", ".join(f"{k} {v:.1%}" for k, v in rates.items())
    print(line)
    return line


def test_equally_good_classifiers_are_rarely_promoted_with_confidence() -> None:
    rule = "test_roc_auc > champion.test_roc_auc"
    rates = promotion_rates(
        binary(2.0),
        {
            "at 95%": (rule, 0.95),
            "at 90%": (rule, 0.90),
            "at 99%": (rule, 0.99),
            "point rule": (rule, None),
            "point rule + 0.002": ("test_roc_auc >= champion.test_roc_auc + 0.002", None),
        },
    )
    message = report("equal classifiers (ROC AUC, 114 rows, 400 splits)", rates)
    for label, confidence in (("at 95%", 0.95), ("at 90%", 0.90), ("at 99%", 0.99)):
        assert rates[label] * DATASETS <= binomial_quantile(0.999, DATASETS, 1 - confidence), (
            message
        )
    assert rates["point rule + 0.002"] > 0.3, message  # the problem being solved


def test_a_clearly_better_classifier_is_promoted_with_confidence() -> None:
    rule = "test_roc_auc > champion.test_roc_auc + 0.002"
    rates = promotion_rates(binary(3.5), {"at 95%": (rule, 0.95), "point rule": (rule, None)})
    message = report("clearly better classifier (ROC AUC, 114 rows, 400 splits)", rates)
    assert rates["at 95%"] >= 0.95, message


def test_equally_good_regressors_are_rarely_promoted_with_confidence() -> None:
    rates = promotion_rates(
        regression(50.0),
        {
            "at 95%": ("test_rmse < champion.test_rmse", 0.95),
            "point rule": ("test_rmse < champion.test_rmse", None),
            "point rule, 1% lower": ("test_rmse <= champion.test_rmse * 0.99", None),
        },
    )
    message = report("equal regressors (RMSE, 89 rows, 400 splits)", rates)
    assert rates["at 95%"] * DATASETS <= SLACK, message
    assert rates["point rule, 1% lower"] > 0.3, message


def test_a_clearly_better_regressor_is_promoted_with_confidence() -> None:
    rule = "test_rmse <= champion.test_rmse * 0.99"
    rates = promotion_rates(regression(25.0), {"at 95%": (rule, 0.95), "point rule": (rule, None)})
    message = report("clearly better regressor (RMSE, 89 rows, 400 splits)", rates)
    assert rates["at 95%"] >= 0.95, message


def test_the_binomial_slack() -> None:
    # 400 splits at 5%: 20 expected, at most 35 in 999 suites of 1,000 (scipy.stats.binom.ppf).
    assert SLACK == 35
    assert binomial_quantile(0.5, 400, 0.05) == 20
