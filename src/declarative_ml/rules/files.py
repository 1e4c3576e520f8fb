"""Promotion rule files on disk, the file-side companion of the pure parser and evaluator.

For ``dml rules check`` and ``dml rules plan``: locating a rule file and its config
root (the folder holding ``promotion/``: the package's ``conf/`` or a user's
``hydra.searchpath`` folder), the line of each rule in its YAML, the experiments
whose composed config selects it, and its text at a git ref.
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from declarative_ml.config.resolvers import CONF_DIR
from declarative_ml.errors import ConfigError, RuleError
from declarative_ml.rules.decision import GATES

GROUP = "promotion"


@dataclass(frozen=True)
class RuleFile:
    """A promotion rule file: ``path`` (resolved), ``display`` (as messages show it, see
    `display_path`) and ``root``, the config root holding ``promotion/<option>.yaml``
    (None when the file is not in a folder named ``promotion``)."""

    path: Path
    display: str
    root: Path | None

    @property
    def option(self) -> str:
        """The option name a config selects it by (``promotion=<option>``)."""
        return self.path.stem

    @property
    def source(self) -> str:
        """``promotion/<option>.yaml`` as composition errors name it (else the file name)."""
        return f"{GROUP}/{self.path.name}" if self.root is not None else self.path.name

    @property
    def packaged(self) -> bool:
        """Whether it is one of the package's own rule files."""
        return self.root == CONF_DIR.resolve()


def display_path(path: Path) -> str:
    """``path`` relative to the working directory when inside it (as GitHub annotations
    expect), else absolute."""
    resolved = path.resolve()
    try:
        return resolved.relative_to(Path.cwd().resolve()).as_posix()
    except ValueError:
        return str(resolved)


def locate_rule_file(path: str | Path) -> RuleFile:
    """Describe the rule file at ``path``.

    Raises:
        RuleError: When there is no such file.
    """
    resolved = Path(path).expanduser().resolve()
    if not resolved.is_file():
        raise RuleError(f"{path}: no such rule file")
    root = resolved.parent.parent if resolved.parent.name == GROUP else None
    return RuleFile(resolved, display_path(resolved), root)


def package_rule_files() -> list[RuleFile]:
    """Every ``conf/promotion/*.yaml`` of the package, sorted by name."""
    return [locate_rule_file(p) for p in sorted((CONF_DIR / GROUP).glob("*.yaml"))]


class RuleYAMLError(RuleError):
    """A rule file is not valid YAML; ``line`` is the 1-based line of the problem."""

    def __init__(self, message: str, line: int) -> None:
        super().__init__(message)
        self.line = line


def load_rule_yaml(text: str) -> tuple[Any, dict[str, int]]:
    """Parse a rule file's YAML and find the line of each gate and rule.

    Returns:
        The data (as ``yaml.safe_load`` gives it) and a map from ``"gate"`` (its key)
        and ``"gate[index]"`` (each rule) to a 1-based line number. Any other
        top-level key is in the map under its name.

    Raises:
        RuleYAMLError: On a YAML syntax error, with the line of the problem, or
            collections nested too deeply to read.
    """
    import yaml

    from declarative_ml.config.yaml_bounds import yaml_problem

    problem = yaml_problem(text)  # before anything expands its aliases
    if problem is not None:
        raise RuleYAMLError(problem, 1)
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        line = mark.line + 1 if mark is not None else 1
        problem = (
            getattr(exc, "problem", None) or (str(exc).splitlines() or [type(exc).__name__])[0]
        )
        context = getattr(exc, "context", None)
        detail = " ".join((f"{problem} ({context})" if context else str(problem)).split())
        raise RuleYAMLError(f"invalid YAML: {detail}", line) from None
    except RecursionError:  # PyYAML composes nested collections recursively
        raise RuleYAMLError("invalid YAML: collections nested too deeply", 1) from None
    lines: dict[str, int] = {}
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            name = str(key.value)
            lines[name] = key.start_mark.line + 1
            if name in GATES and isinstance(value, yaml.SequenceNode):
                for index, item in enumerate(value.value):
                    lines[f"{name}[{index}]"] = item.start_mark.line + 1
    return data, lines


