"""Rules with ``confidence`` (declarative_ml.rules.noise): which rules may carry it, what
is tested (the difference against the margin), how the bound decides, how reports show
it, and the property that matters most: the decision never holds when the bound of the
difference is not past the margin."""

from __future__ import annotations

import json
import re
import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st

from declarative_ml.bootstrap import RowScores, paired_bootstrap
from declarative_ml.bootstrap.draws import count_chunks, layout
from declarative_ml.errors import RuleError
from declarative_ml.metrics import compute_metrics
from declarative_ml.rules import (
    Evidence,
    Resampled,
    evaluate_rules,
    parse_gates,
    parse_rule_spec,
    report,
)
from declarative_ml.rules.contrast import contrast

WHERE = "promotion/mine.yaml: production[1]"


def spec(rule: str, confidence: object = 0.95) -> dict:
    return {"rule": rule, "confidence": confidence, "why": "beyond noise"}


def evidence(
    candidate: list[float], champion: list[float], metric: str = "test_roc_auc"
) -> Resampled:
    return Resampled(
        metric,
        float(np.mean(candidate)),
        float(np.mean(champion)),
        np.array(candidate, dtype=float),
        np.array(champion, dtype=float),
        114,
        "the test split",
    )


# --- which rules may carry confidence (checked when the rules are parsed) --------------


@pytest.mark.parametrize(
    "text",
    [
        "test_roc_auc > champion.test_roc_auc + 0.002",
        "test_roc_auc >= champion.test_roc_auc",
        "test_log_loss <= champion.test_log_loss - 0.01",
        "test_rmse < champion.test_rmse * 0.99",
        "new_data_accuracy >= champion.new_data_accuracy",
        "champion.test_f1 + 0.01 < test_f1",
        "(test_r2 - champion.test_r2) / 2 > 0.001",
    ],
)
def test_confidence_is_accepted_on_a_comparison_with_the_champion_on_rows(text: str) -> None:
    rule = parse_rule_spec(spec(text), where=WHERE)
    assert rule.confidence == 0.95 and rule.why == "beyond noise"


@pytest.mark.parametrize(
    ("text", "why"),
    [
        (
            "model_size_mb <= champion.model_size_mb",
            "it reads model_size_mb, champion.model_size_mb",
        ),
        ("training_duration_s < champion.training_duration_s", "it reads training_duration_s"),
        ("test_roc_auc >= 0.95", "it reads test_roc_auc"),
        ("champion.test_roc_auc > 0.9", "it reads champion.test_roc_auc"),
        ("val_roc_auc > champion.val_roc_auc", "it reads val_roc_auc, champion.val_roc_auc"),
        ("train_f1 > champion.train_f1", "it reads train_f1"),
        ("test_f1 > champion.test_roc_auc", "it reads test_f1, champion.test_roc_auc"),
        ("test_f1 + test_roc_auc > champion.test_f1", "it reads test_f1, test_roc_auc"),
        ("test_f1 == champion.test_f1", "it compares with '=='"),
        ("test_f1 != champion.test_f1", "it compares with '!='"),
    ],
)
def test_confidence_on_any_other_rule_is_an_error_naming_the_rule(text: str, why: str) -> None:
    with pytest.raises(RuleError) as caught:
        parse_rule_spec(spec(text), where=WHERE)
    message = str(caught.value)
    assert message.startswith(f"{WHERE}: confidence is only for a rule comparing")
    assert f"'{text}' cannot carry it" in message and why in message
    assert "\n" not in message


@pytest.mark.parametrize("value", [0.5, 1, 1.0, 0.3, -0.95, 95, True, "high", [0.95], float("nan")])
def test_confidence_must_be_a_number_between_a_half_and_one(value: object) -> None:
    with pytest.raises(
        RuleError,
        match=rf"^{re.escape(WHERE)}\.confidence: .* is not allowed; a number between 0\.5 and 1",
    ):
        parse_rule_spec(spec("test_f1 > champion.test_f1", value), where=WHERE)


