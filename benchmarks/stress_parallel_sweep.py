"""A parallel sweep on a fresh store, many times over, beside busy loops: does it hold?

``tests/test_store_init.py::test_a_parallel_sweep_on_a_fresh_store`` once lost a trial's
run on a loaded 2-core machine and still exited 0. This runs the same sweep (joblib, 2
workers, 4 trials, a new sqlite store each time) ``--runs`` times while ``--busy``
processes spin on the CPUs, and prints, per run, the exit status and the runs the store
holds. A sweep must either record all 5 runs (the parent and 4 trials) and exit 0, or
exit non-zero naming the trial it could not record.

    python benchmarks/stress_parallel_sweep.py --runs 50 --busy 2
"""

from __future__ import annotations

import argparse
import multiprocessing
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

SWEEP = [
    "-m",
    "experiment=xgb_baseline",
    "model.params.n_estimators=5",
    "run.log_plots=false",
    "run.log_model=false",
    "promotion.enabled=false",
    "tracking.experiment_name=fresh",
    "hydra/launcher=joblib",
    "hydra.launcher.n_jobs=2",
    "model.params.max_depth=2,3,4,5",
]


def _spin() -> None:
    while True:
        pass


def _one(folder: Path) -> tuple[int, int, list[str], str]:
    from mlflow import MlflowClient

    uri = f"sqlite:///{folder / 'mlflow.db'}"
    proc = subprocess.run(
        [sys.executable, "-m", "declarative_ml", *SWEEP, f"tracking.uri={uri}"],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=900,
    )
    client = MlflowClient(uri)
    experiment = client.get_experiment_by_name("fresh")
    runs = client.search_runs([experiment.experiment_id]) if experiment else []
    last = proc.stderr.strip().splitlines()[-1] if proc.stderr.strip() else ""
    return proc.returncode, len(runs), sorted(r.info.status for r in runs), last


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--busy", type=int, default=2, help="busy loops beside the sweeps")
    args = parser.parse_args()
    spinners = [multiprocessing.Process(target=_spin, daemon=True) for _ in range(args.busy)]
    for spinner in spinners:
        spinner.start()
    outcomes: Counter[str] = Counter()
    start = time.perf_counter()
    try:
        for index in range(1, args.runs + 1):
            with tempfile.TemporaryDirectory(prefix="dml-stress-") as tmp:
                code, count, statuses, last = _one(Path(tmp))
            whole = code == 0 and count == 5 and set(statuses) == {"FINISHED"}
            loud = code != 0 and "could not be recorded" in last
            verdict = "whole" if whole else ("failed loudly" if loud else "LOST SILENTLY")
            outcomes[verdict] += 1
            print(f"{index:3d} exit {code} runs {count} {verdict}  {last[:120]}", flush=True)
    finally:
        for spinner in spinners:
            spinner.terminate()
    minutes = (time.perf_counter() - start) / 60
    summary = f"{args.runs} sweeps beside {args.busy} busy loops in {minutes:.1f} min"
    print(f"\n{summary}: {dict(outcomes)}")


if __name__ == "__main__":
    main()