@dataclass
class Composed:
    """A config composed in-process (``cfg``, unresolved, without ``hydra``), the option
    Hydra chose per group (``choices``), the folders it searched, in its order, and what
    the trust checks (``config/guard.py``) refuse in it (``untrusted``)."""

    cfg: Any
    choices: dict[str, str]
    search_dirs: list[Path] = field(default_factory=list)
    untrusted: list[str] = field(default_factory=list)

    def rule_file(self) -> RuleFile:
        """The file the composed ``promotion`` came from (the first folder that has it).

        Raises:
            RuleError: When no searched folder holds ``promotion/<choice>.yaml``.
        """
        choice = self.choices.get(GROUP)
        for folder in self.search_dirs:
            candidate = folder / GROUP / f"{choice}.yaml"
            if candidate.is_file():
                return locate_rule_file(candidate)
        searched = ", ".join(str(d) for d in self.search_dirs)
        raise RuleError(f"promotion={choice}: no {GROUP}/{choice}.yaml in {searched}")


def compose_with_sources(overrides: Sequence[str], *, location: Any = None) -> Composed:
    """Compose the packaged config as ``compose_config`` does, keeping Hydra's choices and
    the trust checks' verdict on the whole config (``hydra`` node included).

    Raises:
        ConfigError: One line for any composition failure.
    """
    from omegaconf import OmegaConf, open_dict

    from declarative_ml.config.compose import PACKAGED, compose_config
    from declarative_ml.config.guard import Trust, check_config, value_override_keys

    cfg = compose_config(overrides, hydra=True, location=location or PACKAGED)
    runtime = cfg.hydra.runtime
    choices = {str(k): str(v) for k, v in OmegaConf.to_container(runtime.choices).items()}  # type: ignore[union-attr]
    dirs = [Path(s.path).resolve() for s in runtime.config_sources if s.schema == "file"]
    trust = Trust(command_line=tuple(value_override_keys(overrides, list(choices))))
    untrusted = check_config(cfg, trust).problems
    with open_dict(cfg):
        del cfg["hydra"]
    return Composed(cfg, choices, dirs, untrusted)


@dataclass(frozen=True)
class Use:
    """A config that selects a rule file: its ``experiment`` option and ``path`` (None for
    the root config alone), the metric names its runs log (``known``) or why it did
    not compose (``error``)."""

    experiment: str | None
    path: Path | None
    known: tuple[str, ...] = ()
    error: str | None = None
    untrusted: tuple[str, ...] = ()

    @property
    def label(self) -> str:
        """``experiment=NAME``, or ``(no experiment)`` for the root config."""
        return f"experiment={self.experiment}" if self.experiment else "(no experiment)"


def _declared_promotion(path: Path) -> str | None:
    """The promotion option a config file's defaults list selects (read, not composed)."""
    import yaml

    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return None
    defaults = data.get("defaults") if isinstance(data, dict) else None
    for item in defaults if isinstance(defaults, list) else []:
        if isinstance(item, dict) and len(item) == 1:
            ((key, value),) = item.items()
            if re.sub(r"^override\s+", "", str(key)).lstrip("/") == GROUP:
                return str(value)
    return None


def known_metric_names(cfg: Any) -> tuple[str, ...]:
    """Every metric name the runs of a composed config log (``new_data_*`` included
    when ``promotion.new_data`` is set).

    Raises:
        ConfigError: When ``metrics`` names a metric unfit for the task.
    """
    from declarative_ml.metrics import metric_names, resolve_metrics

    task = str(getattr(cfg.dataset.task, "value", cfg.dataset.task))
    metrics = resolve_metrics(list(cfg.metrics) if cfg.metrics is not None else None, task)
    names = metric_names(metrics)
    if cfg.promotion.get("new_data"):
        names += [f"new_data_{m}" for m in metrics]
    return tuple(names)