def test_confidence_null_is_a_plain_rule() -> None:
    rule = parse_rule_spec(spec("model_size_mb <= champion.model_size_mb", None), where=WHERE)
    assert rule.confidence is None


def test_confidence_is_part_of_the_rule() -> None:
    plain = parse_rule_spec("test_f1 > champion.test_f1", where=WHERE)
    assert plain != parse_rule_spec(
        {"rule": "test_f1 > champion.test_f1", "confidence": 0.9}, where=WHERE
    )


# --- what is tested ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "quantity", "margin", "op"),
    [
        (
            "test_roc_auc > champion.test_roc_auc + 0.002",
            "test_roc_auc - champion.test_roc_auc",
            0.002,
            ">",
        ),
        (
            "test_roc_auc - champion.test_roc_auc >= 0.01",
            "test_roc_auc - champion.test_roc_auc",
            0.01,
            ">=",
        ),
        (
            "champion.test_roc_auc - test_roc_auc <= -0.01",
            "test_roc_auc - champion.test_roc_auc",
            0.01,
            ">=",
        ),
        (
            "(test_roc_auc - champion.test_roc_auc) / 2 > 0.001",
            "test_roc_auc - champion.test_roc_auc",
            0.002,
            ">",
        ),
        (
            "test_roc_auc < champion.test_roc_auc - 0.005",
            "test_roc_auc - champion.test_roc_auc",
            -0.005,
            "<",
        ),
        ("test_roc_auc > champion.test_roc_auc * 1.01", report.SIDES, 0.0, ">"),
        ("test_roc_auc * test_roc_auc > champion.test_roc_auc", report.SIDES, 0.0, ">"),
    ],
)
def test_what_a_confident_rule_tests(text: str, quantity: str, margin: float, op: str) -> None:
    rule = parse_rule_spec(spec(text), where=WHERE)
    tested = contrast(rule, evidence([0.95, 0.96, 0.97], [0.94, 0.95, 0.96]))
    assert (tested.quantity, tested.op) == (quantity, op)
    assert tested.margin == pytest.approx(margin)


def test_a_margin_by_factor_tests_the_difference_of_the_sides() -> None:
    rule = parse_rule_spec(spec("test_rmse < champion.test_rmse * 0.9"), where=WHERE)
    tested = contrast(rule, evidence([9.0, 10.0], [11.0, 12.0], "test_rmse"))
    np.testing.assert_allclose(tested.values, [9.0 - 11.0 * 0.9, 10.0 - 12.0 * 0.9])
    assert tested.difference == pytest.approx(9.5 - 11.5 * 0.9)


# --- how the bound decides -------------------------------------------------------------


def decide(text: str, candidate: list[float], champion: list[float], confidence: float = 0.95):
    gates = parse_gates({"production": [spec(text, confidence)]}, source="promotion/mine.yaml")
    metric = text.split()[0]
    draws = Evidence({metric: evidence(candidate, champion, metric)})
    return (
        evaluate_rules(gates, {metric: 0.0}, {metric: 0.0}, draws).gates["production"].outcomes[0]
    )


def test_the_lower_bound_must_be_above_the_margin_for_greater_than() -> None:
    # Differences 0.001 .. 0.100: the 5% quantile is 0.00595.
    diffs = [i / 1000 for i in range(1, 101)]
    zeros = [0.0] * 100
    assert decide("test_f1 > champion.test_f1 + 0.005", diffs, zeros).held
    assert not decide("test_f1 > champion.test_f1 + 0.006", diffs, zeros).held
    outcome = decide("test_f1 > champion.test_f1", diffs, zeros, confidence=0.99)
    assert outcome.noise.bound == pytest.approx(np.quantile(diffs, 0.01))


