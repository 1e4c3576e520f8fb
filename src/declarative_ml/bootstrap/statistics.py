"""Every metric of ``metrics.py`` as a function of row counts, for many resamples at once.

A resample is a row of counts ``W`` (how often each row was drawn). Most metrics are
ratios of weighted sums over rows (accuracy, log loss, precision, RMSE, ...): the sums
of every metric and both models come from one matrix product ``S = W @ V``, where each
column of ``V`` is a per-row quantity (a loss, an indicator). ROC AUC is a weighted
Mann-Whitney count: the negatives are put in score order once, and per resample a
cumulative sum of their counts, read at each positive's place, counts the negatives it
outranks (ties count half).

Each builder returns a ``Statistic``: ``(W, S) -> one value per resample``. The same
code gives the value on the rows themselves (``W`` a row of ones), so the point value
and its resamples cannot disagree about what the metric is. Values match
scikit-learn's, as ``metrics.compute_metrics`` calls it, on each resample
(tests/test_bootstrap.py replays resamples through scikit-learn).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

Statistic = Callable[[Any, Any], Any]


class Columns:
    """Per-row quantities whose weighted sums the statistics read, in one matrix."""

    def __init__(self, rows: int) -> None:
        import numpy as np

        self._columns: list[Any] = []
        self.total = self.add(np.ones(rows))  # sum of counts: the resample's size

    def add(self, values: Any) -> int:
        """Add a per-row quantity; returns its column in ``S``."""
        import numpy as np

        self._columns.append(np.asarray(values, dtype=np.float64))
        return len(self._columns) - 1

    def matrix(self) -> Any:
        """``V``: rows x quantities, float64."""
        import numpy as np

        return np.stack(self._columns, axis=1)


def _ratio(num: Any, den: Any, when_zero: float) -> Any:
    import numpy as np

    num = np.asarray(num, dtype=np.float64)
    den = np.asarray(den, dtype=np.float64)
    out = np.full(np.broadcast(num, den).shape, when_zero, dtype=np.float64)
    return np.divide(num, den, out=out, where=den != 0)


def _mean(cols: Columns, values: Any) -> Statistic:
    """The weighted mean of a per-row quantity."""
    i, t = cols.add(values), cols.total
    return lambda W, S: _ratio(S[:, i], S[:, t], float("nan"))


def _f1(tp: Any, pp: Any, ap: Any) -> Any:
    """F1 = 2 TP / (predicted positives + actual positives); 0 when both are 0."""
    return _ratio(2 * tp, pp + ap, 0.0)


def _binary_counts(cols: Columns, y: Any, pred: Any) -> tuple[int, int, int]:
    return cols.add((pred == 1) & (y == 1)), cols.add(pred == 1), cols.add(y == 1)


def _precision(cols: Columns, y: Any, pred: Any, proba: Any, ctx: Any) -> Statistic:
    tp, pp, _ = _binary_counts(cols, y, pred)
    return lambda W, S: _ratio(S[:, tp], S[:, pp], 0.0)


def _recall(cols: Columns, y: Any, pred: Any, proba: Any, ctx: Any) -> Statistic:
    tp, _, ap = _binary_counts(cols, y, pred)
    return lambda W, S: _ratio(S[:, tp], S[:, ap], 0.0)


def _binary_f1(cols: Columns, y: Any, pred: Any, proba: Any, ctx: Any) -> Statistic:
    tp, pp, ap = _binary_counts(cols, y, pred)
    return lambda W, S: _f1(S[:, tp], S[:, pp], S[:, ap])


def _per_class_f1(cols: Columns, y: Any, pred: Any, *, weighted: bool) -> Statistic:
    """Macro (over the labels present in a resample's truth or predictions, as
    scikit-learn) or support-weighted F1."""
    import numpy as np

    labels = np.unique(np.concatenate([y, pred]))
    tp = [cols.add((pred == k) & (y == k)) for k in labels]
    pp = [cols.add(pred == k) for k in labels]
    ap = [cols.add(y == k) for k in labels]

    def value(W: Any, S: Any) -> Any:
        f1 = _f1(S[:, tp], S[:, pp], S[:, ap])
        if weighted:
            return _ratio((f1 * S[:, ap]).sum(axis=1), S[:, ap].sum(axis=1), 0.0)
        present = (S[:, pp] + S[:, ap]) > 0
        return _ratio((f1 * present).sum(axis=1), present.sum(axis=1), float("nan"))

    return value


def _accuracy(cols: Columns, y: Any, pred: Any, proba: Any, ctx: Any) -> Statistic:
    return _mean(cols, pred == y)


def _balanced_accuracy(cols: Columns, y: Any, pred: Any, proba: Any, ctx: Any) -> Statistic:
    """Mean recall over the classes in the truth."""
    import numpy as np

    classes = np.unique(y)
    hit = [cols.add((pred == y) & (y == k)) for k in classes]
    support = [cols.add(y == k) for k in classes]

    def value(W: Any, S: Any) -> Any:
        recall = _ratio(S[:, hit], S[:, support], float("nan"))
        with np.errstate(invalid="ignore"):
            seen = ~np.isnan(recall)
            return _ratio(np.where(seen, recall, 0).sum(axis=1), seen.sum(axis=1), float("nan"))

    return value


def _log_loss(cols: Columns, y: Any, pred: Any, proba: Any, ctx: Any) -> Statistic:
    import numpy as np

    eps = np.finfo(np.float64).eps
    p_true = np.clip(proba[np.arange(len(y)), y], eps, 1 - eps)
    return _mean(cols, -np.log(p_true))


def _roc_auc(cols: Columns, y: Any, pred: Any, proba: Any, ctx: Any) -> Statistic:
    """Binary: AUC of the positive class's score; multiclass: one-vs-rest, macro mean."""
    import numpy as np

    width = proba.shape[1]
    positives = [1] if width == 2 else list(range(width))
    parts = [_auc(y, proba[:, k], k, ctx.blocks.get(k)) for k in positives]

    def value(W: Any, S: Any) -> Any:
        return np.mean([part(W) for part in parts], axis=0)

    return value


