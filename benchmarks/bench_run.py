"""Speed benchmark: our tool vs hand-written MLflow vs no tracking at all.

All three commands do the xgb_baseline job (breast_cancer, stratified 80/20 split,
seed 42, XGBClassifier 100 trees, depth 6, lr 0.3). Each timing is the wall clock of
one fresh subprocess, imports included. All commands share ONE sqlite store, which is
warmed once (every command run once, untimed) before the timed rounds; the rounds
alternate the commands so drift in machine load hits them all alike.

Usage: python benchmarks/bench_run.py [--repeats 5] [--workdir DIR]
                                      [--only ours,handwritten,floor]
"""

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
NAMES = ("ours", "handwritten", "floor")
TARGET = 0.60  # ours must take at most this fraction of the hand-written time


def commands(uri):
    return {
        "ours": [
            sys.executable,
            "-m",
            "declarative_ml",
            "experiment=xgb_baseline",
            f"tracking.uri={uri}",
        ],
        "handwritten": [sys.executable, str(HERE / "handwritten_mlflow.py"), "--tracking-uri", uri],
        "floor": [sys.executable, str(HERE / "no_tracking.py")],
    }


def run_once(name, cmd, workdir, env):
    start = time.perf_counter()
    try:
        subprocess.run(cmd, cwd=workdir, env=env, check=True, capture_output=True, text=True)
    except subprocess.CalledProcessError as exc:
        print(f"{name} failed (exit {exc.returncode}): {' '.join(cmd)}", file=sys.stderr)
        print("\n".join(exc.stderr.splitlines()[-30:]), file=sys.stderr)
        sys.exit(1)
    return time.perf_counter() - start


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--workdir", type=Path, help="default: a fresh temporary directory")
    parser.add_argument(
        "--only", default=",".join(NAMES), help="comma-separated subset of: " + ", ".join(NAMES)
    )
    args = parser.parse_args()

    selected = [n.strip() for n in args.only.split(",") if n.strip()]
    if not selected or set(selected) - set(NAMES):
        parser.error(f"--only takes a comma-separated subset of {', '.join(NAMES)}")
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="dml-bench-"))
    workdir = workdir.resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    uri = f"sqlite:///{workdir}/mlflow.db"
    env = {**os.environ, "MLFLOW_TRACKING_URI": uri}
    cmds = {n: c for n, c in commands(uri).items() if n in selected}
    print(f"workdir: {workdir}\nstore:   {uri}\npython:  {sys.executable}")

    print("warm-up (untimed) ...", flush=True)
    for name, cmd in cmds.items():
        run_once(name, cmd, workdir, env)

    times = {name: [] for name in cmds}
    for i in range(args.repeats):
        for name, cmd in cmds.items():
            times[name].append(run_once(name, cmd, workdir, env))
        print(
            f"round {i + 1}/{args.repeats}: "
            + "  ".join(f"{n}={t[-1]:.2f}s" for n, t in times.items()),
            flush=True,
        )

    med = {name: statistics.median(t) for name, t in times.items()}
    print(f"\n{'command':<12} {'median':>8} {'min':>8} {'max':>8}   (seconds, n={args.repeats})")
    for name, t in times.items():
        print(f"{name:<12} {med[name]:8.2f} {min(t):8.2f} {max(t):8.2f}")
    if "ours" in med:
        print()
        if "floor" in med:
            print(f"ours / floor:       {med['ours'] / med['floor']:.2f}x")
        if "handwritten" in med:
            ratio = med["ours"] / med["handwritten"]
            print(f"ours / handwritten: {ratio:.2f}x")
            print(
                f"target: <= {TARGET:.2f}x hand-written: "
                + ("MET" if ratio <= TARGET else "NOT MET")
            )


if __name__ == "__main__":
    main()
