"""``dml evaluate MODEL_REF dataset=NAME``: score a registered model on new data."""

from __future__ import annotations

from argparse import Namespace
from typing import Any

from declarative_ml.cli.output import emit, table
from declarative_ml.cli.refs import ModelRef, logged_model_run, parse_ref, registered_from, resolve
from declarative_ml.errors import ConfigError


def _scored_model(client: Any, ref: ModelRef) -> tuple[str, str, str]:
    """What to score: its label (``NAME/VERSION``, or the logged model's id when it was
    never registered), its run and the URI to load it from."""
    if ref.logged_model:
        run_id = logged_model_run(client, ref.logged_model)
        version = registered_from(client, ref.logged_model, run_id)
        if version is None:
            return ref.logged_model, run_id, str(ref)
    else:
        version = resolve(client, ref)
    label = f"{version.name}/{version.version}"
    return label, str(version.run_id), f"models:/{label}"


def check_task_kind(trained_task: str, dataset: Any, label: str) -> None:
    """Refuse a dataset of the other kind (a regressor on classes, a classifier on numbers)
    before any data is read.

    Raises:
        ConfigError: naming the model, its task, the dataset and its task.
    """
    from declarative_ml.models.build import task_kind

    declared = str(getattr(dataset.task, "value", dataset.task))
    if task_kind(trained_task) != task_kind(declared):
        raise ConfigError(
            f"dataset={dataset.name}: {label} was trained for a {trained_task} task and "
            f"cannot score dataset '{dataset.name}', declared {declared} (dataset.task)"
        )


def evaluate(client: Any, args: Namespace) -> None:
    """Score ``args.ref`` on the dataset the overrides name; log an evaluation run."""
    import mlflow

    from declarative_ml.cli.run_config import stored_config, stored_location, with_config_dir
    from declarative_ml.config.compose import compose_config
    from declarative_ml.metrics import resolve_metrics
    from declarative_ml.tracking.record import log_run_data
    from declarative_ml.tracking.scoring import score_logged_model
    from declarative_ml.tracking.store import get_or_create_experiment

    label, run_id, model_uri = _scored_model(client, parse_ref(args.ref))
    trained = stored_config(client, run_id)
    # The dataset is looked up where the model's run found its configs (a user's folders).
    location = with_config_dir(stored_location(client, run_id), getattr(args, "config_dir", None))
    cfg = compose_config(args.overrides, location=location)
    task = str(trained.dataset.task)
    check_task_kind(task, cfg.dataset, label)
    metrics = resolve_metrics(list(trained.metrics) if trained.metrics else None, task)
    # pyfunc.load_model resolves models:/ in MLflow's process-wide store; this process
    # runs one dml command, so that store is made the one --tracking-uri names.
    mlflow.set_tracking_uri(client.tracking_uri)
    values, rows = score_logged_model(model_uri, cfg.dataset, metrics=metrics, task=task)
    experiment_id = get_or_create_experiment(client, f"{cfg.dataset.name}-evaluation")
    run = client.create_run(
        experiment_id,
        tags={
            "dml.evaluation.model": label,
            "dml.evaluation.dataset": cfg.dataset.name,
            "dml.evaluation.rows": str(rows),
        },
    )
    log_run_data(client, run.info.run_id, metrics={f"eval_{k}": v for k, v in values.items()})
    client.set_terminated(run.info.run_id, "FINISHED")
    training = client.get_run(run_id).data.metrics
    table_rows = [
        {"metric": m, cfg.dataset.name: values[m], "test (training)": training.get(f"test_{m}")}
        for m in metrics
    ]
    data = {
        "model": label,
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
            f"{label} on {cfg.dataset.name} ({rows} rows), "
            f"evaluation run {run.info.run_id}\n"
            + table(table_rows, ["metric", cfg.dataset.name, "test (training)"])
        ),
    )
