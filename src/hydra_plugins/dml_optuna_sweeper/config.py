"""The sweeper's settings (``hydra.sweeper.*``), registered as ``hydra/sweeper=dml_optuna``."""

# No ``from __future__ import annotations`` here: Hydra's plugin scanner runs this module
# before it is in sys.modules, where dataclasses would look string annotations up.
from dataclasses import dataclass, field
from typing import Any

from hydra.core.config_store import ConfigStore


@dataclass
class DmlOptunaSweeperConf:
    """Settings of a Bayesian (TPE) sweep; ``params`` is the search space."""

    _target_: str = "hydra_plugins.dml_optuna_sweeper.dml_optuna_sweeper.DmlOptunaSweeper"
    n_trials: int = 20  # trials this sweep runs (added to a shared study's earlier ones)
    n_jobs: int = 1  # trials asked at once and handed to the launcher as one batch
    seed: int | None = None  # TPESampler seed; null: a different search each time
    direction: str | None = None  # maximize | minimize; null: objective.direction, or the metric's
    storage: str | None = None  # Optuna RDB URL (sqlite:///optuna.db, postgresql://...)
    study_name: str | None = None  # null: dml-<tracking.experiment_name>-<model.name>
    params: dict[str, Any] = field(default_factory=dict)  # override key -> search space


ConfigStore.instance().store(
    group="hydra/sweeper", name="dml_optuna", node=DmlOptunaSweeperConf, provider="declarative_ml"
)
