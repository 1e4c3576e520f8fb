"""`tracking.async=true`: metrics are queued, and every one is stored before the run ends."""

from __future__ import annotations

import mlflow
import pytest

from conftest import compose_config
from declarative_ml.runner import train


@pytest.mark.parametrize("isolate", ["true", "false"])
def test_async_logging_stores_every_metric(tracking_uri: str, isolate: str) -> None:
    results = {}
    for mode in ("false", "true"):
        cfg = compose_config(
            "experiment=xgb_baseline",
            f"tracking.uri={tracking_uri}",
            f"tracking.async={mode}",
            "run.log_plots=false",
            "promotion.enabled=false",
            f"run.isolate_training={isolate}",
        )
        results[mode] = train(cfg)
    client = mlflow.MlflowClient(tracking_uri)
    stored = {m: client.get_run(r.run_id).data.metrics for m, r in results.items()}
    assert client.get_run(results["true"].run_id).info.status == "FINISHED"
    assert set(stored["true"]) == set(stored["false"]) == set(results["true"].metrics)
    assert stored["true"]["test_roc_auc"] == stored["false"]["test_roc_auc"]
