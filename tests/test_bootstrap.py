"""The paired bootstrap (declarative_ml.bootstrap): every metric, vectorised over count
matrices, against scikit-learn on the same resamples replayed row by row."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from declarative_ml.bootstrap import RowScores, paired_bootstrap, supported
from declarative_ml.bootstrap.draws import count_chunks, layout
from declarative_ml.metrics import METRICS, compute_metrics


def _classifier(rng: np.random.Generator, y: np.ndarray, classes: int) -> RowScores:
    """Rounded probabilities, so scores tie (ties count half in ROC AUC)."""
    logits = rng.normal(size=(len(y), classes)) + 1.5 * np.eye(classes)[y]
    proba = np.round(np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True), 2)
    proba = proba / proba.sum(axis=1, keepdims=True)
    return RowScores(proba.argmax(axis=1), proba)


def _task_metrics(task: str) -> list[str]:
    return [m.name for m in METRICS.values() if task in m.tasks]


def _counts_in_row_order(
    y: np.ndarray, candidate: RowScores, resamples: int, seed: int, *, stratify: bool
) -> np.ndarray:
    """The resamples ``paired_bootstrap`` draws, as counts per original row."""
    classification = candidate.proba is not None
    key = candidate.proba[:, 1] if classification and candidate.proba.shape[1] == 2 else None
    rows = layout(y, key, classification=classification, stratify=stratify and classification)
    canonical = np.concatenate(list(count_chunks(rows.strata, resamples, seed)))
    counts = np.zeros_like(canonical)
    counts[:, rows.order] = canonical
    return counts.astype(int)


def _replayed(metric: str, y: np.ndarray, scores: RowScores, counts: np.ndarray) -> np.ndarray:
    """scikit-learn's value (as compute_metrics calls it) on each resample."""
    values = []
    for row in counts:
        idx = np.repeat(np.arange(len(y)), row)
        proba = None if scores.proba is None else scores.proba[idx]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # undefined metrics on a resample: NaN, as logged
            values.append(compute_metrics([metric], y[idx], scores.pred[idx], proba)[metric])
    return np.array(values)


CASES = [("binary", 2), ("multiclass", 3), ("regression", 0)]


@pytest.mark.parametrize(("task", "classes"), CASES)
@pytest.mark.parametrize("stratify", [True, False])
def test_every_metric_matches_scikit_learn_on_each_resample(
    task: str, classes: int, stratify: bool
) -> None:
    rng = np.random.default_rng(7)
    n, resamples, seed = 60, 15, 3
    if task == "regression":
        y = rng.normal(size=n) * 10
        candidate, champion = (
            RowScores(y + rng.normal(size=n)),
            RowScores(y + 2 * rng.normal(size=n)),
        )
    else:
        y = rng.integers(0, classes, n)
        candidate, champion = _classifier(rng, y, classes), _classifier(rng, y, classes)
    names = _task_metrics(task)
    result = paired_bootstrap(
        names,
        y,
        candidate,
        champion,
        classification=task != "regression",
        resamples=resamples,
        seed=seed,
        stratify=stratify,
    )
    counts = _counts_in_row_order(y, candidate, resamples, seed, stratify=stratify)
    for name in names:
        drawn = result[name]
        assert drawn.candidate == pytest.approx(
            compute_metrics([name], y, candidate.pred, candidate.proba)[name], abs=1e-12
        )
        assert drawn.champion == pytest.approx(
            compute_metrics([name], y, champion.pred, champion.proba)[name], abs=1e-12
        )
        for scores, draws in ((candidate, drawn.candidate_draws), (champion, drawn.champion_draws)):
            expected = _replayed(name, y, scores, counts)
            np.testing.assert_allclose(draws, expected, rtol=1e-5, atol=1e-6, err_msg=name)


def test_every_metric_a_rule_can_read_can_be_bootstrapped() -> None:
    assert [m for m in METRICS if not supported(m)] == []


def test_stratified_resamples_keep_the_class_counts_and_draw_with_replacement() -> None:
    y = np.array([0] * 70 + [1] * 30 + [2] * 14)
    scores = _classifier(np.random.default_rng(0), y, 3)
    counts = _counts_in_row_order(y, scores, 200, seed=11, stratify=True)
    for label, size in ((0, 70), (1, 30), (2, 14)):
        assert (counts[:, y == label].sum(axis=1) == size).all()
    assert counts.max() > 1 and (counts == 0).any()  # rows repeat, rows are left out
    loose = _counts_in_row_order(y, scores, 200, seed=11, stratify=False)
    assert (loose.sum(axis=1) == len(y)).all()
    assert len({tuple(row) for row in loose[:, y == 2].sum(axis=1, keepdims=True)}) > 1


def test_the_same_seed_gives_the_same_resamples_and_another_seed_others() -> None:
    rng = np.random.default_rng(1)
    y = rng.integers(0, 2, 114)
    a, b = _classifier(rng, y, 2), _classifier(rng, y, 2)

    def draws(seed: int) -> np.ndarray:
        result = paired_bootstrap(
            ["roc_auc"], y, a, b, classification=True, resamples=300, seed=seed
        )
        return result["roc_auc"].candidate_draws

    np.testing.assert_array_equal(draws(5), draws(5))
    assert not np.array_equal(draws(5), draws(6))


def test_identical_models_differ_by_exactly_zero_on_every_resample() -> None:
    rng = np.random.default_rng(2)
    y = rng.integers(0, 2, 300)
    model = _classifier(rng, y, 2)
    result = paired_bootstrap(
        ["roc_auc", "log_loss", "accuracy"], y, model, model, classification=True, resamples=500
    )
    for drawn in result.values():
        np.testing.assert_array_equal(drawn.candidate_draws, drawn.champion_draws)


def test_large_data_is_drawn_in_chunks_with_the_same_results() -> None:
    # 30,000 rows: chunks of 133 resamples and one bincount per resample (the large path).
    rng = np.random.default_rng(3)
    y = rng.integers(0, 2, 30_000)
    a, b = _classifier(rng, y, 2), _classifier(rng, y, 2)
    result = paired_bootstrap(["roc_auc"], y, a, b, classification=True, resamples=140, seed=1)
    counts = _counts_in_row_order(y, a, 140, seed=1, stratify=True)
    assert (counts.sum(axis=1) == len(y)).all()
    expected = _replayed("roc_auc", y, b, counts[:3])
    np.testing.assert_allclose(result["roc_auc"].champion_draws[:3], expected, rtol=1e-6)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"metrics": ["auc"]}, "cannot bootstrap auc"),
        ({"resamples": 0}, "resamples must be at least 1"),
        ({"champion": RowScores(np.zeros(3, dtype=int), np.full((3, 2), 0.5))}, "3 predictions"),
        ({"candidate": RowScores(np.zeros(10, dtype=int))}, "needs class probabilities"),
    ],
)
def test_bad_arguments_are_refused(kwargs: dict, message: str) -> None:
    y = np.array([0, 1] * 5)
    scores = RowScores(np.zeros(10, dtype=int), np.full((10, 2), 0.5))
    arguments = {"metrics": ["roc_auc"], "candidate": scores, "champion": scores, **kwargs}
    with pytest.raises(ValueError, match=message):
        paired_bootstrap(
            arguments["metrics"],
            y,
            arguments["candidate"],
            arguments["champion"],
            classification=True,
            resamples=arguments.get("resamples", 10),
        )
