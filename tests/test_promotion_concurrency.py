"""Eight processes promoting to one model at once: one @production, consistent tags and trail."""

from __future__ import annotations

import json
import subprocess
import sys
import time

import mlflow
import pytest

from conftest import compose_config
from declarative_ml.registry import audit
from declarative_ml.runner import train

NAME = "breast_cancer-xgboost"
WORKERS = 8

PROMOTE = """
import json, sys, time
from mlflow import MlflowClient
from declarative_ml.promotion import promote_run
from declarative_ml.rules import parse_gates
uri, start, job = sys.argv[1], float(sys.argv[2]), json.loads(sys.argv[3])
gates = parse_gates(job["promotion"], source="test")
client = MlflowClient(uri)
time.sleep(max(0.0, start - time.time()))
result = promote_run(client, gates=gates, model_name=job["name"], run_id=job["run_id"],
                     metrics=job["metrics"], model_uri=job["model_uri"])
print(json.dumps({"version": result.applied.version, "stage": result.applied.stage}))
"""


def _candidates(uri: str) -> list[dict]:
    """Finished runs with logged models and different scores; nothing registered yet."""
    jobs = []
    for i in range(WORKERS):
        cfg = compose_config(
            "experiment=xgb_baseline",
            f"tracking.uri={uri}",
            "promotion.enabled=false",
            "run.log_plots=false",
            "run.isolate_training=false",
            f"model.params.n_estimators={2 + i}",
            "model.params.max_depth=2",
        )
        result = train(cfg)
        promotion = {
            "register": ["test_roc_auc >= 0.5"],
            "staging": [],
            "production": ["test_roc_auc >= champion.test_roc_auc + 0.0001"],
        }
        jobs.append(
            {
                "name": NAME,
                "run_id": result.run_id,
                "metrics": result.metrics,
                "model_uri": result.model_uri,
                "promotion": promotion,
            }
        )
    return jobs


def _promote_all_at_once(uri: str, jobs: list[dict]) -> list[dict]:
    start = time.time() + 6.0  # every process has imported MLflow by then
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", PROMOTE, uri, str(start), json.dumps(job)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for job in jobs
    ]
    results = []
    for proc in procs:
        out, err = proc.communicate(timeout=180)
        assert proc.returncode == 0, err
        assert "database is locked" not in err
        results.append(json.loads(out.strip().splitlines()[-1]))
    return results


def _check_registry(uri: str, jobs: list[dict]) -> None:
    client = mlflow.MlflowClient(uri)
    model = client.get_registered_model(NAME)
    versions = client.search_model_versions(f"name = '{NAME}'")
    assert len(versions) == WORKERS  # every candidate registered exactly once
    holders = [v for v in versions if v.tags.get("stage") == "production"]
    assert len(holders) == 1
    assert str(model.aliases["production"]) == str(holders[0].version)
    # The champion is a candidate at least as good as every other (each decision saw the
    # champion it replaced, so the best one cannot have been skipped).
    best = max(job["metrics"]["test_roc_auc"] for job in jobs)
    champion_run = client.get_run(holders[0].run_id)
    assert champion_run.data.metrics["test_roc_auc"] == pytest.approx(best)

    trail = audit.read(client, NAME)
    registered = [t for t in trail if t.from_stage == "-"]
    assert len(registered) == WORKERS
    # Replaying the trail gives exactly the tags the versions carry now.
    stage = {}
    for entry in trail:
        stage[entry.version] = entry.to_stage
    assert stage == {str(v.version): v.tags["stage"] for v in versions}
    promoted = [t for t in trail if t.to_stage == "production"]
    archived = [t for t in trail if t.from_stage == "production" and t.to_stage == "archived"]
    assert len(archived) == len(promoted) - 1
    assert not [m for m in client.search_registered_models() if m.name.startswith("dml-lock--")]


@pytest.mark.slow
def test_eight_processes_promote_on_sqlite(tracking_uri: str) -> None:
    jobs = _candidates(tracking_uri)
    _promote_all_at_once(tracking_uri, jobs)
    _check_registry(tracking_uri, jobs)


@pytest.mark.server
def test_eight_processes_promote_on_a_server(mlflow_server: str) -> None:
    jobs = _candidates(mlflow_server)
    _promote_all_at_once(mlflow_server, jobs)
    _check_registry(mlflow_server, jobs)


@pytest.mark.server
def test_eight_processes_promote_on_postgresql(postgres_uri: str) -> None:
    jobs = _candidates(postgres_uri)
    _promote_all_at_once(postgres_uri, jobs)
    _check_registry(postgres_uri, jobs)
