"""Bounds on the YAML we read: a file from a pull request must not exhaust memory or time.

YAML anchors and aliases let a file of a few hundred bytes describe billions of nodes
(nine lists of nine references to the list before, nine levels deep): PyYAML builds
such a file cheaply, as shared references, but OmegaConf (and so Hydra) copies every
node, and ``dml rules check`` walked it for minutes. A file's node graph is composed
first (aliases stay references, so this is linear in the file's size), and its size
*as expanded* is counted with each shared node counted once per reference, by
memoisation, before anything expands it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from declarative_ml.errors import ConfigError

MAX_NODES = 100_000  # far beyond any config or rule file; a bomb counts in the billions
MAX_DEPTH = 64


def expanded_size(node: Any) -> tuple[int, int]:
    """``(nodes, depth)`` of a composed YAML node graph once its aliases are expanded.

    Shared nodes are counted once per reference, in time linear in the graph's size.
    """
    import yaml

    sizes: dict[int, tuple[int, int]] = {}

    def visit(current: Any, level: int) -> tuple[int, int]:
        if level > MAX_DEPTH:
            return 1, level
        known = sizes.get(id(current))
        if known is not None:
            return known
        count, depth = 1, 1
        if isinstance(current, yaml.SequenceNode):
            children = list(current.value)
        elif isinstance(current, yaml.MappingNode):
            children = [item for pair in current.value for item in pair]
        else:
            children = []
        for child in children:
            child_count, child_depth = visit(child, level + 1)
            count = min(count + child_count, 10 * MAX_NODES)  # enough to know it is too big
            depth = max(depth, child_depth + 1)
        sizes[id(current)] = (count, depth)
        return count, depth

    return visit(node, 1) if node is not None else (0, 0)


def yaml_problem(text: str) -> str | None:
    """Why YAML ``text`` is too big or too deep to read, or None when it is within bounds.

    Syntax errors are left to the loader that reads the text for real.
    """
    import yaml

    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError:
        return None  # reported, with its line, by whoever loads it
    except RecursionError:
        return "YAML nested too deeply to read"
    nodes, depth = expanded_size(node)
    if nodes > MAX_NODES:
        return (
            f"YAML expands to more than {MAX_NODES:,} values (anchors and aliases repeated "
            f"inside each other); not read"
        )
    if depth > MAX_DEPTH:
        return f"YAML nested more than {MAX_DEPTH} levels deep; not read"
    return None


def check_yaml(text: str, *, where: str) -> None:
    """Refuse YAML whose expanded size or nesting is beyond any config's.

    Raises:
        ConfigError: naming ``where``, the size found and the bound.
    """
    problem = yaml_problem(text)
    if problem is not None:
        raise ConfigError(f"{where}: {problem}")


_checked: dict[Path, tuple[float, int]] = {}


_MAX_LEVELS = 4  # a config folder's groups nest a few levels (hydra/launcher/x.yaml)


def _yaml_files(folder: Path, level: int = 0) -> list[Path]:
    """The ``*.yaml`` files Hydra could read from a config folder (hidden folders skipped)."""
    try:
        entries = sorted(folder.iterdir())
    except OSError:
        return []
    found = [p for p in entries if p.suffix == ".yaml" and p.is_file()]
    if level < _MAX_LEVELS:
        for sub in entries:
            if sub.is_dir() and not sub.name.startswith((".", "__")):
                found += _yaml_files(sub, level + 1)
    return found


def check_yaml_files(folder: Path) -> None:
    """:func:`check_yaml` on the YAML files of a config folder (each file once per change).

    Raises:
        ConfigError: for the first file out of bounds.
    """
    for path in _yaml_files(folder) if folder.is_dir() else []:
        try:
            stat = path.stat()
        except OSError:
            continue
        stamp = (stat.st_mtime, stat.st_size)
        if _checked.get(path) == stamp:
            continue
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            continue  # reported by whoever reads it
        check_yaml(text, where=str(path))
        _checked[path] = stamp