def _auc(y: Any, score: Any, positive: int, block: tuple[int, int] | None) -> Callable[[Any], Any]:
    """ROC AUC of ``score`` for ``y == positive`` against the rest, as a function of ``W``.

    ``block`` is where the positive class's rows sit (classes are contiguous in the
    canonical order); None when the class has no rows, where AUC is undefined.
    """
    import numpy as np

    n = len(y)
    if block is None or block[1] in (0, n):
        return lambda W: np.full(W.shape[0], float("nan"))
    start, size = block
    pos = slice(start, start + size)
    negatives = np.concatenate([np.arange(start), np.arange(start + size, n)])
    neg_order = negatives[np.argsort(score[negatives], kind="stable")]
    sorted_neg = score[neg_order]
    # For each positive: how many negatives score below it (lo) and at most it (hi).
    lo = np.searchsorted(sorted_neg, score[pos], side="left")
    hi = np.searchsorted(sorted_neg, score[pos], side="right")
    ties = bool((lo != hi).any())
    in_place = bool((neg_order == np.arange(len(neg_order))).all())  # the candidate's order

    def value(W: Any) -> Any:
        # np.take, not W[:, order]: a column gather three times as fast here.
        neg = W[:, : len(neg_order)] if in_place else np.take(W, neg_order, axis=1)
        below = np.empty((W.shape[0], len(neg_order) + 1), dtype=W.dtype)
        below[:, 0] = 0
        np.cumsum(neg, axis=1, out=below[:, 1:])
        outranked = np.take(below, lo, axis=1)
        if ties:
            outranked += np.take(below, hi, axis=1)
            outranked *= 0.5
        w_pos = W[:, pos]
        # Row-wise dot products (BLAS); each product is exact: counts times half-counts.
        num = np.matmul(w_pos[:, None, :], outranked[:, :, None])[:, 0, 0]
        den = w_pos.sum(axis=1, dtype=np.float64) * below[:, -1].astype(np.float64)
        return _ratio(num, den, float("nan"))

    return value


def _regression(kind: str) -> Callable[..., Statistic]:
    def build(cols: Columns, y: Any, pred: Any, proba: Any, ctx: Any) -> Statistic:
        import numpy as np

        error = pred - y
        if kind == "mae":
            return _mean(cols, np.abs(error))
        if kind == "mape":
            return _mean(cols, np.abs(error) / np.maximum(np.abs(y), np.finfo(np.float64).eps))
        if kind == "rmse":
            squared = _mean(cols, error**2)
            return lambda W, S: np.sqrt(squared(W, S))
        # r2 = 1 - SSE / SST; y centred first, so SST is not a difference of large sums.
        centred = y - y.mean()
        sse, sy, syy, t = cols.add(error**2), cols.add(centred), cols.add(centred**2), cols.total

        def r2(W: Any, S: Any) -> Any:
            sst = S[:, syy] - _ratio(S[:, sy] ** 2, S[:, t], 0.0)
            flat = np.where(S[:, sse] == 0, 1.0, 0.0)  # scikit-learn's force_finite
            return np.where(sst > 0, 1 - _ratio(S[:, sse], sst, 0.0), flat)

        return r2

    return build


BUILDERS: dict[str, Callable[..., Statistic]] = {
    "accuracy": _accuracy,
    "balanced_accuracy": _balanced_accuracy,
    "f1": _binary_f1,
    "precision": _precision,
    "recall": _recall,
    "f1_macro": lambda cols, y, pred, proba, ctx: _per_class_f1(cols, y, pred, weighted=False),
    "f1_weighted": lambda cols, y, pred, proba, ctx: _per_class_f1(cols, y, pred, weighted=True),
    "roc_auc": _roc_auc,
    "log_loss": _log_loss,
    "rmse": _regression("rmse"),
    "mae": _regression("mae"),
    "r2": _regression("r2"),
    "mape": _regression("mape"),
}
