"""Registered means loadable: versions only for models verified complete in the store."""

from __future__ import annotations

from pathlib import Path

import pytest
from mlflow import MlflowClient

from conftest import compose_config, run_cli
from declarative_ml.errors import RegistryError
from declarative_ml.promotion import promote_run
from declarative_ml.rules import parse_gates
from declarative_ml.runner import train
from declarative_ml.tracking.verify import DIGEST_TAG
from stores import FaultyProxy

GATES = {"register": ["test_roc_auc >= 0.5"], "staging": [], "production": []}


def _logged(uri: str):
    cfg = compose_config(
        "experiment=xgb_baseline",
        f"tracking.uri={uri}",
        "promotion.enabled=false",
        "run.log_plots=false",
        "run.isolate_training=false",
        "model.params.n_estimators=5",
    )
    return train(cfg)


def _promote(uri: str, result) -> object:
    return promote_run(
        MlflowClient(uri),
        gates=parse_gates(GATES, source="test"),
        model_name="verified",
        run_id=result.run_id,
        metrics=result.metrics,
        model_uri=result.model_uri,
    )


def _stored_folder(uri: str, model_uri: str) -> Path:
    location = MlflowClient(uri).get_logged_model(model_uri.removeprefix("models:/"))
    return Path(location.artifact_location.removeprefix("file://"))


def test_the_digest_is_recorded_and_carried_to_the_version(tracking_uri: str) -> None:
    result = _logged(tracking_uri)
    client = MlflowClient(tracking_uri)
    digest = client.get_run(result.run_id).data.tags[DIGEST_TAG]
    model_id = result.model_uri.removeprefix("models:/")
    assert client.get_logged_model(model_id).tags[DIGEST_TAG] == digest
    promotion = _promote(tracking_uri, result)
    version = client.get_model_version("verified", promotion.applied.version)
    assert version.tags[DIGEST_TAG] == digest


@pytest.mark.parametrize("damage", ["delete", "alter"])
def test_a_damaged_model_is_never_registered(damage: str, tracking_uri: str) -> None:
    result = _logged(tracking_uri)
    folder = _stored_folder(tracking_uri, result.model_uri)
    estimator = next(folder.rglob("estimator.ubj"))
    if damage == "delete":
        estimator.unlink()
    else:
        estimator.write_bytes(estimator.read_bytes() + b"\0")
    with pytest.raises(RegistryError, match="incomplete|changed since"):
        _promote(tracking_uri, result)
    client = MlflowClient(tracking_uri)
    assert not client.search_model_versions("name = 'verified'")


@pytest.mark.server
def test_an_upload_failing_part_way_leaves_a_failed_run_and_no_version(
    mlflow_server: str, tmp_path: Path
) -> None:
    def refuse(method: str, path: str) -> bool:  # the estimator file of the model upload
        return method == "PUT" and path.endswith("estimator.ubj")

    with FaultyProxy(mlflow_server, refuse) as proxy:
        proc = run_cli(
            "experiment=xgb_baseline", f"tracking.uri={proxy.url}", "run.log_plots=false",
            cwd=tmp_path, env={"MLFLOW_HTTP_REQUEST_MAX_RETRIES": "0"},
        )  # fmt: skip
    assert proxy.refused, "the upload was never attempted"
    assert proc.returncode != 0
    assert proc.stderr.strip().startswith("error:") and proc.stderr.strip().count("\n") == 0
    client = MlflowClient(mlflow_server)
    runs = client.search_runs([client.get_experiment_by_name("breast_cancer").experiment_id])
    assert [r.info.status for r in runs] == ["FAILED"]
    assert not client.search_model_versions("name = 'breast_cancer-xgboost'")
