"""What a config file may name, and what the person at the keyboard vouches for beyond
that: the allowlists of ``guard.py``, :class:`Trust` and the :class:`Verdict` of a check.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

SECRETS_CALLBACK = "declarative_ml.config.secrets_callback.SecretsCallback"
SWEEP_CALLBACK = "declarative_ml.sweeps.callback.SweepCallback"
OUR_CALLBACKS = {"dml_secrets": SECRETS_CALLBACK, "dml_sweep": SWEEP_CALLBACK}

# Exact class paths, or module prefixes ending in ".".
TRUSTED_TARGETS: tuple[str, ...] = (
    "hydra._internal.core_plugins.",  # Hydra's basic launcher and sweeper
    "hydra_plugins.hydra_joblib_launcher.",
    "hydra_plugins.hydra_ray_launcher.",
    "hydra_plugins.hydra_submitit_launcher.",
    "hydra_plugins.dml_optuna_sweeper.",
    "optuna.samplers.",
    "optuna.pruners.",
    "hydra.experimental.callbacks.LogJobReturnCallback",
    SECRETS_CALLBACK,
    SWEEP_CALLBACK,
)
TRUSTED_LOG_CLASSES: frozenset[str] = frozenset(
    {
        "logging.StreamHandler",
        "logging.FileHandler",
        "logging.NullHandler",
        "logging.handlers.RotatingFileHandler",
        "logging.handlers.TimedRotatingFileHandler",
        "logging.handlers.WatchedFileHandler",
        "logging.Formatter",
        "logging.Filter",
        "colorlog.ColoredFormatter",  # hydra/job_logging=colorlog (hydra-colorlog)
    }
)
TRUSTED_EXT: frozenset[str] = frozenset({"ext://sys.stdout", "ext://sys.stderr"})
SAFE_ENV: frozenset[str] = frozenset(
    {
        "OMP_NUM_THREADS",
        "MKL_NUM_THREADS",
        "OPENBLAS_NUM_THREADS",
        "NUMEXPR_NUM_THREADS",
        "VECLIB_MAXIMUM_THREADS",
        "TOKENIZERS_PARALLELISM",
        "CUDA_VISIBLE_DEVICES",
        "CUBLAS_WORKSPACE_CONFIG",
        "PYTHONHASHSEED",
    }
)
LOGGING_NODES = ("hydra.hydra_logging", "hydra.job_logging")
LAUNCHER_CODE_KEYS = ("setup", "runtime_env")  # shell commands, packages to install
TARGETS_ENV = "DML_TRUSTED_TARGETS"
ENV_ENV = "DML_TRUSTED_ENV"
MODULES_ENV = "DML_TRUSTED_MODULES"


def _nowhere(module: str) -> bool:
    return False


@dataclass(frozen=True)
class Trust:
    """What the person running the command vouches for, beyond the built-in allowlists.

    Attributes:
        targets: extra targets (exact, or prefixes ending in ``.``): ``DML_TRUSTED_TARGETS``.
        env: extra environment variable names for ``env_set``/``env_copy``: ``DML_TRUSTED_ENV``.
        command_line: config keys set by value on the command line.
    """

    targets: tuple[str, ...] = ()
    env: tuple[str, ...] = ()
    command_line: tuple[str, ...] = ()
    modules: tuple[str, ...] = ()
    in_project: Callable[[str], bool] = _nowhere

    @classmethod
    def from_environment(
        cls,
        command_line: Sequence[str] = (),
        environ: Mapping[str, str] | None = None,
        in_project: Callable[[str], bool] = _nowhere,
    ) -> Trust:
        """Trust from ``DML_TRUSTED_TARGETS``, ``DML_TRUSTED_ENV``, ``DML_TRUSTED_MODULES``
        and command-line keys; ``in_project`` says whether a module is the project's own."""
        environ = os.environ if environ is None else environ

        def items(name: str) -> tuple[str, ...]:
            return tuple(s.strip() for s in environ.get(name, "").split(",") if s.strip())

        return cls(
            items(TARGETS_ENV),
            items(ENV_ENV),
            tuple(command_line),
            items(MODULES_ENV),
            in_project,
        )

    def on_command_line(self, path: str) -> bool:
        """Whether ``path`` (or a node above it) was set on the command line."""
        return any(path == key or path.startswith(key + ".") for key in self.command_line)

    def touched_on_command_line(self, path: str) -> bool:
        """Whether the command line set ``path``, a node above it or one inside it."""
        return self.on_command_line(path) or any(
            key.startswith(path + ".") for key in self.command_line
        )

    def vouched_target(self, target: str) -> bool:
        """Whether ``DML_TRUSTED_TARGETS`` covers ``target``."""
        return matches(target, self.targets)


@dataclass
class Verdict:
    """The outcome of a check: problems refuse the config; notices are printed as warnings."""

    problems: list[str] = field(default_factory=list)
    notices: list[str] = field(default_factory=list)


def matches(target: str, allowed: Sequence[str]) -> bool:
    """Whether ``target`` is one of ``allowed`` (exact paths, or prefixes ending in ``.``)."""
    return any(target == a or (a.endswith(".") and target.startswith(a)) for a in allowed)


def value_override_keys(overrides: Sequence[str], groups: Sequence[str]) -> list[str]:
    """The config keys that ``overrides`` set to a value (config group choices excluded).

    Args:
        overrides: command-line overrides as typed.
        groups: the config groups of the composed config (``hydra.runtime.choices`` keys).
    """
    from hydra.core.override_parser.overrides_parser import OverridesParser

    group_names = {g.replace("/", ".") for g in groups}
    keys = []
    for override in OverridesParser.create().parse_overrides(list(overrides)):
        key = override.key_or_group
        if "/" in key or key in group_names:
            continue
        keys.append(key)
    return keys
