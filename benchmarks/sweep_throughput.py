"""Sweep throughput: our grid sweep, sequential and with 2 joblib workers, beside a
hand-written MLflow loop doing the same logging.

Prints trials per minute and the per-trial overhead beyond the fit (wall time minus
summed fit time, divided by the number of trials). Each command runs in a fresh
subprocess on its own fresh sqlite store (created before timing, as a team would).

    python benchmarks/sweep_throughput.py --trials 8 --repeats 2
"""

from __future__ import annotations

import argparse
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def _ours(uri: str, trials: int, workers: int, estimators: int) -> list[str]:
    depths = ",".join(str(d) for d in range(2, 2 + trials))
    cmd = [
        sys.executable,
        "-m",
        "declarative_ml",
        "-m",
        "experiment=xgb_baseline",
        f"tracking.uri={uri}",
        f"model.params.max_depth={depths}",
        f"model.params.n_estimators={estimators}",
        "promotion.enabled=false",
    ]
    if workers > 1:
        cmd += ["hydra/launcher=joblib", f"hydra.launcher.n_jobs={workers}"]
    return cmd


def _fit_seconds_ours(uri: str) -> float:
    import mlflow

    client = mlflow.MlflowClient(uri)
    runs = client.search_runs([e.experiment_id for e in client.search_experiments()])
    return sum(r.data.metrics.get("training_duration_s", 0.0) for r in runs)


def _store(workdir: Path, name: str) -> str:
    import mlflow

    uri = f"sqlite:///{workdir / name}.db"
    mlflow.MlflowClient(uri).search_experiments()  # create the schema before timing
    return uri


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=8)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--estimators", type=int, default=200, help="boosting rounds per fit")
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="dml-sweep-bench-"))
    print(f"workdir: {workdir}")
    results: dict[str, list[tuple[float, float]]] = {
        "ours, 1 worker": [],
        "ours, 2 workers": [],
        "handwritten": [],
    }
    for round_ in range(args.repeats):
        for name in results:
            uri = _store(workdir, f"{name.replace(', ', '-').replace(' ', '')}-{round_}")
            if name == "handwritten":
                cmd = [
                    sys.executable,
                    str(HERE / "handwritten_sweep.py"),
                    "--tracking-uri",
                    uri,
                    "--trials",
                    str(args.trials),
                ]
            else:
                cmd = _ours(uri, args.trials, 2 if "2" in name else 1, args.estimators)
            start = time.perf_counter()
            proc = subprocess.run(cmd, cwd=workdir, capture_output=True, text=True)
            wall = time.perf_counter() - start
            if proc.returncode != 0:
                print(proc.stderr[-2000:])
                sys.exit(1)
            if name == "handwritten":
                fit = float(re.search(r"fit_seconds=([\d.]+)", proc.stdout).group(1))  # type: ignore[union-attr]
            else:
                fit = _fit_seconds_ours(uri)
            results[name].append((wall, fit))
            print(f"round {round_ + 1}: {name:16s} {wall:6.2f} s (fits {fit:.2f} s)")
    print(f"\n{args.trials} trials per sweep, median of {args.repeats}")
    print(f"{'command':16s} {'wall s':>8s} {'trials/min':>11s} {'overhead/trial s':>17s}")
    medians = {}
    for name, values in results.items():
        wall = statistics.median(w for w, _ in values)
        fit = statistics.median(f for _, f in values)
        medians[name] = (wall, (wall - fit) / args.trials)
        print(f"{name:16s} {wall:8.2f} {60 * args.trials / wall:11.1f} {medians[name][1]:17.3f}")
    speedup = medians["ours, 1 worker"][0] / medians["ours, 2 workers"][0]
    below = medians["ours, 1 worker"][1] < medians["handwritten"][1]
    verdict = "MET" if speedup >= 1.5 else "NOT MET"
    print(f"\n2 workers vs 1: {speedup:.2f}x (target >= 1.5x): {verdict}")
    print(f"overhead per trial below hand-written: {'MET' if below else 'NOT MET'}")


if __name__ == "__main__":
    main()
