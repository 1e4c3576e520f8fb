"""Resamples of rows as count matrices: how often each row is drawn, per resample.

A resample draws ``n`` rows with replacement (within each class when stratified, so every
resample keeps the class counts of the rows). Writing it as counts turns any metric into
weighted sums over the rows, which numpy computes for many resamples at once (a matrix
product, a cumulative sum), instead of one metric call per resample.

Rows are laid out in a *canonical order*: by class, and within a class by the
candidate's score. Resampling is blind to the labelling of rows, so this costs nothing
and saves a gather per resample for the candidate's ROC AUC (its negatives are already
in score order).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

# Cells (resamples x rows) per chunk: 4 MB of float32 counts, near L2, so a chunk stays
# cheap to revisit for each metric (4M cells took twice as long per resample here). A
# constant, so the chunking (and with it which random numbers go to which resample)
# depends only on the rows, never on the machine.
CHUNK_CELLS = 1_000_000
# Below this many rows per stratum one flat ``bincount`` over the whole chunk is faster;
# above it, one per resample (its output row stays in cache).
_FLAT_BELOW = 20_000


@dataclass(frozen=True)
class Layout:
    """The canonical order of the rows and its strata.

    Attributes:
        order: ``order[i]`` is the original index of the row at canonical position ``i``.
        strata: ``(start, size)`` of each stratum in canonical order (one stratum, all
            rows, when not stratified).
        classes: per stratum, the class it holds (empty for regression or when not
            stratified).
        blocks: ``(start, size)`` of each class's rows in canonical order, by class
            index (present classes only; empty for regression). Classes are contiguous
            whether or not draws are stratified.
    """

    order: Any
    strata: tuple[tuple[int, int], ...]
    classes: tuple[int, ...]
    blocks: dict[int, tuple[int, int]]

    @property
    def rows(self) -> int:
        """How many rows there are."""
        return len(self.order)


def layout(y: Any, key: Any | None, *, classification: bool, stratify: bool) -> Layout:
    """Order rows by class, then by ``key`` (the candidate's score; None keeps row order).

    Args:
        y: targets (class indexes for classification).
        key: a per-row sort key within a class, or None.
        classification: whether ``y`` holds classes.
        stratify: whether each class is resampled on its own.

    Returns:
        The :class:`Layout`.
    """
    import numpy as np

    n = len(y)
    if not classification:
        return Layout(np.arange(n), ((0, n),), (), {})
    y = np.asarray(y)
    secondary = np.zeros(n) if key is None else np.asarray(key, dtype=float)
    order = np.lexsort((secondary, y))  # by y, then by key; stable
    present, counts = np.unique(y[order], return_counts=True)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    blocks = {int(c): (int(s), int(k)) for c, s, k in zip(present, starts, counts, strict=True)}
    if stratify:
        return Layout(order, tuple(blocks.values()), tuple(blocks), blocks)
    return Layout(order, ((0, n),), (), blocks)


def chunk_size(rows: int) -> int:
    """Resamples per chunk for ``rows`` rows (at least one)."""
    return max(1, CHUNK_CELLS // max(rows, 1))


def count_chunks(
    strata: Sequence[tuple[int, int]], resamples: int, seed: int, *, dtype: Any = None
) -> Iterator[Any]:
    """Yield count matrices, ``(resamples in chunk, rows)``, until ``resamples`` are drawn.

    Each stratum ``(start, size)`` gets ``size`` draws with replacement from its own
    rows, so a resample has exactly as many rows of each stratum as the data.

    Args:
        strata: ``(start, size)`` per stratum, covering the rows in order.
        resamples: how many resamples in all.
        seed: the random generator's seed (the same seed, the same resamples).
        dtype: the counts' dtype (default float32: exact for counts up to 2**24).

    Yields:
        Arrays of counts; row ``r`` of a chunk is one resample.
    """
    import numpy as np

    # SFC64: a fast generator of good statistical quality; drawing dominates the cost.
    rng = np.random.Generator(np.random.SFC64(seed))
    rows = sum(size for _, size in strata)
    per_chunk = chunk_size(rows)
    dtype = np.float32 if dtype is None else dtype
    done = 0
    while done < resamples:
        c = min(per_chunk, resamples - done)
        counts = np.empty((c, rows), dtype=dtype)
        for start, size in strata:
            # intp: what bincount counts in, so it converts nothing
            draws = rng.integers(0, size, size=(c, size), dtype=np.intp)
            _count(draws, size, counts[:, start : start + size])
        done += c
        yield counts


def _count(draws: Any, size: int, out: Any) -> None:
    """Write how often each of ``size`` rows was drawn, per resample, into ``out``."""
    import numpy as np

    c = draws.shape[0]
    if size < _FLAT_BELOW:
        offsets = (np.arange(c, dtype=np.intp) * size)[:, None]
        flat = np.bincount((draws + offsets).ravel(), minlength=c * size)
        out[...] = flat.reshape(c, size)
        return
    for r in range(c):
        out[r] = np.bincount(draws[r], minlength=size)
