"""Every shipped config option composes, every experiment trains, and bad overrides fail
at composition (lightning-hydra-template's ``tests/test_configs.py`` pattern)."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from hydra.errors import ConfigCompositionException
from omegaconf import DictConfig, OmegaConf

from conftest import compose_config
from declarative_ml.config.resolvers import CONF_DIR
from declarative_ml.config.validate import validate_config
from declarative_ml.errors import ConfigError, DeclarativeMLError
from declarative_ml.runner import RunResult, train


def options(group: str) -> list[str]:
    """The option names of a config group folder (the YAML files, minus schemas)."""
    return sorted(p.stem for p in (CONF_DIR / group).glob("*.yaml"))


def read_option(group: str, name: str) -> dict:
    return yaml.safe_load((CONF_DIR / group / f"{name}.yaml").read_text()) or {}


def option_value(group: str, name: str, key: str) -> object:
    """``key`` of an option, following its defaults to sibling options it extends."""
    data = read_option(group, name)
    if key in data:
        return data[key]
    for entry in data.get("defaults", []):
        if isinstance(entry, str) and entry != "_self_" and not entry.startswith("base_"):
            return option_value(group, entry, key)
    raise KeyError(f"{group}/{name}.yaml has no {key!r}")


def dataset_task(name: str) -> str:
    return str(option_value("dataset", name, "task"))


def task_kind(task: str) -> str:
    return "regression" if task == "regression" else "classification"


def model_kinds(model: str) -> set[str]:
    """Task kinds a model option declares an estimator for."""
    estimator = option_value("model", model, "estimator")
    return set(estimator) if isinstance(estimator, dict) else {"classification", "regression"}


# Promotion rules read task-specific metrics, so a dataset is composed with the promotion
# option written for its task (the hint a RuleError gives: "promotion=multiclass").
PROMOTION_FOR_TASK = {"binary": "default", "multiclass": "multiclass", "regression": "regression"}
DATASETS = options("dataset")
MODELS = options("model")
EXPERIMENTS = options("experiment")
PAIRS = [(d, m) for d in DATASETS for m in MODELS if task_kind(dataset_task(d)) in model_kinds(m)]
MISFITS = [
    (d, m) for d in DATASETS for m in MODELS if task_kind(dataset_task(d)) not in model_kinds(m)
]


def test_the_config_tree_is_discovered() -> None:
    # Guards the parametrization below against an empty glob (a moved conf/ folder).
    assert {"breast_cancer", "diabetes", "iris", "penguins", "wine"} <= set(DATASETS)
    assert {"xgboost", "random_forest", "logistic_regression", "ridge"} <= set(MODELS)
    assert "xgb_baseline" in EXPERIMENTS
    assert ("diabetes", "ridge") in PAIRS and ("diabetes", "logistic_regression") in MISFITS
    assert set(PROMOTION_FOR_TASK.values()) <= set(options("promotion"))


def compose_pair(dataset: str, model: str) -> DictConfig:
    promotion = PROMOTION_FOR_TASK[dataset_task(dataset)]
    return compose_config(f"dataset={dataset}", f"model={model}", f"promotion={promotion}")


@pytest.mark.parametrize(("dataset", "model"), PAIRS)
def test_dataset_and_model_options_compose_and_validate(dataset: str, model: str) -> None:
    cfg = compose_pair(dataset, model)
    assert cfg.dataset.name == option_value("dataset", dataset, "name")
    assert cfg.model.name == option_value("model", model, "name")
    plan = validate_config(cfg)
    assert plan.task == dataset_task(dataset)
    estimator = option_value("model", model, "estimator")
    expected = estimator[task_kind(plan.task)] if isinstance(estimator, dict) else estimator
    assert plan.estimator == expected
    assert plan.metrics  # the task's default metrics


@pytest.mark.parametrize(("dataset", "model"), MISFITS)
def test_a_model_without_an_estimator_for_the_task_is_refused(dataset: str, model: str) -> None:
    cfg = compose_pair(dataset, model)
    with pytest.raises(ConfigError, match="model.estimator: .* but dataset.task is"):
        validate_config(cfg)


@pytest.mark.parametrize("promotion", options("promotion"))
def test_promotion_options_validate_with_a_dataset_they_fit(promotion: str) -> None:
    # Rules read task-specific metrics: each option must fit at least one shipped dataset.
    refusals = []
    for dataset in DATASETS:
        cfg = compose_config(f"dataset={dataset}", f"promotion={promotion}")
        try:
            plan = validate_config(cfg)
        except DeclarativeMLError as exc:  # RuleError (unknown metric) or ConfigError
            refusals.append(f"{dataset}: {exc}")
            continue
        assert set(plan.gates) <= {"register", "staging", "production"}
        assert any(plan.gates.values())
        return
    pytest.fail(f"promotion={promotion} validates with no dataset: {refusals}")


@pytest.mark.parametrize("tracking", options("tracking"))
def test_tracking_options_compose(tracking: str) -> None:
    cfg = compose_config(f"tracking={tracking}")
    assert cfg.tracking.experiment_name == cfg.dataset.name
    assert cfg.tracking["async"] is False


@pytest.mark.parametrize("experiment", EXPERIMENTS)
def test_experiment_composes_with_its_declared_groups(experiment: str) -> None:
    cfg = compose_config(f"experiment={experiment}")
    declared = {}
    for entry in read_option("experiment", experiment).get("defaults", []):
        if isinstance(entry, dict):
            for key, value in entry.items():
                declared[key.removeprefix("override /")] = value
    assert cfg.dataset.name == option_value("dataset", declared["dataset"], "name")
    assert cfg.model.name == option_value("model", declared["model"], "name")
    plan = validate_config(cfg)
    if cfg.metrics is not None:
        assert list(plan.metrics) == list(cfg.metrics)


def tiny_overrides(experiment: str, uri: str) -> list[str]:
    """Overrides that keep a run of ``experiment`` under a second or so."""
    base = [
        f"experiment={experiment}",
        f"tracking.uri='{uri}'",
        "run.log_plots=false",
        "run.latency_rows=100",
    ]
    cfg = compose_config(*base)
    if "n_estimators" in cfg.model.params:
        base.append("model.params.n_estimators=10")
    return base


def assert_finished_with_metrics(result: RunResult, cfg: DictConfig, uri: str) -> None:
    from mlflow import MlflowClient

    run = MlflowClient(uri).get_run(result.run_id)
    assert run.info.status == "FINISHED"
    for split in ("train", "val", "test"):
        for metric in result.plan.metrics:
            value = run.data.metrics[f"{split}_{metric}"]
            assert math.isfinite(value), f"{split}_{metric}"
    assert run.data.metrics == pytest.approx(result.metrics)
    if cfg.metrics is not None:
        assert result.plan.metrics == tuple(cfg.metrics)


@pytest.mark.parametrize("experiment", EXPERIMENTS)
def test_every_experiment_trains_end_to_end(
    experiment: str, tracking_uri: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # MLflow's default artifact root (./mlruns) goes here
    overrides = tiny_overrides(experiment, tracking_uri)
    cfg = compose_config(*overrides)
    result = train(cfg, overrides=overrides)
    assert_finished_with_metrics(result, cfg, tracking_uri)
    assert result.model_uri is not None
    test_scores = {k: v for k, v in result.metrics.items() if k.startswith("test_")}
    if result.plan.task == "regression":
        assert test_scores["test_r2"] > 0  # better than predicting the mean
    else:
        assert test_scores["test_accuracy"] > 0.7  # well above chance on these datasets


# ----------------------------------------------------------------- composition failures


@pytest.mark.parametrize(
    "override",
    [
        "dataset.bogus=1",  # unknown key
        "model.bogus=1",
        "bogus=1",
        "seed=abc",  # wrong type
        "dataset.split.test_size=lots",
        "dataset.task=ranking",  # not an enum member
        "model.family=lightgbm",
        "tracking.async=maybe",  # the keyword-named typed node
        "run.isolate_training=sometimes",
    ],
)
def test_bad_override_fails_at_composition(override: str) -> None:
    with pytest.raises(ConfigCompositionException) as info:
        compose_config("experiment=xgb_baseline", override)
    assert override.split("=")[0] in str(info.value)


@pytest.mark.parametrize("value", ["true", "false"])
def test_tracking_async_accepts_booleans(value: str) -> None:
    cfg = compose_config(f"tracking.async={value}")
    assert cfg.tracking["async"] is (value == "true")


# ----------------------------------------------------------- user folders (searchpath)


def write_user_folder(root: Path, rows: int = 120) -> Path:
    """A user's own config folder with a CSV dataset and an experiment using it."""
    rng = np.random.default_rng(0)
    size = rng.normal(size=rows)
    color = rng.choice(["red", "green", "blue"], size=rows)
    label = np.where(size + (color == "red") * 1.5 > 0.5, "yes", "no")
    frame = pd.DataFrame(
        {
            "size": size,
            "weight": rng.normal(size=rows),
            "color": color,
            "label": label,
            "comment": "ignored",
        }
    )
    frame.loc[3, "size"] = np.nan
    (root / "data").mkdir(parents=True)
    csv = root / "data" / "mine.csv"
    frame.to_csv(csv, index=False)

    conf = root / "conf"
    (conf / "dataset").mkdir(parents=True)
    (conf / "experiment").mkdir()
    (conf / "dataset" / "my_csv.yaml").write_text(
        f"""defaults:
  - base_dataset

name: my_csv
source: csv
path: {csv}
target: label
task: binary
features: [size, weight, color]
preprocess:
  numeric:
    columns: [size, weight]
    impute: median
  categorical:
    columns: [color]
    one_hot: true
"""
    )
    (conf / "experiment" / "mine.yaml").write_text(
        """# @package _global_
defaults:
  - override /dataset: my_csv
  - override /model: random_forest

model:
  params:
    n_estimators: 10
    max_depth: 4
"""
    )
    return conf