def all_metric_names(new_data: bool) -> tuple[str, ...]:
    """Every metric name a run of any task can log (for a file no experiment uses)."""
    from declarative_ml.metrics import METRICS, metric_names

    names = metric_names(METRICS)
    if new_data:
        names += [f"new_data_{m}" for m in METRICS]
    return tuple(names)


def searchpath_overrides(rule_file: RuleFile) -> list[str]:
    """The overrides that put a user's config root on Hydra's search path."""
    if rule_file.root is None or rule_file.packaged:
        return []
    return [f"hydra.searchpath=[file://{rule_file.root.as_posix()}]"]


def experiments_using(
    rule_file: RuleFile, cache: dict[tuple[str, ...], Composed | ConfigError] | None = None
) -> list[Use]:
    """The experiments (and the root config alone) whose composed config uses ``rule_file``.

    Experiments are the ``experiment/*.yaml`` files of the rule file's own config root,
    composed with that root on the search path, so the package's rule files are
    matched with the package's experiments and a user's with the user's. A config
    uses the file when it selects ``promotion=<option>`` and no folder earlier on
    Hydra's search path has a file of that name. An experiment that does not
    compose is returned with its error when its defaults list names the option.

    ``cache`` (compositions by overrides) may be shared across the files of one check.
    Returns the uses, the root config first, then experiments by name.
    """
    cache = {} if cache is None else cache
    if rule_file.root is None:
        return []
    base = searchpath_overrides(rule_file)
    root_choice = _declared_promotion(CONF_DIR / "config.yaml")
    configs: list[tuple[str | None, Path | None]] = [(None, None)]
    configs += [(p.stem, p) for p in sorted((rule_file.root / "experiment").glob("*.yaml"))]
    uses = []
    for name, path in configs:
        overrides = tuple(base + ([f"experiment={name}"] if name else []))
        if overrides not in cache:
            try:
                cache[overrides] = compose_with_sources(overrides)
            except ConfigError as exc:
                cache[overrides] = exc
        try:
            composed = cache[overrides]
            if isinstance(composed, ConfigError):
                raise composed
            if composed.choices.get(GROUP) != rule_file.option:
                continue
            if composed.rule_file().path != rule_file.path:
                continue  # an earlier folder on the search path shadows this file
            known = known_metric_names(composed.cfg)
        except ConfigError as exc:
            declared = (_declared_promotion(path) if path else None) or root_choice
            if declared == rule_file.option:
                uses.append(Use(name, path, error=str(exc)))
            continue
        uses.append(Use(name, path, known, untrusted=tuple(composed.untrusted)))
    return uses


def _git(cwd: Path, *args: str) -> subprocess.CompletedProcess[bytes]:
    from declarative_ml.vcs import run_git

    try:
        return run_git(*args, cwd=cwd)
    except FileNotFoundError:
        raise RuleError("git is not installed; --base needs git") from None


def read_at_ref(path: Path, ref: str) -> str | None:
    """The text of ``path`` at git ref ``ref`` in the repository that holds it.

    Returns:
        The file's text, or None when the file does not exist at ``ref``.

    Raises:
        RuleError: When ``path`` is not in a git repository or ``ref`` is not a commit.
    """
    if ref.startswith("-"):
        raise RuleError(f"--base {ref}: a git ref cannot start with '-'")
    top = _git(path.resolve().parent, "rev-parse", "--show-toplevel")
    if top.returncode != 0:
        raise RuleError(f"{display_path(path)}: not in a git repository (--base needs one)")
    repo = Path(top.stdout.decode().strip()).resolve()
    if _git(repo, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}").returncode != 0:
        raise RuleError(f"--base {ref}: not a commit in the git repository {repo}")
    relative = path.resolve().relative_to(repo).as_posix()
    shown = _git(repo, "show", f"{ref}:{relative}")
    if shown.returncode != 0:
        return None
    return shown.stdout.decode("utf-8", errors="replace")
