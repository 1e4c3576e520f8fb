"""``dml evaluate MODEL_REF dataset=NAME``: score a registered model on new data."""

from __future__ import annotations

import tempfile
from argparse import Namespace
from typing import Any

from declarative_ml.cli.output import emit, table
from declarative_ml.cli.refs import parse_ref, resolve


def evaluate(client: Any, args: Namespace) -> None:
    """Score ``args.ref`` on the dataset the overrides name; log an evaluation run."""
    from omegaconf import OmegaConf

    from declarative_ml.config.compose import compose_config
    from declarative_ml.metrics import resolve_metrics
    from declarative_ml.scoring import score_logged_model
    from declarative_ml.tracking.record import log_run_data
    from declarative_ml.tracking.store import get_or_create_experiment

    version = resolve(client, parse_ref(args.ref))
    with tempfile.TemporaryDirectory() as tmp:
        trained = OmegaConf.load(
            client.download_artifacts(version.run_id, "config/config.yaml", tmp)
        )
    cfg = compose_config(args.overrides)
    task = str(trained.dataset.task)
    metrics = resolve_metrics(list(trained.metrics) if trained.metrics else None, task)
    values, rows = score_logged_model(
        f"models:/{version.name}/{version.version}", cfg.dataset, metrics=metrics, task=task
    )
    experiment_id = get_or_create_experiment(client, f"{cfg.dataset.name}-evaluation")
    run = client.create_run(
        experiment_id,
        tags={
            "dml.evaluation.model": f"{version.name}/{version.version}",
            "dml.evaluation.dataset": cfg.dataset.name,
            "dml.evaluation.rows": str(rows),
        },
    )
    log_run_data(client, run.info.run_id, metrics={f"eval_{k}": v for k, v in values.items()})
    client.set_terminated(run.info.run_id, "FINISHED")
    training = client.get_run(version.run_id).data.metrics
    table_rows = [
        {"metric": m, cfg.dataset.name: values[m], "test (training)": training.get(f"test_{m}")}
        for m in metrics
    ]
    data = {
        "model": f"{version.name}/{version.version}",
        "dataset": cfg.dataset.name,
        "rows": rows,
        "run_id": run.info.run_id,
        "metrics": values,
        "training_test_metrics": {m: training.get(f"test_{m}") for m in metrics},
    }
    emit(
        data,
        as_json=args.json,
        text=(
            f"{version.name}/{version.version} on {cfg.dataset.name} ({rows} rows), "
            f"evaluation run {run.info.run_id}\n"
            + table(table_rows, ["metric", cfg.dataset.name, "test (training)"])
        ),
    )
