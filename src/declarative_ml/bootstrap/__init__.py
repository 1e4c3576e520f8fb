"""The paired bootstrap: two models' metrics on the same resamples of the same rows.

Pure statistics on arrays (no MLflow, no files). ``paired_bootstrap`` scores a candidate
and a champion on ``resamples`` resamples of one set of rows: each resample draws rows
with replacement (within each class for classification, so class counts stay as in the
rows), and *both* models are scored on it, so the noise the two share (which rows
happen to be easy) cancels in their difference. ``rules/`` turns the differences into a
one-sided bound.

Vectorised: the resamples are count matrices (``draws.py``) and every metric a function
of counts (``statistics.py``), so 2,000 resamples of 100,000 rows cost a few passes over
memory, not 4,000 metric calls (``benchmarks/bootstrap_speed.py``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from declarative_ml.bootstrap.draws import count_chunks, layout
from declarative_ml.bootstrap.statistics import BUILDERS, Columns

DEFAULT_RESAMPLES = 2000
FLOAT32_FROM = 20_000  # rows


@dataclass(frozen=True)
class RowScores:
    """One model's predictions on the rows.

    Attributes:
        pred: predicted class indexes (classification) or values (regression).
        proba: class probabilities, rows x classes (classification), else None.
    """

    pred: Any
    proba: Any | None = None


@dataclass(frozen=True)
class PairedDraws:
    """One metric of both models: on all the rows, and on each resample.

    Attributes:
        metric: the metric's name (``roc_auc``).
        candidate: the candidate's value on all the rows.
        champion: the champion's value on all the rows.
        candidate_draws: the candidate's value per resample (float64 array).
        champion_draws: the champion's, on the same resamples.
        rows: how many rows.
        stratified: whether each class was resampled on its own.
    """

    metric: str
    candidate: float
    champion: float
    candidate_draws: Any
    champion_draws: Any
    rows: int
    stratified: bool

    @property
    def resamples(self) -> int:
        """How many resamples."""
        return len(self.candidate_draws)


def supported(metric: str) -> bool:
    """Whether ``metric`` (a name from ``metrics.METRICS``) can be bootstrapped."""
    return metric in BUILDERS


def paired_bootstrap(
    metrics: Sequence[str],
    y: Any,
    candidate: RowScores,
    champion: RowScores,
    *,
    classification: bool,
    resamples: int = DEFAULT_RESAMPLES,
    seed: int = 0,
    stratify: bool = True,
) -> dict[str, PairedDraws]:
    """Score both models on the same resamples of the rows.

    Args:
        metrics: metric names (``roc_auc``, ``rmse``, ...; see ``supported``).
        y: the rows' targets: class indexes (classification) or values.
        candidate: the candidate's predictions on the rows.
        champion: the champion's predictions on the same rows, in the same order.
        classification: whether ``y`` holds classes.
        resamples: how many resamples.
        seed: the seed of the resampling (the same seed, the same resamples).
        stratify: resample each class on its own (classification only).

    Returns:
        A :class:`PairedDraws` per metric name.

    Raises:
        ValueError: for an unknown metric, no rows, or predictions of another length.
    """
    import numpy as np

    unknown = [m for m in metrics if m not in BUILDERS]
    if unknown:
        raise ValueError(f"cannot bootstrap {', '.join(unknown)}; known: {', '.join(BUILDERS)}")
    y = np.asarray(y) if classification else np.asarray(y, dtype=np.float64)
    if len(y) == 0:
        raise ValueError("no rows to resample")
    if resamples < 1:
        raise ValueError(f"resamples must be at least 1, not {resamples}")
    models = [_as_arrays(s, len(y), classification) for s in (candidate, champion)]
    stratify = stratify and classification
    ours = models[0].proba
    key = ours[:, 1] if ours is not None and ours.shape[1] == 2 else None  # binary: by score
    rows = layout(y, key, classification=classification, stratify=stratify)
    y = y[rows.order]
    cols = Columns(len(y))
    stats = {
        (metric, i): BUILDERS[metric](
            cols,
            y,
            model.pred[rows.order],
            None if model.proba is None else model.proba[rows.order],
            rows,
        )
        for metric in dict.fromkeys(metrics)
        for i, model in enumerate(models)
    }
    V = cols.matrix()
    ones = np.ones((1, len(y)))
    point = {key: float(stat(ones, ones @ V)[0]) for key, stat in stats.items()}
    values = {key: np.empty(resamples) for key in stats}
    # Large data is resampled in float32 (exact counts, half the memory traffic; sums off
    # by ~1e-6 relative, far below the bootstrap's own spread); the rest in float64.
    dtype = np.float32 if len(y) >= FLOAT32_FROM else np.float64
    V, done = V.astype(dtype), 0
    for W in count_chunks(rows.strata, resamples, seed, dtype=dtype):
        S = W @ V
        for key, stat in stats.items():
            values[key][done : done + len(W)] = stat(W, S)
        done += len(W)
    return {
        metric: PairedDraws(
            metric,
            point[(metric, 0)],
            point[(metric, 1)],
            values[(metric, 0)],
            values[(metric, 1)],
            len(y),
            stratify,
        )
        for metric in dict.fromkeys(metrics)
    }


def _as_arrays(scores: RowScores, rows: int, classification: bool) -> RowScores:
    import numpy as np

    pred = np.asarray(scores.pred) if classification else np.asarray(scores.pred, dtype=float)
    if len(pred) != rows:
        raise ValueError(f"{len(pred)} predictions for {rows} rows")
    if not classification:
        return RowScores(pred)
    if scores.proba is None:
        raise ValueError("classification needs class probabilities")
    proba = np.asarray(scores.proba, dtype=np.float64)
    if proba.ndim != 2 or len(proba) != rows:
        raise ValueError(f"class probabilities of shape {proba.shape} for {rows} rows")
    return RowScores(pred.astype(np.int64), proba)
