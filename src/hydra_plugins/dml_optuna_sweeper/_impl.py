"""The sweep loop behind ``DmlOptunaSweeper``: asks Optuna for trials, runs them with
Hydra's launcher, tells results.

Per batch of ``n_jobs`` trials: ask, turn each trial's parameters into overrides (after
the user's own non-sweep overrides), launch, then tell each trial its value. A trial
whose job raised, or returned None or a non-finite number, is told FAIL and the sweep
goes on; only a sweep in which every trial failed ends with an error.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.core.utils import JobReturn
from hydra.plugins.launcher import Launcher
from hydra.plugins.sweeper import Sweeper
from hydra.types import HydraContext, TaskFunction
from omegaconf import DictConfig, OmegaConf

from hydra_plugins.dml_optuna_sweeper.dml_optuna_sweeper import RESULTS_FILE

if TYPE_CHECKING:
    from hydra_plugins.dml_optuna_sweeper._space import SearchSpace

log = logging.getLogger(__name__)
_ABSENT = object()


class DmlOptunaSweeperImpl(Sweeper):
    """A TPE sweep over ``params``; see :class:`~.config.DmlOptunaSweeperConf`. A Sweeper
    itself, as in Hydra's own plugins, for ``validate_batch_is_legal``."""

    def __init__(
        self,
        n_trials: int = 20,
        n_jobs: int = 1,
        seed: int | None = None,
        direction: str | None = None,
        storage: str | None = None,
        study_name: str | None = None,
        params: Any = None,
    ) -> None:
        super().__init__()
        self.n_trials = n_trials
        self.n_jobs = n_jobs
        self.seed = seed
        self.direction = direction
        self.storage = storage
        self.study_name = study_name
        self.params: dict[str, Any] = _plain(params)
        self.config: DictConfig | None = None
        self.launcher: Launcher | None = None
        self.hydra_context: HydraContext | None = None
        self._prefixes: dict[str, str] = {}  # key -> '' or '++', decided once per key

    def setup(
        self, *, hydra_context: HydraContext, task_function: TaskFunction, config: DictConfig
    ) -> None:
        """Keep the config and instantiate the launcher (as Hydra's basic sweeper does)."""
        from hydra.core.plugins import Plugins

        self.hydra_context = hydra_context
        self.config = config
        self.launcher = Plugins.instance().instantiate_launcher(
            hydra_context=hydra_context, task_function=task_function, config=config
        )

    def search_space(self, arguments: Sequence[str]) -> tuple[SearchSpace, list[str]]:
        """The space from ``params`` and command-line sweeps, and the overrides every trial gets.

        A command-line sweep (``key=a,b`` or ``key=interval(...)``) replaces the declared
        entry for its key; a plain override (``key=value``) pins the key: it is no longer
        searched.

        Raises:
            ConfigError: for an invalid entry, or when nothing is left to search.
        """
        from declarative_ml.errors import ConfigError
        from hydra_plugins.dml_optuna_sweeper._space import (
            distribution_from_override,
            parse_search_space,
        )

        space = parse_search_space(self.params)
        loader = self.hydra_context.config_loader if self.hydra_context is not None else None
        parser = OverridesParser.create(config_loader=loader)
        fixed: list[str] = []
        for override in parser.parse_overrides(list(arguments)):
            key = override.key_or_group
            if override.is_sweep_override():
                space.drop(key)
                space.distributions[key] = distribution_from_override(override)
                if override.is_force_add() or override.is_add():
                    space.prefixes[key] = "++" if override.is_force_add() else "+"
            else:
                assert override.input_line is not None
                fixed.append(override.input_line)
                if space.drop(key):
                    log.info("%s is set on the command line: not searched", key)
        if not space.distributions:
            raise ConfigError(
                "hydra.sweeper.params: nothing to search; declare at least one "
                "{type: int|float|categorical, ...} entry or a list of choices"
            )
        return space, fixed

    def trial_overrides(self, space: SearchSpace, params: dict[str, Any]) -> list[str]:
        """``key=value`` overrides for one trial: the fixed entries, then the sampled ones.

        A key the composed config lacks (and that is no config group) is written
        ``++key=value``, so a search may add an estimator parameter the model's YAML
        does not list.
        """
        from hydra_plugins.dml_optuna_sweeper._space import format_value

        values = {**space.fixed, **params}
        return [
            f"{space.prefixes.get(k) or self._prefix(k)}{k}={format_value(v)}"
            for k, v in values.items()
        ]

    def _prefix(self, key: str) -> str:
        if key not in self._prefixes:
            self._prefixes[key] = self._find_prefix(key)
        return self._prefixes[key]

    def _find_prefix(self, key: str) -> str:
        assert self.config is not None and self.hydra_context is not None
        try:
            present = OmegaConf.select(self.config, key, default=_ABSENT, throw_on_missing=False)
        except Exception:  # an unresolvable interpolation: the key is there
            present = None
        if present is not _ABSENT:
            return ""
        try:
            is_group = bool(self.hydra_context.config_loader.get_group_options(key))
        except Exception:  # not a group name Hydra can look up
            is_group = False
        return "" if is_group else "++"

    def sweep(self, arguments: list[str]) -> list[Sequence[JobReturn]]:
        """Run ``n_trials`` trials in batches of ``n_jobs``; write ``optimization_results.yaml``.

        Raises:
            ConfigError: for bad settings or a bad search space (before any trial runs).
            AllTrialsFailedError: when no trial of this sweep produced a value.
        """
        from hydra.core.utils import configure_log
        from optuna.trial import TrialState

        from hydra_plugins.dml_optuna_sweeper import _study

        assert self.config is not None and self.launcher is not None
        self._check_settings()
        space, fixed = self.search_space(arguments)
        direction = _study.resolve_direction(self.direction, self.config)
        name = self.study_name or _study.default_study_name(self.config)
        study = _study.open_study(name, direction, storage=self.storage, seed=self.seed)

        sweep_dir = Path(self.config.hydra.sweep.dir)
        sweep_dir.mkdir(parents=True, exist_ok=True)
        OmegaConf.save(self.config, sweep_dir / "multirun.yaml")
        log.info(
            "Optuna study %r (%s): %d trials, %d at a time, searching %s",
            name,
            direction,
            self.n_trials,
            self.n_jobs,
            ", ".join(space.distributions),
        )

        returns: list[Sequence[JobReturn]] = []
        failures: list[str] = []
        done = 0
        while done < self.n_trials:
            trials = [
                study.ask(dict(space.distributions))
                for _ in range(min(self.n_jobs, self.n_trials - done))
            ]
            batch = [[*fixed, *self.trial_overrides(space, t.params)] for t in trials]
            try:
                self.validate_batch_is_legal(batch)
                results = self.launcher.launch(batch, initial_job_idx=done)
            except BaseException:  # leave no RUNNING trial behind in a shared study
                for trial in trials:
                    study.tell(trial, state=TrialState.FAIL)
                raise
            for trial, overrides, result in zip(trials, batch, results, strict=True):
                value, problem = _study.record(study, trial, result)
                shown = " ".join(overrides[len(fixed) :])
                if value is None:
                    failures.append(problem)
                    log.warning("Trial %d failed: %s (%s)", done, problem, shown)
                else:
                    log.info("Trial %d: %.6g (%s)", done, value, shown)
                done += 1
            returns.append(results)
            # The basic launcher leaves logging set up for the last job (its log file).
            configure_log(self.config.hydra.hydra_logging, self.config.hydra.verbose)

        summary = _study.summarize(study, n_trials=self.n_trials, n_failed=len(failures))
        OmegaConf.save(OmegaConf.create(summary), sweep_dir / RESULTS_FILE)
        if len(failures) == self.n_trials:
            raise _study.AllTrialsFailedError(
                f"all {self.n_trials} trials of study {name!r} failed (first: {failures[0]}); "
                f"see {sweep_dir / RESULTS_FILE}"
            )
        # The study's best may come from an earlier sweep sharing the study (storage):
        # said so, beside the sweep summary's "best trial #N of this sweep".
        log.info(
            "Study best (all sweeps of study %r, %d trials): Optuna trial %s: %.6g with %s; "
            "this sweep: %d of %d trials failed; results in %s",
            name,
            summary["n_trials_in_study"],
            summary["best_trial"],
            summary["best_value"],
            summary["best_params"],
            len(failures),
            self.n_trials,
            sweep_dir / RESULTS_FILE,
        )
        return returns

    @classmethod
    def check_config(cls, config: DictConfig) -> None:
        """Every check :meth:`sweep` makes before its first trial, made from the composed
        config alone: settings, the search space (declared and command-line sweeps),
        the direction, and the storage (the study is opened: scheme, driver, server and
        the study's direction). The sweep callback calls it before it creates the
        sweep's parent run, so a bad sweep leaves no run behind.

        Raises:
            ConfigError: naming the ``hydra.sweeper`` key at fault.
        """
        from hydra_plugins.dml_optuna_sweeper import _study

        settings = {k: v for k, v in config.hydra.sweeper.items() if k != "_target_"}
        sweeper = cls(**settings)
        sweeper.config = config
        sweeper._check_settings()
        sweeper.search_space(list(config.hydra.overrides.task))
        direction = _study.resolve_direction(sweeper.direction, config)
        if sweeper.storage is not None:  # an in-memory study has nothing to reach
            name = sweeper.study_name or _study.default_study_name(config)
            _study.open_study(name, direction, storage=sweeper.storage, seed=sweeper.seed)

    def _check_settings(self) -> None:
        from declarative_ml.errors import ConfigError

        for name in ("n_trials", "n_jobs"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 1:
                raise ConfigError(f"hydra.sweeper.{name}: {value!r} must be at least 1")


def _plain(params: Any) -> dict[str, Any]:
    """``params`` as plain Python (Hydra hands over a DictConfig)."""
    if params is None:
        return {}
    if isinstance(params, DictConfig):
        container = OmegaConf.to_container(params, resolve=True)
        assert isinstance(container, dict)
        return {str(k): v for k, v in container.items()}
    return dict(params)
