"""Registry at scale: applying a promotion decision on a big store vs an empty one.

The decision path (``declarative_ml.promotion.promote_run``) reads the champion
through the ``@production`` alias and never searches runs or versions, so its cost
should not grow with the store. This benchmark builds two sqlite stores in the
workdir, using only ``mlflow.MlflowClient``:

- ``empty.db``: one run and one version of ``bench-model``, holding ``@production``;
- ``seeded.db``: ``--runs`` runs (three metrics each) and ``--versions`` versions of
  ``bench-model`` spread across them, one of which holds ``@production``.

Then, for ``--repeats`` rounds (after one untimed warm-up round), on each store in
turn: a fresh candidate run and its LoggedModel are made untimed, and only the
``promote_run`` call is timed. Candidates score ``test_roc_auc = 1.0``, so every
call passes all three gates and takes the full path on both stores: lock, champion
read, new version, ``@production`` moved, old champion archived, audit tags, the
decision logged on the run.

Usage: python benchmarks/registry_scale.py [--runs 10000] [--versions 1000]
                                           [--repeats 20] [--workdir DIR]
"""

import argparse
import logging
import random
import statistics
import tempfile
import time
from pathlib import Path

from mlflow import MlflowClient
from mlflow.entities import Metric

from declarative_ml.promotion import promote_run
from declarative_ml.rules import parse_gates

MODEL = "bench-model"
GATES = parse_gates(
    {
        "register": ["test_roc_auc >= 0.5"],
        "staging": ["test_roc_auc >= 0.5"],
        "production": ["test_roc_auc >= champion.test_roc_auc"],
    },
    source="bench",
)


def new_run(client, experiment_id, metrics):
    """A finished run with ``metrics`` logged in one batch; returns its id."""
    run_id = client.create_run(experiment_id).info.run_id
    now = int(time.time() * 1000)
    client.log_batch(run_id, metrics=[Metric(k, v, now, 0) for k, v in metrics.items()])
    client.set_terminated(run_id)
    return run_id


def random_metrics(rng):
    return {
        "test_roc_auc": rng.uniform(0.9, 1.0),
        "model_size_mb": rng.uniform(0.1, 50.0),
        "training_duration_s": rng.uniform(1.0, 600.0),
    }


def seed(client, workdir, name, runs, versions, rng):
    """Fill a store with ``runs`` runs and ``versions`` versions; the last one is @production."""
    artifacts = (workdir / f"artifacts-{name}").as_uri()
    experiment_id = client.create_experiment("bench", artifact_location=artifacts)
    start = time.perf_counter()
    run_ids = []
    for i in range(runs):
        run_ids.append(new_run(client, experiment_id, random_metrics(rng)))
        if (i + 1) % 1000 == 0:
            print(f"  {name}: {i + 1} runs ({time.perf_counter() - start:.0f} s)", flush=True)
    runs_s = time.perf_counter() - start
    start = time.perf_counter()
    client.create_registered_model(MODEL)
    for j in range(versions):
        run_id = run_ids[j * runs // versions]
        logged = client.create_logged_model(experiment_id, name="model", source_run_id=run_id)
        version = client.create_model_version(
            MODEL,
            source=logged.artifact_location,
            run_id=run_id,
            model_id=logged.model_id,
            tags={"stage": "none"},
        ).version
        if (j + 1) % 1000 == 0:
            print(f"  {name}: {j + 1} versions ({time.perf_counter() - start:.0f} s)", flush=True)
    client.set_registered_model_alias(MODEL, "production", str(version))
    client.set_model_version_tag(MODEL, str(version), "stage", "production")
    versions_s = time.perf_counter() - start
    print(
        f"{name}.db: {runs} runs in {runs_s:.1f} s, {versions} versions in {versions_s:.1f} s",
        flush=True,
    )
    return experiment_id


def timed_promotion(client, experiment_id):
    """Make a candidate (untimed), then time only ``promote_run``; returns milliseconds."""
    metrics = {"test_roc_auc": 1.0, "model_size_mb": 1.0, "training_duration_s": 1.0}
    run_id = new_run(client, experiment_id, metrics)
    logged = client.create_logged_model(experiment_id, name="model", source_run_id=run_id)
    start = time.perf_counter()
    promotion = promote_run(
        client,
        gates=GATES,
        model_name=MODEL,
        run_id=run_id,
        metrics=metrics,
        model_uri=f"models:/{logged.model_id}",
    )
    elapsed = (time.perf_counter() - start) * 1000
    assert promotion.applied.stage == "production", promotion.decision.summary()
    return elapsed


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10_000)
    parser.add_argument("--versions", type=int, default=1_000)
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--workdir", type=Path, help="default: a fresh temporary directory")
    args = parser.parse_args()
    if not 1 <= args.versions <= args.runs or args.repeats < 1:
        parser.error("need 1 <= --versions <= --runs and --repeats >= 1")

    logging.getLogger("mlflow").setLevel(logging.WARNING)
    workdir = (args.workdir or Path(tempfile.mkdtemp(prefix="dml-registry-scale-"))).resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    print(f"workdir: {workdir}")
    sizes = {"empty": (1, 1), "seeded": (args.runs, args.versions)}
    rng = random.Random(42)
    stores = {}
    for name, (runs, versions) in sizes.items():
        if (workdir / f"{name}.db").exists():
            parser.error(f"{workdir / f'{name}.db'} exists; use a fresh --workdir")
        uri = f"sqlite:///{workdir}/{name}.db"
        client = MlflowClient(tracking_uri=uri, registry_uri=uri)
        stores[name] = (client, seed(client, workdir, name, runs, versions, rng))

    for client, experiment_id in stores.values():  # warm-up, untimed
        timed_promotion(client, experiment_id)
    times = {name: [] for name in stores}
    for i in range(args.repeats):
        for name, (client, experiment_id) in stores.items():
            times[name].append(timed_promotion(client, experiment_id))
        print(
            f"round {i + 1}/{args.repeats}: "
            + "  ".join(f"{n}={t[-1]:.0f}ms" for n, t in times.items()),
            flush=True,
        )

    med = {name: statistics.median(t) for name, t in times.items()}
    print(f"\npromote_run, milliseconds (n={args.repeats} per store)")
    print(f"{'store':<8} {'runs':>7} {'versions':>9} {'median':>8} {'p90':>8} {'max':>8}")
    for name, t in times.items():
        p90 = statistics.quantiles(t, n=10, method="inclusive")[-1] if len(t) > 1 else t[0]
        runs, versions = sizes[name]
        print(f"{name:<8} {runs:>7} {versions:>9} {med[name]:8.1f} {p90:8.1f} {max(t):8.1f}")
    print(
        f"\nseeded/empty median ratio: {med['seeded'] / med['empty']:.2f}x (target: about 1x; "
        "the decision reads the champion through @production, no run search)"
    )


if __name__ == "__main__":
    main()
