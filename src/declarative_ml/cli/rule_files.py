"""Promotion rule files on disk, for ``dml rules check`` and ``dml rules plan``: locating a
rule file and its config root (the folder holding ``promotion/``: the package's ``conf/``
or a user's ``hydra.searchpath`` folder), the line of each rule in its YAML, and its text
at a git ref.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from declarative_ml.config.resolvers import CONF_DIR
from declarative_ml.errors import RuleError
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
