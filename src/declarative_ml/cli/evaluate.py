"""``dml evaluate MODEL_REF dataset=NAME``: score a registered model on new data."""

from __future__ import annotations

import os
import tempfile
from argparse import Namespace
from typing import Any

from declarative_ml.cli.output import emit, table
from declarative_ml.cli.refs import parse_ref, resolve


def score_model(model_uri: str, dataset_cfg: Any, metrics: tuple[str, ...],
                task: str) -> tuple[dict[str, float], int]:
    """Load a logged model without pickle, and score it on every row of a dataset.

    Returns:
        Metric values by name, and the number of rows scored.
    """
    import mlflow.pyfunc

    from declarative_ml.metrics import compute_metrics
    from declarative_ml.training import load_validated

    frame, target = load_validated(dataset_cfg, task)
    os.environ["MLFLOW_ALLOW_PICKLE_DESERIALIZATION"] = "false"  # our models never need it
    model = mlflow.pyfunc.load_model(model_uri)
    X, y = frame.drop(columns=[target]), frame[target]
    if task == "regression":
        pred = model.predict(X).to_numpy(dtype=float)
        return compute_metrics(metrics, y.to_numpy(dtype=float), pred, None), len(frame)
    proba = model.predict(X, params={"predict_method": "predict_proba"})
    classes = list(proba.columns)
    index = {c: i for i, c in enumerate(classes)}
    unknown = sorted({str(v) for v in y.unique()} - set(classes))
    if unknown:
        from declarative_ml.errors import DataValidationError

        raise DataValidationError(f"dataset.target: classes {unknown} were never seen by the "
                                  f"model (it knows {', '.join(classes)})")
    encoded = y.astype(str).map(index).to_numpy()
    values = proba.to_numpy()
    return compute_metrics(metrics, encoded, values.argmax(axis=1), values), len(frame)


def evaluate(client: Any, args: Namespace) -> None:
    """Score ``args.ref`` on the dataset the overrides name; log an evaluation run."""
    from omegaconf import OmegaConf

    from declarative_ml.config.compose import compose_config
    from declarative_ml.metrics import resolve_metrics
    from declarative_ml.tracking.record import log_run_data
    from declarative_ml.tracking.store import get_or_create_experiment

    version = resolve(client, parse_ref(args.ref))
    with tempfile.TemporaryDirectory() as tmp:
        trained = OmegaConf.load(client.download_artifacts(version.run_id,
                                                           "config/config.yaml", tmp))
    cfg = compose_config(args.overrides)
    task = str(trained.dataset.task)
    metrics = resolve_metrics(list(trained.metrics) if trained.metrics else None, task)
    values, rows = score_model(f"models:/{version.name}/{version.version}", cfg.dataset,
                               metrics, task)
    experiment_id = get_or_create_experiment(client, f"{cfg.dataset.name}-evaluation")
    run = client.create_run(experiment_id, tags={
        "dml.evaluation.model": f"{version.name}/{version.version}",
        "dml.evaluation.dataset": cfg.dataset.name, "dml.evaluation.rows": str(rows)})
    log_run_data(client, run.info.run_id, metrics={f"eval_{k}": v for k, v in values.items()})
    client.set_terminated(run.info.run_id, "FINISHED")
    training = client.get_run(version.run_id).data.metrics
    table_rows = [{"metric": m, cfg.dataset.name: values[m], "test (training)":
                   training.get(f"test_{m}")} for m in metrics]
    data = {"model": f"{version.name}/{version.version}", "dataset": cfg.dataset.name,
            "rows": rows, "run_id": run.info.run_id, "metrics": values,
            "training_test_metrics": {m: training.get(f"test_{m}") for m in metrics}}
    emit(data, as_json=args.json, text=(
        f"{version.name}/{version.version} on {cfg.dataset.name} ({rows} rows), "
        f"evaluation run {run.info.run_id}\n"
        + table(table_rows, ["metric", cfg.dataset.name, "test (training)"])))