def test_greater_or_equal_holds_at_the_margin_and_greater_than_does_not() -> None:
    same = [0.9] * 50
    assert not decide("test_f1 > champion.test_f1", same, same).held
    assert decide("test_f1 >= champion.test_f1", same, same).held


def test_less_than_uses_the_upper_bound() -> None:
    diffs = [-i / 1000 for i in range(1, 101)]  # the candidate's loss is lower
    zeros = [0.0] * 100
    outcome = decide("test_log_loss < champion.test_log_loss", diffs, zeros)
    assert outcome.held and outcome.noise.side == "upper"
    assert outcome.noise.bound == pytest.approx(np.quantile(diffs, 0.95))
    assert not decide("test_log_loss < champion.test_log_loss - 0.006", diffs, zeros).held


def test_an_undefined_resample_fails_the_rule() -> None:
    outcome = decide("test_f1 > champion.test_f1", [0.9, float("nan")], [0.1, 0.1])
    assert not outcome.held and outcome.noise.bound != outcome.noise.bound


def test_with_no_champion_a_confident_rule_passes_as_today() -> None:
    gates = parse_gates({"production": [spec("test_f1 > champion.test_f1")]}, source="p.yaml")
    outcome = evaluate_rules(gates, {"test_f1": 0.5}, None).gates["production"].outcomes[0]
    assert outcome.held and outcome.skipped_no_champion and outcome.noise is None


def test_without_evidence_a_confident_rule_fails_and_says_why() -> None:
    gates = parse_gates({"production": [spec("test_f1 > champion.test_f1")]}, source="p.yaml")
    outcome = (
        evaluate_rules(gates, {"test_f1": 0.9}, {"test_f1": 0.1}).gates["production"].outcomes[0]
    )
    assert not outcome.held
    assert outcome.reason == (
        "no scores of candidate and champion on the same rows for test_f1 "
        "(confidence 0.95 needs them)"
    )


# --- reports ---------------------------------------------------------------------------


def test_every_report_shows_the_difference_bound_rows_and_resamples() -> None:
    gates = parse_gates(
        {
            "production": [
                "test_roc_auc >= 0.9",
                spec("test_roc_auc > champion.test_roc_auc + 0.002"),
            ]
        },
        source="promotion/mine.yaml",
    )
    rng = np.random.default_rng(0)
    draws = Evidence(
        {"test_roc_auc": evidence(list(0.953 + rng.normal(0, 0.004, 2000)), [0.95] * 2000)},
        {"production[1]": "runs:/0123abc/promotion/noise/production_1.png"},
    )
    decision = evaluate_rules(gates, {"test_roc_auc": 0.953}, {"test_roc_auc": 0.95}, draws)
    check = decision.gates["production"].outcomes[1].noise
    line = (
        f"test_roc_auc > champion.test_roc_auc + 0.002 at 95%: {check.difference:+.4g}, lower "
        f"bound {check.bound:+.4g} (margin 0.002; 114 rows of the test split, 2000 resamples): "
        f"not shown"
    )
    assert report.noise_lines(decision) == [f"production: {line}"]
    assert [f.detail for f in report.failed(decision)] == [line.split(" 0.002 ", 1)[1]]
    markdown = decision.to_markdown("Promotion decision for run 0123abc")
    assert f"failed {line.split(' 0.002 ', 1)[1]}" in markdown
    assert (
        "[plot](get-artifact?path=promotion/noise/production_1.png&run_uuid=0123abc) "
        "`runs:/0123abc/promotion/noise/production_1.png`" in markdown
    )
    record = json.loads(json.dumps(decision.to_dict(), allow_nan=False))
    noise = record["gates"]["production"]["rules"][1]["noise"]
    assert noise["confidence"] == 0.95 and noise["rows"] == 114 and noise["resamples"] == 2000
    assert noise["bound"] == pytest.approx(check.bound) and noise["margin"] == 0.002
    assert noise["plot"] == "runs:/0123abc/promotion/noise/production_1.png"
    assert "noise" not in record["gates"]["production"]["rules"][0]  # plain rules unchanged


