"""Speed of the paired bootstrap behind rules with ``confidence``.

The job: two binary classifiers scored on the same 100,000 rows (40% positive), ROC AUC
and log loss of both on 2,000 stratified resamples of the rows, the resamples shared
by the two models (what ``promotion.bootstrap`` does for ``test_roc_auc`` and
``test_log_loss`` rules). Timed side by side, alternating within one invocation:

- ``ours``: ``declarative_ml.bootstrap.paired_bootstrap`` (resamples as count matrices,
  rows sorted once, weighted counts per resample);
- ``handwritten``: the loop one writes by hand: per resample, draw row indexes within
  each class, then scikit-learn's ``roc_auc_score`` and ``log_loss`` for both models.
  It is timed on ``--hand-resamples`` resamples (default 40) and scaled to 2,000,
  since running it in full takes minutes.

Prints median, min and max wall-clock seconds per command (for 2,000 resamples), the
CPU seconds of ours (what it costs whatever else the machine runs), the load average
during the rounds, and whether ours meets the target: under 2 s of wall clock.

    python benchmarks/bootstrap_speed.py --repeats 5
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from typing import Any

ROWS = 100_000
RESAMPLES = 2000
TARGET_S = 2.0


def _data(rows: int) -> tuple[Any, Any, Any]:
    import numpy as np

    rng = np.random.default_rng(0)
    y = (rng.random(rows) < 0.4).astype(int)
    shared = rng.normal(size=rows)

    def model(signal: float) -> Any:
        score = signal * y + 0.6 * shared + 0.8 * rng.normal(size=rows)
        p = 1 / (1 + np.exp(-(score - signal / 2)))
        return np.stack([1 - p, p], axis=1)

    return y, model(2.0), model(2.1)


def ours(y: Any, a: Any, b: Any, resamples: int) -> tuple[float, float]:
    """Wall-clock and CPU seconds of ``paired_bootstrap`` on the job."""
    from declarative_ml.bootstrap import RowScores, paired_bootstrap

    start, cpu = time.perf_counter(), time.process_time()
    paired_bootstrap(
        ["roc_auc", "log_loss"],
        y,
        RowScores(a.argmax(axis=1), a),
        RowScores(b.argmax(axis=1), b),
        classification=True,
        resamples=resamples,
        seed=0,
    )
    return time.perf_counter() - start, time.process_time() - cpu


def handwritten(y: Any, a: Any, b: Any, resamples: int) -> float:
    """Per resample: stratified indexes, then scikit-learn for both models; seconds."""
    import numpy as np
    from sklearn.metrics import log_loss, roc_auc_score

    rng = np.random.default_rng(0)
    classes = [np.flatnonzero(y == k) for k in (0, 1)]
    start = time.perf_counter()
    for _ in range(resamples):
        idx = np.concatenate([rows[rng.integers(0, len(rows), len(rows))] for rows in classes])
        for proba in (a, b):
            roc_auc_score(y[idx], proba[idx, 1])
            log_loss(y[idx], proba[idx], labels=[0, 1])
    return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=5, help="rounds of each command")
    parser.add_argument("--rows", type=int, default=ROWS)
    parser.add_argument("--hand-resamples", type=int, default=40, help="scaled to 2,000")
    args = parser.parse_args()

    y, a, b = _data(args.rows)
    ours(y, a, b, 10)  # imports and first-touch costs out of the way
    handwritten(y, a, b, 1)
    times: dict[str, list[float]] = {"ours": [], "handwritten": []}
    cpu: list[float] = []
    load = [os.getloadavg()[0]]
    for _ in range(args.repeats):  # alternated, so load drift hits both alike
        wall, used = ours(y, a, b, RESAMPLES)
        times["ours"].append(wall)
        cpu.append(used)
        seconds = handwritten(y, a, b, args.hand_resamples)
        times["handwritten"].append(seconds * RESAMPLES / args.hand_resamples)
        load.append(os.getloadavg()[0])

    print(
        f"ROC AUC + log loss of 2 models, {args.rows:,} rows, {RESAMPLES:,} paired "
        f"resamples (n={args.repeats}; handwritten timed on {args.hand_resamples} and scaled)"
    )
    print(f"{'command':12s} {'median':>8s} {'min':>8s} {'max':>8s}   (seconds)")
    for name, values in times.items():
        print(f"{name:12s} {statistics.median(values):8.2f} {min(values):8.2f} {max(values):8.2f}")
    median = statistics.median(times["ours"])
    ratio = statistics.median(times["handwritten"]) / median
    print(f"{'ours (CPU)':12s} {statistics.median(cpu):8.2f} {min(cpu):8.2f} {max(cpu):8.2f}")
    print(f"\nhandwritten / ours: {ratio:.0f}x")
    print(f"load average (1 min) during the rounds: {min(load):.1f} to {max(load):.1f}")
    print(f"target: ours < {TARGET_S:g} s: {'MET' if median < TARGET_S else 'NOT MET'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
