"""What a composed config may make Hydra or us do, checked before either acts on it.

Any YAML file can arrive in a pull request from a stranger: an experiment preset, a
rules file selected with ``promotion=NAME``, a sweep file. Hydra acts on parts of the
composed config before our task function sees it: it configures logging from
``hydra.hydra_logging`` (``logging.config.dictConfig``: ``class`` and ``()`` name any
callable), instantiates ``hydra.callbacks``, the launcher and the sweeper (``_target_``),
and sets ``hydra.job.env_set`` in the environment of the job and of every process it
starts. So the composed config is checked here first (``app.main`` composes it once
with Hydra's own loader, before ``hydra.main`` runs), against allowlists:

- every ``_target_`` anywhere: Hydra's launchers and sweepers, Optuna's samplers, our
  callbacks (:data:`TRUSTED_TARGETS`);
- logging: ``logging``'s own handlers and formatters, ``ext://sys.stdout|stderr``, and a
  file handler's ``filename`` ending in ``.log`` (a log line must not be appended to a
  shell's start-up file);
- ``hydra.job.env_set`` / ``env_copy``: thread counts and device selection only
  (:data:`SAFE_ENV`): ``GIT_CONFIG_*`` made ``git`` run a command, ``PYTHONPATH`` or
  ``LD_PRELOAD`` would load code into the processes we start;
- our callbacks (secrets masking, sweep tracking) stay as shipped;
- a sweep file's ``hydra.sweeper.params`` do not change ``hydra.*`` per trial, and a
  launcher's ``setup`` commands or Ray ``runtime_env`` (which installs packages) do not
  come from a file;
- ``model.trusted_modules`` in a file names only the project's own code (a module whose
  source is in the working directory): trusting an installed package would let a YAML-only
  change pick any class with a ``fit`` from it.

The person at the keyboard is trusted: a value given on the command line (``key=value``,
not a config group choice) is accepted with a warning, and ``DML_TRUSTED_TARGETS`` /
``DML_TRUSTED_ENV`` / ``DML_TRUSTED_MODULES`` (comma-separated; a target ending in ``.``
is a module prefix) widen the allowlists. Pure: reads only the config and the
:class:`Trust` it is given (which says where the project's own modules are).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from omegaconf import DictConfig, ListConfig, OmegaConf

from declarative_ml.config.trust import (
    ENV_ENV,
    LAUNCHER_CODE_KEYS,
    LOGGING_NODES,
    MODULES_ENV,
    OUR_CALLBACKS,
    SAFE_ENV,
    TARGETS_ENV,
    TRUSTED_EXT,
    TRUSTED_LOG_CLASSES,
    TRUSTED_TARGETS,
    Trust,
    Verdict,
    matches,
)


def _walk(node: Any, path: str) -> Iterator[tuple[str, str, Any, Any]]:
    """``(path, key, raw value, parent node)`` for every entry, depth first, unresolved."""
    if isinstance(node, DictConfig):
        if node._is_none() or node._is_missing() or node._is_interpolation():
            return
        for key in node:
            child: Any = node._get_node(key)
            child_path = f"{path}.{key!s}" if path else str(key)
            raw = child._value() if child is not None else None
            yield child_path, str(key), raw, node
            if isinstance(child, DictConfig | ListConfig):
                yield from _walk(child, child_path)
    elif isinstance(node, ListConfig):
        if node._is_none() or node._is_missing() or node._is_interpolation():
            return
        for index in range(len(node)):
            child = node._get_node(index)
            child_path = f"{path}[{index}]"
            raw = child._value() if child is not None else None
            yield child_path, str(index), raw, node
            if isinstance(child, DictConfig | ListConfig):
                yield from _walk(child, child_path)


def _value(cfg: DictConfig, path: str, raw: Any) -> Any:
    """The resolved value at ``path`` (the raw one when it does not resolve)."""
    if not (isinstance(raw, str) and "${" in raw):
        return raw
    try:
        return OmegaConf.select(cfg, path.replace("[", ".").replace("]", ""))
    except Exception:  # an unresolvable interpolation: judged by what is written
        return raw


def _short(text: Any) -> str:
    shown = str(text)
    return shown if len(shown) <= 80 else shown[:77] + "..."


def check_config(cfg: DictConfig, trust: Trust) -> Verdict:
    """Check a composed config (``hydra`` node included) against the allowlists.

    Returns:
        A :class:`Verdict`: one problem per refused entry (naming its key, the value and
        what is allowed), and a notice per entry the command line vouched for.
    """
    verdict = Verdict()
    _check_targets(cfg, trust, verdict)
    _check_logging(cfg, trust, verdict)
    _check_environment(cfg, trust, verdict)
    _check_callbacks(cfg, trust, verdict)
    _check_sweeper_params(cfg, trust, verdict)
    _check_launcher(cfg, trust, verdict)
    _check_trusted_modules(cfg, trust, verdict)
    return verdict


def _vouched(path: str, trust: Trust, verdict: Verdict, what: str) -> bool:
    if not trust.on_command_line(path):
        return False
    verdict.notices.append(f"{path}: {what}, set on the command line: trusted as you asked")
    return True


def _check_targets(cfg: DictConfig, trust: Trust, verdict: Verdict) -> None:
    for path, key, raw, _ in _walk(cfg, ""):
        if key != "_target_":
            continue
        target = _value(cfg, path, raw)
        if isinstance(target, str) and matches(target, TRUSTED_TARGETS):
            continue
        if isinstance(target, str) and trust.vouched_target(target):
            verdict.notices.append(f"{path}: {target!r} trusted by {TARGETS_ENV}")
            continue
        if _vouched(path, trust, verdict, f"target {_short(target)!r}"):
            continue
        verdict.problems.append(
            f"{path}: {_short(target)!r} is not an allowed target; a config file may only "
            f"name Hydra's launchers and sweepers, Optuna's samplers and declarative_ml's "
            f"callbacks (to trust it: {TARGETS_ENV}={_short(target)} in the environment, "
            f"or set {path} on the command line)"
        )


def _check_logging(cfg: DictConfig, trust: Trust, verdict: Verdict) -> None:
    for root in LOGGING_NODES:
        node = OmegaConf.select(cfg, root, default=None)
        if not isinstance(node, DictConfig):
            continue
        for path, key, raw, _ in _walk(node, root):
            value = _value(cfg, path, raw)
            if key in ("class", "()") and isinstance(value, str | type(None)):
                allowed = value is None or value in TRUSTED_LOG_CLASSES
                if allowed or trust.vouched_target(str(value)):
                    continue
                if _vouched(path, trust, verdict, f"logging factory {_short(value)!r}"):
                    continue
                verdict.problems.append(
                    f"{path}: logging factory {_short(value)!r} is not allowed; a config file "
                    f"may use {', '.join(sorted(TRUSTED_LOG_CLASSES))} (to trust it: "
                    f"{TARGETS_ENV}={_short(value)})"
                )
            elif key in ("class", "()"):
                verdict.problems.append(f"{path}: a logging factory must be a class path")
            elif isinstance(value, str) and value.startswith("ext://"):
                if value in TRUSTED_EXT or _vouched(path, trust, verdict, f"{value!r}"):
                    continue
                verdict.problems.append(
                    f"{path}: {_short(value)!r} is not allowed; a config file may refer to "
                    f"{' or '.join(sorted(TRUSTED_EXT))}"
                )
            elif key == "filename" and not str(raw).endswith(".log"):
                if _vouched(path, trust, verdict, "log file name"):
                    continue
                verdict.problems.append(
                    f"{path}: log file {_short(raw)!r} must end in .log (a config file cannot "
                    f"choose which file log lines are appended to)"
                )


def _check_environment(cfg: DictConfig, trust: Trust, verdict: Verdict) -> None:
    allowed = SAFE_ENV | set(trust.env)
    env_set = OmegaConf.select(cfg, "hydra.job.env_set", default=None) or {}
    env_copy = OmegaConf.select(cfg, "hydra.job.env_copy", default=None) or []
    names = [(f"hydra.job.env_set.{k}", str(k)) for k in env_set]
    names += [(f"hydra.job.env_copy[{i}]", str(v)) for i, v in enumerate(env_copy)]
    for path, name in names:
        if name in allowed:
            continue
        base = path.split("[")[0]
        if _vouched(path if "[" not in path else base, trust, verdict, f"variable {name}"):
            continue
        verdict.problems.append(
            f"{path}: environment variable {name!r} may not be set from a config file "
            f"(it reaches every process the run starts); allowed: "
            f"{', '.join(sorted(SAFE_ENV))} (to trust it: {ENV_ENV}={name}, or set it "
            f"on the command line)"
        )


def _check_callbacks(cfg: DictConfig, trust: Trust, verdict: Verdict) -> None:
    callbacks = OmegaConf.select(cfg, "hydra.callbacks", default=None)
    for name, target in OUR_CALLBACKS.items():
        path = f"hydra.callbacks.{name}"
        node = callbacks.get(name) if isinstance(callbacks, DictConfig) else None
        raw = OmegaConf.to_container(node, resolve=False) if isinstance(node, DictConfig) else node
        if raw == {"_target_": target}:
            continue
        if trust.touched_on_command_line(path) or trust.on_command_line("hydra.callbacks"):
            verdict.notices.append(
                f"{path}: changed on the command line; declarative_ml's guarantees that "
                f"depend on it (secrets kept out of outputs, sweep tracking) may not hold"
            )
            continue
        verdict.problems.append(
            f"{path}: declarative_ml's own callback cannot be changed or removed by a config "
            f"file (found {_short(raw)!r}); it must stay {{_target_: {target}}}"
        )


def _check_sweeper_params(cfg: DictConfig, trust: Trust, verdict: Verdict) -> None:
    params = OmegaConf.select(cfg, "hydra.sweeper.params", default=None)
    if not isinstance(params, DictConfig):
        return
    for key in params:
        name = str(key).lstrip("+~")
        if not re.match(r"hydra[./]", name):
            continue
        path = f"hydra.sweeper.params.{key!s}"
        if _vouched(path, trust, verdict, "a per-trial change of Hydra's settings"):
            continue
        verdict.problems.append(
            f"{path}: a sweep file may not change Hydra's own settings per trial; "
            f"search over the task's keys (model.params.*, ...)"
        )


def _check_launcher(cfg: DictConfig, trust: Trust, verdict: Verdict) -> None:
    launcher = OmegaConf.select(cfg, "hydra.launcher", default=None)
    if not isinstance(launcher, DictConfig):
        return
    for path, key, raw, _ in _walk(launcher, "hydra.launcher"):
        if key not in LAUNCHER_CODE_KEYS or raw in (None, [], {}):
            continue
        if _vouched(path, trust, verdict, f"launcher {key}"):
            continue
        verdict.problems.append(
            f"{path}: a config file may not give the launcher {key!r} (commands or packages "
            f"run on the workers); set it on the command line"
        )


def _check_trusted_modules(cfg: DictConfig, trust: Trust, verdict: Verdict) -> None:
    path = "model.trusted_modules"
    modules = OmegaConf.select(cfg, path, default=None)
    if not isinstance(modules, ListConfig) or trust.touched_on_command_line(path):
        return
    for index, module in enumerate(modules):
        name = str(module)
        top = name.split(".")[0]
        if name in trust.modules or top in trust.modules or trust.in_project(top):
            continue
        verdict.problems.append(
            f"{path}[{index}]: {name!r} is not this project's own code; a config file may "
            f"only trust modules whose source is in the working directory (to trust it: "
            f"{path}=[{name}] on the command line, or {MODULES_ENV}={name})"
        )