def test_user_searchpath_folder_composes_and_trains(
    tmp_path: Path, tracking_uri: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    conf = write_user_folder(tmp_path / "user")
    monkeypatch.chdir(tmp_path)
    overrides = [
        f"hydra.searchpath=[file://{conf}]",
        "experiment=mine",
        f"tracking.uri='{tracking_uri}'",
        "run.log_plots=false",
    ]
    cfg = compose_config(*overrides)
    assert cfg.dataset.name == "my_csv"
    assert cfg.model.name == "random_forest"
    assert cfg.model.params.n_estimators == 10
    assert cfg.model.params.n_jobs == 1  # the rest of the packaged option still applies

    result = train(cfg, overrides=overrides)
    assert_finished_with_metrics(result, cfg, tracking_uri)
    assert set(result.plan.metrics) == {"roc_auc", "f1", "accuracy", "log_loss"}
    assert result.metrics["test_accuracy"] > 0.6


def test_a_typo_in_a_user_yaml_fails_at_composition(tmp_path: Path) -> None:
    conf = write_user_folder(tmp_path / "user")
    typo = conf / "dataset" / "typo.yaml"
    typo.write_text((conf / "dataset" / "my_csv.yaml").read_text().replace("task:", "taks:"))
    with pytest.raises(ConfigCompositionException, match="taks"):
        compose_config(f"hydra.searchpath=[file://{conf}]", "dataset=typo")


def test_a_wrong_type_in_a_user_yaml_fails_at_composition(tmp_path: Path) -> None:
    conf = write_user_folder(tmp_path / "user")
    bad = conf / "dataset" / "bad_type.yaml"
    bad.write_text(
        (conf / "dataset" / "my_csv.yaml").read_text() + "split:\n  test_size: a fifth\n"
    )
    with pytest.raises(ConfigCompositionException, match="test_size"):
        compose_config(f"hydra.searchpath=[file://{conf}]", "dataset=bad_type")


def test_composed_config_round_trips_through_yaml() -> None:
    # What `config/config.yaml` stores must load back to the same resolved values.
    cfg = compose_config("experiment=xgb_penguins")
    text = OmegaConf.to_yaml(cfg, resolve=True)
    assert OmegaConf.to_container(OmegaConf.create(text)) == OmegaConf.to_container(
        cfg, resolve=True, enum_to_str=True
    )
