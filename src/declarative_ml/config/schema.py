"""Dataclass schemas behind every config group.

Each YAML option starts from one of these (``defaults: [base_<group>]``), so a
misspelt key or a value of the wrong type fails when Hydra composes the config,
before any data is loaded. Pure declarations: no imports of ML frameworks.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from omegaconf import II, MISSING


class Task(StrEnum):
    """What the target is."""

    binary = "binary"
    multiclass = "multiclass"
    regression = "regression"


class Source(StrEnum):
    """Where a dataset's rows come from."""

    sklearn = "sklearn"
    csv = "csv"
    parquet = "parquet"


class OnSweep(StrEnum):
    """Which trials of a sweep the promotion rules consider."""

    best = "best"  # only the sweep's best trial, when the sweep ends
    each = "each"  # every trial, as it finishes


class Family(StrEnum):
    """Which framework builds the estimator."""

    sklearn = "sklearn"
    xgboost = "xgboost"
    torch = "torch"


@dataclass
class SplitConfig:
    """How rows are divided into train, val and test."""

    test_size: float = 0.2
    val_size: float = 0.1
    stratify: bool = True
    seed: int = II("seed")


@dataclass
class ColumnGroupConfig:
    """Preprocessing for one group of feature columns.

    Columns are named in ``columns`` or picked by ``dtype`` (numeric|categorical).
    """

    columns: list[str] | None = None
    dtype: str | None = None
    impute: str | None = None
    fill_value: Any = None
    scale: str | None = None
    one_hot: bool = False


@dataclass
class DatasetConfig:
    """A dataset: its source, target, task, schema, split and preprocessing."""

    name: str = MISSING
    source: Source = MISSING
    loader: str | None = None
    path: str | None = None
    target: str | None = None
    task: Task = MISSING
    features: list[str] | None = None
    split: SplitConfig = field(default_factory=SplitConfig)
    schema: Any = None
    preprocess: dict[str, ColumnGroupConfig] = field(default_factory=dict)
    read_options: dict[str, Any] = field(default_factory=dict)
    where: dict[str, list[Any]] = field(default_factory=dict)
    log_failure_values: bool = False  # may schema-failure values (raw data) reach MLflow


@dataclass
class ModelConfig:
    """A model: its family, estimator class (or one per task kind) and hyperparameters."""

    name: str = MISSING
    family: Family = MISSING
    estimator: Any = MISSING
    params: dict[str, Any] = field(default_factory=dict)
    trusted_modules: list[str] = field(default_factory=list)


@dataclass
class TrackingConfig:
    """Where and how runs are logged. ``async`` is added in ``store.py`` (a keyword)."""

    uri: str | None = None
    experiment_name: str = II("dataset.name")
    run_name: str | None = None
    tags: dict[str, str] = field(default_factory=dict)
    heartbeat_s: float = 30.0  # a RUNNING run silent for 4 beats is reaped (marked KILLED)
    retry_budget_s: float = 120.0  # how long requests to a tracking server keep retrying


@dataclass
class RunConfig:
    """What a run produces besides metrics."""

    log_model: bool = True
    log_plots: bool = True
    latency_rows: int = 1000
    isolate_training: bool = True


@dataclass
class BootstrapConfig:
    """The paired bootstrap that decides rules with ``confidence``."""

    resamples: int = 2000  # resamples of the rows both models are scored on
    seed: int = II("seed")  # the same seed, the same resamples
    stratify: bool = True  # classification: resample each class on its own


@dataclass
class PromotionConfig:
    """Rules that decide whether a trained model is registered and which stage it reaches."""

    enabled: bool = True
    model_name: str = "${dataset.name}-${model.name}"
    new_data: str | None = None
    on_sweep: OnSweep = OnSweep.best
    register: list[Any] = field(default_factory=list)
    staging: list[Any] = field(default_factory=list)
    production: list[Any] = field(default_factory=list)
    bootstrap: BootstrapConfig = field(default_factory=BootstrapConfig)


@dataclass
class ObjectiveConfig:
    """What a sweep optimises: one logged metric and its direction."""

    metric: str | None = None  # null: val_<first metric> (test_ when val_size is 0)
    direction: str | None = None  # maximize | minimize; null: from the metric


@dataclass
class Config:
    """The root config: groups plus run-wide settings."""

    dataset: DatasetConfig = MISSING
    model: ModelConfig = MISSING
    tracking: TrackingConfig = MISSING  # plus the key ``async`` (config/store.py)
    promotion: PromotionConfig = field(default_factory=PromotionConfig)
    seed: int = 42
    metrics: list[str] | None = None
    objective: ObjectiveConfig = field(default_factory=ObjectiveConfig)
    run: RunConfig = field(default_factory=RunConfig)
