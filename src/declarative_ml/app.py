"""The Hydra entry point: ``python -m declarative_ml [overrides]``.

Bad input ends in one line on stderr and a non-zero exit; ``DML_DEBUG=1``
shows the traceback instead.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager

import hydra
from omegaconf import DictConfig

from declarative_ml import console
from declarative_ml.config.resolvers import CONF_DIR, register_resolvers
from declarative_ml.config.store import register_configs
from declarative_ml.errors import (
    ConfigError,
    DataValidationError,
    DeclarativeMLError,
    RuleError,
    SweepError,
)
from declarative_ml.process import debug_enabled, env_flag, quiet_mlflow
from declarative_ml.signals import Terminated, terminated_on_sigterm
from declarative_ml.sweeps import state as sweep_state

logger = logging.getLogger("declarative_ml")
CONFIG_NAME = "config"
CONF_PATH = str(CONF_DIR)


def task(cfg: DictConfig) -> float | None:
    """Hydra's task function: train one config and print its summary."""
    from hydra.core.hydra_config import HydraConfig

    from declarative_ml.config.errors_hydra import one_line
    from declarative_ml.runner import train
    from declarative_ml.secrets import mask_overrides, mask_text, unresolved_strings
    from declarative_ml.summary import print_summary
    from declarative_ml.sweeps.trial import TrialReporter

    quiet_mlflow()  # again: joblib's worker processes never ran main()
    hydra_cfg = HydraConfig.get() if HydraConfig.initialized() else None
    # As typed: iterating the node would resolve ${oc.env:..} into the recorded overrides.
    overrides = unresolved_strings(hydra_cfg.overrides.task) if hydra_cfg is not None else []
    trial = TrialReporter(hydra_cfg, mask_overrides(overrides))  # its record reaches MLflow
    try:
        trial.start()
        result = train(cfg, overrides=overrides, hydra_config=hydra_cfg)
    except DeclarativeMLError as exc:
        if debug_enabled():
            _print_child_traceback(exc)
            raise
        # The terminal may show data values (pandera's failure cases); the record may not.
        console.error(trial.prefix + one_line(exc.terminal_message or str(exc)))
        if trial.in_sweep:  # the sweep goes on; the sweeper sees a failed trial
            run_id = getattr(exc, "dml_run_id", None)
            lost = not isinstance(exc, (ConfigError, DataValidationError, RuleError))
            trial.failed(mask_text(one_line(str(exc))), run_id=run_id, lost=lost)
            return None
        sys.exit(exc.exit_code)
    except Exception as exc:  # unexpected: still one line unless debugging
        if debug_enabled():
            _print_child_traceback(exc)
            raise
        message = f"{type(exc).__name__}: {one_line(str(exc))}"
        console.error(f"{trial.prefix}{message} (set DML_DEBUG=1 for the traceback)")
        if trial.in_sweep:
            trial.failed(mask_text(message), run_id=getattr(exc, "dml_run_id", None), lost=True)
            return None
        sys.exit(1)
    print_summary(result)
    trial.finished(result)
    return result.objective


def _print_child_traceback(exc: BaseException) -> None:
    """Under ``DML_DEBUG``: where an error raised in the training process came from.

    The re-raised copy's traceback starts in the parent; the child's is kept as text.
    """
    trace = getattr(exc, "dml_traceback", None)
    if trace:
        sys.stderr.write(f"In the training process:\n{trace}\n")


@contextmanager
def _hydra_errors_raised() -> Iterator[None]:
    """Make Hydra raise its errors instead of printing them over several lines.

    ``HYDRA_FULL_ERROR=1`` is Hydra's documented switch for this (its
    ``run_and_report`` then re-raises); the previous value is restored afterwards.
    Errors from the task function never get here: :func:`task` handles them.
    """
    previous = os.environ.get("HYDRA_FULL_ERROR")
    os.environ["HYDRA_FULL_ERROR"] = "1"
    try:
        yield
    finally:
        if previous is None:
            os.environ.pop("HYDRA_FULL_ERROR", None)
        else:
            os.environ["HYDRA_FULL_ERROR"] = previous


