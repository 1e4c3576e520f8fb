"""``DmlOptunaSweeper``: a Bayesian (TPE) sweep on current Optuna, ``hydra/sweeper=dml_optuna``.

A thin Hydra plugin class, as Hydra's own plugins are: Hydra imports every module of a
plugin package when it scans for plugins, so this one stays light and the sweep itself
(``_impl.py``: asking, launching, telling, summarising) is imported when a sweep starts.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from hydra.core.utils import JobReturn
from hydra.plugins.sweeper import Sweeper
from hydra.types import HydraContext, TaskFunction
from omegaconf import DictConfig

RESULTS_FILE = "optimization_results.yaml"


class DmlOptunaSweeper(Sweeper):
    """A TPE sweep over ``params``; see :class:`~.config.DmlOptunaSweeperConf`."""

    def __init__(self, **settings: Any) -> None:
        super().__init__()
        from hydra_plugins.dml_optuna_sweeper._impl import DmlOptunaSweeperImpl

        self.sweeper = DmlOptunaSweeperImpl(**settings)

    def setup(
        self, *, hydra_context: HydraContext, task_function: TaskFunction, config: DictConfig
    ) -> None:
        """Keep the config and instantiate the launcher (as Hydra's basic sweeper does)."""
        self.sweeper.setup(hydra_context=hydra_context, task_function=task_function, config=config)

    def sweep(self, arguments: list[str]) -> list[Sequence[JobReturn]]:
        """Run the sweep (``DmlOptunaSweeperImpl.sweep``)."""
        return self.sweeper.sweep(arguments)

    @classmethod
    def check_config(cls, config: DictConfig) -> None:
        """Every check a sweep makes before its first trial (``DmlOptunaSweeperImpl``)."""
        from hydra_plugins.dml_optuna_sweeper._impl import DmlOptunaSweeperImpl

        DmlOptunaSweeperImpl.check_config(config)
