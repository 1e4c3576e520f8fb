"""Promotion rules applied to a real sqlite registry: register, stage, archive, audit."""

from __future__ import annotations

import json

import mlflow
import pytest

from conftest import compose_config
from declarative_ml.errors import RuleError
from declarative_ml.registry import audit
from declarative_ml.registry.apply import alias_holder, find_champion, set_stage
from declarative_ml.runner import train

NAME = "breast_cancer-xgboost"
FAST = ("experiment=xgb_baseline", "run.log_plots=false", "run.isolate_training=false")


def _train(uri: str, *overrides: str):
    cfg = compose_config(*FAST, f"tracking.uri={uri}", *overrides)
    return train(cfg)


def _stage(client, version: str) -> str:
    return client.get_model_version(NAME, version).tags["stage"]


def test_better_model_takes_production_and_archives_the_champion(tracking_uri: str) -> None:
    client = mlflow.MlflowClient(tracking_uri)
    # A weak first model: it still clears the absolute gates and becomes champion.
    first = _train(tracking_uri, "model.params.n_estimators=3", "model.params.max_depth=2")
    assert first.promotion.applied.stage == "production"
    assert first.promotion.decision.has_champion is False
    # A clearly better model replaces it.
    second = _train(tracking_uri)
    assert second.metrics["test_roc_auc"] > first.metrics["test_roc_auc"] + 0.002
    assert second.promotion.applied.stage == "production"
    assert str(alias_holder(client, NAME, "production").version) == second.promotion.applied.version
    assert _stage(client, first.promotion.applied.version) == "archived"
    assert _stage(client, second.promotion.applied.version) == "production"
    # The same model again ties the champion: registered and staged, not promoted.
    third = _train(tracking_uri)
    assert third.promotion.applied.stage == "staging"
    assert find_champion(client, NAME).version == second.promotion.applied.version
    assert str(alias_holder(client, NAME, "staging").version) == third.promotion.applied.version

    trail = [(t.version, t.from_stage, t.to_stage) for t in audit.read(client, NAME)]
    assert trail == [
        ("1", "-", "none"),
        ("1", "none", "production"),
        ("2", "-", "none"),
        ("1", "production", "archived"),
        ("2", "none", "production"),
        ("3", "-", "none"),
        ("3", "none", "staging"),
    ]


def test_decision_is_recorded_on_run_and_version(tracking_uri: str, tmp_path) -> None:
    client = mlflow.MlflowClient(tracking_uri)
    result = _train(tracking_uri)
    version = client.get_model_version(NAME, result.promotion.applied.version)
    assert version.run_id == result.run_id
    assert "test_roc_auc >= 0.95" in version.description
    assert "no champion" in version.description.lower()
    path = client.download_artifacts(result.run_id, "promotion/decision.json", str(tmp_path))
    with open(path) as handle:
        record = json.load(handle)
    assert record["target_stage"] == "production" and record["version"] == str(version.version)
    assert client.get_run(result.run_id).data.tags["dml.promotion"] == "production"


def test_failing_register_gate_registers_nothing(tracking_uri: str) -> None:
    client = mlflow.MlflowClient(tracking_uri)
    result = _train(tracking_uri, "promotion.register=['test_roc_auc >= 1.5']")
    assert result.promotion.applied.version is None
    assert client.search_registered_models() == []
    assert client.get_run(result.run_id).info.status == "FINISHED"


def test_disabled_promotion_leaves_registry_alone(tracking_uri: str) -> None:
    result = _train(tracking_uri, "promotion.enabled=false")
    assert result.promotion is None
    assert mlflow.MlflowClient(tracking_uri).search_registered_models() == []


def test_unknown_metric_in_rules_fails_before_training(tracking_uri: str) -> None:
    cfg = compose_config(
        *FAST, f"tracking.uri={tracking_uri}", "promotion.staging=['test_auc >= 1']"
    )
    with pytest.raises(RuleError, match=r"unknown metric 'test_auc' in promotion: staging\[0\]"):
        train(cfg)
    client = mlflow.MlflowClient(tracking_uri)
    assert client.search_experiments(filter_string="name = 'breast_cancer'") == []


def test_set_stage_moves_production_back(tracking_uri: str) -> None:
    client = mlflow.MlflowClient(tracking_uri)
    _train(tracking_uri, "model.params.n_estimators=3", "model.params.max_depth=2")
    _train(tracking_uri)
    made = set_stage(client, NAME, "1", "production", why="rollback")
    assert [(t.version, t.to_stage) for t in made] == [("2", "archived"), ("1", "production")]
    assert find_champion(client, NAME).version == "1"
    assert audit.read(client, NAME)[-1].why == "rollback"
