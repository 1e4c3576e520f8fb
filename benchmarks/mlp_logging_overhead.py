"""Per-epoch logging overhead of ``model=mlp``: training time with and without it.

One process, the data and network of ``experiment=mlp_baseline`` (breast cancer,
stratified 70/10/20 split, hidden layers [64, 32], Adam, batch 32), every epoch run
(no early stopping, so each variant trains the same number of epochs). Each round
times, side by side:

- ``fit``: no per-epoch validation, nothing logged;
- ``fit + epoch scores``: ``val_loss`` and ``val_{roc_auc,f1,accuracy,log_loss}``
  scored every epoch (the history early stopping and the curves need), not logged;
- ``+ log, run metrics only``: ``ActiveRun.log_training`` writes the run's metrics
  (one ``log_batch`` to a sqlite store), as every run does, without the history;
- ``+ log with history (ours)``: the same call with the history: the epochs at
  steps 0..n-1 and the run's metrics at step n, still one ``log_batch``;
- ``+ log (naive)``: one synchronous ``log_metric`` call per value and epoch, as a
  hand-written per-epoch loop would make.

The figure: what per-epoch logging adds, i.e. the logging call with history minus
the same call without it, over the time of the fit it logs (each timed around its
own call; median over rounds). Target: under 5%. The whole logging call over the
fit is printed too.

    python benchmarks/mlp_logging_overhead.py --epochs 100 --repeats 5
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

METRICS = ("roc_auc", "f1", "accuracy", "log_loss")
TARGET = 0.05


def _data() -> tuple[Any, ...]:
    from sklearn.datasets import load_breast_cancer
    from sklearn.model_selection import train_test_split

    X, y = load_breast_cancer(return_X_y=True)
    X_rest, _, y_rest, _ = train_test_split(X, y, test_size=0.2, random_state=42, stratify=y)
    return tuple(
        train_test_split(X_rest, y_rest, test_size=0.125, random_state=42, stratify=y_rest)
    )


def _model(epochs: int) -> Any:
    from declarative_ml.models.torch import MLPClassifier

    return MLPClassifier(hidden_layers=[64, 32], epochs=epochs, patience=None, n_jobs=1, seed=42)


def _fit(epochs: int, data: tuple[Any, ...], scored: bool) -> tuple[Any, float]:
    X_train, X_val, y_train, y_val = data
    model = _model(epochs)
    start = time.perf_counter()
    if scored:
        model.fit(X_train, y_train, eval_set=(X_val, y_val), eval_metrics=METRICS)
    else:
        model.set_params(validation_fraction=0.0).fit(X_train, y_train)
    return model, time.perf_counter() - start


def _log_ours(client: Any, experiment_id: str, model: Any, *, history: bool) -> float:
    """Seconds of ``ActiveRun.log_training`` with or without the per-epoch history."""
    from omegaconf import OmegaConf

    from declarative_ml.tracking.session import ActiveRun
    from declarative_ml.training import Trained

    run_id = client.create_run(experiment_id).info.run_id
    cfg = OmegaConf.create({"tracking": {"async": False}})
    summary = dict(model.history_[model.best_epoch_])  # the run's metrics, logged at step n
    trained = Trained(summary, None, None, None, model.history_ if history else None)
    start = time.perf_counter()
    active = ActiveRun(client, run_id, experiment_id, cfg, [], masked={})
    active.log_training(trained, signature_rows=None)
    elapsed = time.perf_counter() - start
    client.set_terminated(run_id)
    return elapsed


def _log_naive(client: Any, experiment_id: str, model: Any) -> float:
    run_id = client.create_run(experiment_id).info.run_id
    start = time.perf_counter()
    for step, record in enumerate(model.history_):
        for name, value in record.items():
            client.log_metric(run_id, name, value, step=step)
    elapsed = time.perf_counter() - start
    client.set_terminated(run_id)
    return elapsed


def _row(name: str, values: list[float]) -> str:
    return f"{name:<34}{statistics.median(values):>8.3f}{min(values):>8.3f}{max(values):>8.3f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=100)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--no-naive", action="store_true", help="skip the per-value baseline")
    args = parser.parse_args()

    import mlflow

    workdir = Path(tempfile.mkdtemp(prefix="dml-mlp-bench-"))
    client = mlflow.MlflowClient(f"sqlite:///{workdir / 'mlflow.db'}")
    experiment_id = client.create_experiment("mlp-logging-overhead")  # schema made before timing
    data = _data()
    _fit(2, data, scored=True)  # warm-up: torch's first call allocates and initialises

    times: dict[str, list[float]] = {k: [] for k in ("plain", "scored", "run", "ours", "naive")}
    added, whole, naive = [], [], []
    for _ in range(args.repeats):  # alternate, so drift in machine load hits all alike
        times["plain"].append(_fit(args.epochs, data, scored=False)[1])
        model, fit_s = _fit(args.epochs, data, scored=True)
        times["scored"].append(fit_s)
        run_s = _log_ours(client, experiment_id, model, history=False)
        log_s = _log_ours(client, experiment_id, model, history=True)
        times["run"].append(fit_s + run_s)
        times["ours"].append(fit_s + log_s)
        added.append((log_s - run_s) / fit_s)
        whole.append(log_s / fit_s)
        if not args.no_naive:
            model, fit_s = _fit(args.epochs, data, scored=True)
            naive_s = _log_naive(client, experiment_id, model)
            times["naive"].append(fit_s + naive_s)
            naive.append(naive_s / fit_s)

    per_epoch = len(model.history_[0])
    print(f"store: {workdir / 'mlflow.db'}")
    print(
        f"{args.epochs} epochs, {len(data[0])} training rows, "
        f"{args.epochs * per_epoch} per-epoch values ({per_epoch} per epoch)"
    )
    print(f"{'variant':<36}{'median':>8}{'min':>8}{'max':>8}   (seconds, n={args.repeats})")
    print(_row("fit", times["plain"]))
    print(_row("fit + epoch scores", times["scored"]))
    print(_row("  + log, run metrics only", times["run"]))
    print(_row("  + log with history (ours)", times["ours"]))
    if naive:
        print(_row("  + log (naive, 1 call per value)", times["naive"]))
    share = statistics.median(added)
    print(f"\nper-epoch logging adds (ours):          {share:7.1%} of training time")
    print(f"whole logging call with history (ours): {statistics.median(whole):7.1%}")
    if naive:
        print(f"naive per-value logging adds:           {statistics.median(naive):7.1%}")
    scoring = statistics.median(times["scored"]) / statistics.median(times["plain"]) - 1
    print(f"per-epoch scoring (not logging):        {scoring:+7.1%} (for reference)")
    verdict = "MET" if share < TARGET else "MISSED"
    print(f"target: per-epoch logging < {TARGET:.0%} of training time: {verdict}")


if __name__ == "__main__":
    main()
