"""The short summary printed after a run."""

from __future__ import annotations

from typing import Any

from declarative_ml import console
from declarative_ml.secrets import redact_uri


def ui_command(uri: str) -> str:
    """The ``mlflow ui`` command that shows runs of ``uri``."""
    if uri.startswith(("http://", "https://")):
        return f"open {uri}"
    return f"mlflow ui --backend-store-uri {redact_uri(uri)}"


def print_summary(result: Any) -> None:
    """Run id, headline metrics, costs, and how to look at the run."""
    metrics = result.metrics
    test = [f"test_{m}" for m in result.plan.metrics]
    console.say(
        f"run {result.run_id} finished (experiment {result.experiment_id}, "
        f"{redact_uri(result.tracking_uri)})"
    )
    console.say(f"  {console.format_metrics(metrics, test)}")
    costs = [
        f"fit {metrics['training_duration_s']:.2f} s"
        + (f" on {result.device}" if result.device else ""),
        f"predict {metrics['predict_latency_ms']:.2f} ms / 1,000 rows",
    ]
    if "model_size_mb" in metrics:
        costs.append(f"model {metrics['model_size_mb']:.2f} MB")
    console.say(f"  {' | '.join(costs)}")
    if result.model_uri:
        console.say(f"  model: {result.model_uri}")
    if result.promotion is not None:
        from declarative_ml.promotion import describe

        for line in describe(result.promotion):
            console.say(f"  {line}")
    base = (
        result.tracking_uri if result.tracking_uri.startswith("http") else "http://127.0.0.1:5000"
    )
    console.say(
        f"  look at it: {ui_command(result.tracking_uri)}  ->  "
        f"{base.rstrip('/')}/#/experiments/{result.experiment_id}/runs/{result.run_id}"
    )
