"""Sweep throughput: our grid sweep, sequential and with 2 joblib workers, beside a
hand-written MLflow loop doing the same logging, in one invocation.

The sweep: scikit-learn's digits (1,797 rows, 64 features, 10 classes), XGBoost with
``--estimators`` rounds and ``n_jobs=1`` (as ``conf/model/xgboost.yaml``), a grid over
``max_depth`` x ``learning_rate`` (``--depths`` x ``--rates``: 32 trials by default).
Each command runs in a fresh subprocess on its own fresh sqlite store (schema created
before timing, as a team's store would be); commands alternate within each round, in a
rotating order, so drift in machine load hits them all alike.

Per command it prints the median wall time, trials per minute, the summed fit time,
the overhead per trial beyond the fit, ``(wall x workers - summed fit) / trials``
(worker-seconds a trial costs besides its fit; for one process simply
``(wall - fit) / trials``), the CPU seconds of the whole process tree and the load
average the machine had meanwhile (other users' work slows every figure).

    python benchmarks/sweep_throughput.py                  # 32 trials, 3 rounds
    python benchmarks/sweep_throughput.py --depths 3,4 --rates 0.1,0.3 --repeats 1
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
SPEEDUP_TARGET = 1.5  # 2 workers against 1, on a 2-core machine
# Our side of the job: the same data and model as handwritten_sweep.py.
DIGITS = (
    "experiment=xgb_baseline",
    "dataset.loader=digits",
    "dataset.name=digits",
    "dataset.task=multiclass",
    "metrics=[accuracy,f1_macro,log_loss]",
    "promotion.enabled=false",  # the hand-written loop registers nothing either
)


@dataclass(frozen=True)
class Timing:
    wall: float
    fit: float
    cpu: float
    load: float


def _ours(args: argparse.Namespace, uri: str, sweep_dir: Path, workers: int) -> list[str]:
    cmd = [
        sys.executable,
        "-m",
        "declarative_ml",
        "-m",
        *DIGITS,
        f"tracking.uri={uri}",
        f"model.params.n_estimators={args.estimators}",
        f"model.params.max_depth={args.depths}",
        f"model.params.learning_rate={args.rates}",
        f"hydra.sweep.dir={sweep_dir}",
    ]
    if workers > 1:
        cmd += ["hydra/launcher=joblib", f"hydra.launcher.n_jobs={workers}"]
    return cmd


def _handwritten(args: argparse.Namespace, uri: str) -> list[str]:
    return [
        sys.executable,
        str(HERE / "handwritten_sweep.py"),
        "--tracking-uri",
        uri,
        "--depths",
        args.depths,
        "--rates",
        args.rates,
        "--estimators",
        str(args.estimators),
    ]


def _fit_seconds_ours(uri: str, trials: int) -> float:
    import mlflow

    client = mlflow.MlflowClient(uri)
    runs = client.search_runs([e.experiment_id for e in client.search_experiments()])
    fits = [
        r.data.metrics["training_duration_s"]
        for r in runs
        if r.data.tags.get("dml.sweep") != "parent"
    ]
    if len(fits) != trials:
        sys.exit(f"expected {trials} finished trials, found {len(fits)} in {uri}")
    return sum(fits)


def _store(workdir: Path, name: str) -> str:
    import mlflow

    uri = f"sqlite:///{workdir / name}.db"
    mlflow.MlflowClient(uri).search_experiments()  # create the schema before timing
    return uri


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _time(
    cmd: list[str], cwd: Path
) -> tuple[subprocess.CompletedProcess[str], float, float, float]:
    load_before = os.getloadavg()[0]
    cpu = _children_cpu()
    start = time.perf_counter()
    proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True)
    wall = time.perf_counter() - start
    return proc, wall, _children_cpu() - cpu, (load_before + os.getloadavg()[0]) / 2


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--depths", default="3,4,5,6,7,8,9,10", help="max_depth grid")
    parser.add_argument("--rates", default="0.05,0.1,0.2,0.3", help="learning_rate grid")
    parser.add_argument("--estimators", type=int, default=500, help="boosting rounds per fit")
    parser.add_argument("--workers", type=int, default=2, help="joblib workers (n_jobs)")
    parser.add_argument("--repeats", type=int, default=3, help="rounds; medians are printed")
    parser.add_argument("--workdir", type=Path, help="default: a fresh temporary directory")
    parser.add_argument(
        "--skip-handwritten", action="store_true", help="time only our two sweeps (A/B runs)"
    )
    args = parser.parse_args()
    os.environ.setdefault("MLFLOW_LOGGING_LEVEL", "WARNING")  # no store-creation chatter
    trials = len(args.depths.split(",")) * len(args.rates.split(","))
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="dml-sweep-bench-"))
    workdir.mkdir(parents=True, exist_ok=True)
    print(f"workdir: {workdir}; {trials} trials per sweep, {os.cpu_count()} CPUs")
    par = f"ours, {args.workers} workers"
    names = ["ours, 1 worker", par] + ([] if args.skip_handwritten else ["handwritten"])
    workers = {"ours, 1 worker": 1, par: args.workers, "handwritten": 1}
    results: dict[str, list[Timing]] = {name: [] for name in names}
    for round_ in range(args.repeats):
        for name in names[round_ % len(names) :] + names[: round_ % len(names)]:
            label = f"{name.replace(', ', '-').replace(' ', '')}-{round_}"
            uri = _store(workdir, label)
            if name == "handwritten":
                cmd = _handwritten(args, uri)
            else:
                cmd = _ours(args, uri, workdir / "sweeps" / label, workers[name])
            proc, wall, cpu, load = _time(cmd, workdir)
            if proc.returncode != 0:
                print(proc.stdout[-1000:], proc.stderr[-3000:], sep="\n")
                sys.exit(f"{name} failed with exit code {proc.returncode}")
            if name == "handwritten":
                found = re.search(r"fit_seconds=([\d.]+)", proc.stdout)
                assert found is not None, proc.stdout[-500:]
                fit = float(found.group(1))
            else:
                fit = _fit_seconds_ours(uri, trials)
            results[name].append(Timing(wall, fit, cpu, load))
            print(
                f"round {round_ + 1}: {name:16s} {wall:7.2f} s  fits {fit:6.2f} s  "
                f"CPU {cpu:7.2f} s  load {load:4.1f}",
                flush=True,
            )

    print(
        f"\n{trials} trials per sweep, {args.estimators} rounds per fit; median of {args.repeats}"
    )
    print(
        f"{'command':18s} {'wall s':>7s} {'trials/min':>10s} {'speedup':>8s} {'fit s':>7s} "
        f"{'overhead/trial s':>16s} {'CPU s':>7s} {'load':>5s}"
    )
    wall = {}
    overhead = {}
    for name in names:
        values = results[name]
        wall[name] = statistics.median(t.wall for t in values)
        fit = statistics.median(t.fit for t in values)
        overhead[name] = statistics.median(
            (t.wall * workers[name] - t.fit) / trials for t in values
        )
        print(
            f"{name:18s} {wall[name]:7.2f} {60 * trials / wall[name]:10.1f} "
            f"{wall['ours, 1 worker'] / wall[name]:7.2f}x {fit:7.2f} {overhead[name]:16.3f} "
            f"{statistics.median(t.cpu for t in values):7.1f} "
            f"{statistics.median(t.load for t in values):5.1f}"
        )
    speedup = wall["ours, 1 worker"] / wall[par]
    print(
        f"\n{args.workers} workers vs 1: {speedup:.2f}x (target >= {SPEEDUP_TARGET}x): "
        f"{'MET' if speedup >= SPEEDUP_TARGET else 'NOT MET'}"
    )
    if "handwritten" not in overhead:
        return
    below = overhead["ours, 1 worker"] < overhead["handwritten"]
    print(
        f"overhead per trial, ours {overhead['ours, 1 worker']:.3f} s vs hand-written "
        f"{overhead['handwritten']:.3f} s: {'MET' if below else 'NOT MET'}"
    )


if __name__ == "__main__":
    main()