def preflight(argv: list[str]) -> None:
    """Compose the command line's config as Hydra will, and check what it may make Hydra
    do (``config/guard.py``) before Hydra configures logging, instantiates callbacks or
    sets environment variables from it.

    Help and shell completion compose nothing to act on and are left to Hydra.

    Raises:
        ConfigError: for the first entry the allowlists refuse (and how many more).
        Whatever Hydra raises for a bad command line or config file.
    """
    from hydra._internal.utils import (
        compute_search_path_dir,
        detect_calling_file_or_module_from_task_function,
        get_args_parser,
    )

    from declarative_ml.config.compose import ConfigLocation, load_config
    from declarative_ml.config.guard import check_config
    from declarative_ml.config.trust import Trust, value_override_keys

    args = get_args_parser().parse_args(argv)
    if args.help or args.hydra_help or args.shell_completion:
        return
    calling_file, calling_module = detect_calling_file_or_module_from_task_function(task)
    config_dir = os.path.abspath(args.config_dir) if args.config_dir else None
    location = ConfigLocation(
        primary=str(
            compute_search_path_dir(calling_file, calling_module, args.config_path or CONF_PATH)
        ),
        name=args.config_name or CONFIG_NAME,
        config_dir=config_dir if config_dir and os.path.isdir(config_dir) else None,
    )
    cfg = load_config(args.overrides, location=location, multirun=True, from_shell=True)
    groups = list(cfg.hydra.runtime.choices.keys())
    keys = value_override_keys(args.overrides, groups)
    verdict = check_config(cfg, Trust.from_environment(keys, in_project=project_module))
    for notice in verdict.notices:
        console.warn(notice)
    if verdict.problems:
        more = len(verdict.problems) - 1
        also = f" (and {more} more: `dml rules check` lists them)" if more else ""
        raise ConfigError(verdict.problems[0] + also)


def project_module(name: str) -> bool:
    """Whether top-level module ``name`` is the project's own code: its source lies in the
    working directory. Located without importing it (an import runs its code)."""
    from importlib.machinery import PathFinder

    try:
        spec = PathFinder.find_spec(name, sys.path)
    except (ImportError, ValueError):
        return False
    origin = spec.origin if spec is not None and spec.origin else None
    locations = list(spec.submodule_search_locations or []) if spec is not None else []
    places = [os.path.realpath(p) for p in ([origin] if origin else []) + locations]
    cwd = os.path.realpath(os.getcwd())
    return bool(places) and all(p == cwd or p.startswith(cwd + os.sep) for p in places)


def main() -> None:
    """Register schemas and resolvers, check the config, then hand over to Hydra.

    A bad override or config file (unknown option or key, wrong type, YAML syntax, an
    entry the trust checks refuse) ends with one ``error:`` line and exit code 2. With
    ``DML_DEBUG=1`` or ``HYDRA_FULL_ERROR=1`` nothing is caught: the traceback is printed.
    """
    quiet_mlflow()
    register_configs()
    register_resolvers()
    app = hydra.main(version_base="1.3", config_path=CONF_PATH, config_name=CONFIG_NAME)(task)
    show_traceback = debug_enabled() or env_flag("HYDRA_FULL_ERROR")
    with _hydra_errors_raised(), terminated_on_sigterm():
        try:
            preflight(sys.argv[1:])
            app()
            _fail_incomplete_sweeps()
        except BrokenPipeError:  # the reader of stdout left: exit_without_teardown ends quietly
            raise
        except (KeyboardInterrupt, Terminated) as exc:  # Ctrl-C, SIGTERM: runs end KILLED
            sweep_state.close_open_sweeps("KILLED")
            if show_traceback:
                raise
            stopped = exc if isinstance(exc, Terminated) else None
            console.error(f"{stopped or 'interrupted'}; runs in progress were ended KILLED")
            sys.exit(stopped.exit_code if stopped else 130)
        except DeclarativeMLError as exc:  # the preflight's checks, a sweeper's settings
            sweep_state.close_open_sweeps("FAILED")
            if show_traceback:
                raise
            console.error(exc.terminal_message or str(exc))
            sys.exit(exc.exit_code)
        except Exception as exc:  # from Hydra: parsing, composition, launcher, sweeper
            sweep_state.close_open_sweeps("FAILED")
            if show_traceback:
                raise
            from declarative_ml.config.errors_hydra import format_hydra_error, is_config_error

            console.error(format_hydra_error(exc, config_name=CONFIG_NAME))
            sys.exit(ConfigError.exit_code if is_config_error(exc) else 1)


def _fail_incomplete_sweeps() -> None:
    """A sweep that could not record a trial ends the command non-zero, naming the trial."""
    problems = sweep_state.incomplete_sweeps()
    if problems:
        raise SweepError(problems[0])