# --- the property: never held when the bound is not past the margin ------------------

PROPERTY = settings(
    max_examples=40,
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@st.composite
def predictions(draw: st.DrawFn) -> tuple[np.ndarray, RowScores, RowScores]:
    n = draw(st.integers(4, 40))
    y = np.array(draw(st.lists(st.integers(0, 1), min_size=n, max_size=n)))
    if len(set(y)) < 2:
        y[0], y[1] = 0, 1
    probabilities = st.lists(
        st.sampled_from([0.0, 0.1, 0.3, 0.5, 0.7, 0.9, 1.0]), min_size=n, max_size=n
    )

    def model() -> RowScores:
        p = np.array(draw(probabilities))
        return RowScores((p > 0.5).astype(int), np.stack([1 - p, p], axis=1))

    return y, model(), model()


@PROPERTY
@given(
    data=predictions(),
    metric=st.sampled_from(["roc_auc", "accuracy", "f1", "log_loss"]),
    op=st.sampled_from([">", ">=", "<", "<="]),
    margin=st.sampled_from([-0.1, -0.01, 0.0, 0.002, 0.05]),
    confidence=st.sampled_from([0.6, 0.9, 0.95, 0.99]),
    seed=st.integers(0, 2**32),
)
def test_the_decision_never_holds_when_the_bound_is_not_past_the_margin(
    data: tuple, metric: str, op: str, margin: float, confidence: float, seed: int
) -> None:
    y, candidate, champion = data
    resamples = 25
    drawn = paired_bootstrap(
        [metric], y, candidate, champion, classification=True, resamples=resamples, seed=seed
    )[metric]
    name = f"test_{metric}"
    text = (
        f"{name} {op} champion.{name} + {margin}"
        if margin >= 0
        else f"{name} {op} champion.{name} - {-margin}"
    )
    gates = parse_gates({"production": [spec(text, confidence)]}, source="p.yaml")
    supplied = Evidence(
        {
            name: Resampled(
                name,
                drawn.candidate,
                drawn.champion,
                drawn.candidate_draws,
                drawn.champion_draws,
                len(y),
                "rows",
            )
        }
    )
    outcome = (
        evaluate_rules(gates, {name: drawn.candidate}, {name: drawn.champion}, supplied)
        .gates["production"]
        .outcomes[0]
    )

    # The bound, independently: scikit-learn on the very same resamples, np.quantile.
    rows = layout(y, candidate.proba[:, 1], classification=True, stratify=True)
    canonical = np.concatenate(list(count_chunks(rows.strata, resamples, seed)))
    counts = np.zeros_like(canonical)
    counts[:, rows.order] = canonical
    differences = []
    for row in counts.astype(int):
        idx = np.repeat(np.arange(len(y)), row)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ours = compute_metrics([metric], y[idx], candidate.pred[idx], candidate.proba[idx])[
                metric
            ]
            theirs = compute_metrics([metric], y[idx], champion.pred[idx], champion.proba[idx])[
                metric
            ]
        differences.append(ours - theirs)
    differences = np.array(differences)
    lower = op in (">", ">=")
    bound = np.quantile(differences, 1 - confidence if lower else confidence)
    note(f"{text} at {confidence}: bound {bound!r}, reported {outcome.noise.bound!r}")
    note(f"held: {outcome.held}")

    if outcome.held:  # never held when the bound is below (above, for < and <=) the margin
        assert not np.isnan(bound)
        assert (bound >= margin - 1e-9) if lower else (bound <= margin + 1e-9)
    if not np.isnan(bound) and abs(bound - margin) > 1e-9:  # away from ties: the same decision
        past = bound > margin if lower else bound < margin
        assert outcome.held == past
    assert outcome.noise.bound == pytest.approx(bound, abs=1e-9, nan_ok=True)
