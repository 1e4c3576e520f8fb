"""Which values of a config are secret, and why: pure functions, no state.

Secrets are: the password of a URI (``scheme://user:PASSWORD@host``), every value read
with ``${oc.env:NAME}``, and the value of a key that looks secret (``api_key``,
``db_password``, ``hf_token``; not ``num_tokens``), and every key that copies one of
those by interpolation (``${tracking.tags.api_key}``): secrets by provenance.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping
from typing import Any

from omegaconf import DictConfig, OmegaConf

MASK = "***"

# One word of a key (split at `.`, `_`, `-`, camelCase): `token` but not `tokens`/`tokenizer`.
_SECRET_NAME = re.compile(
    r"(?:^|_)(?:password|passwd|secrets?|token|credentials?|api_?key|private_?key)(?:_|$)"
)
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
_ENV_REF = re.compile(r"\$\{\s*oc\.env\s*:\s*([^,}\s]+)")
# `${a.b}`, `${.sibling}`, `${..uncle}`: a reference to another key (not a resolver call).
_NODE_REF = re.compile(r"\$\{\s*(\.*[A-Za-z_][\w\-]*(?:\.[\w\-]+|\[\d+\])*)\s*\}")
_PASSWORD = re.compile(r"(?<=://)([^:/@\s]+):([^@/\s]+)@")

KeyPath = tuple[str | int, ...]


def redact_uri(uri: str) -> str:
    """``uri`` (or any text holding URIs) with each password replaced by ``***``."""
    return _PASSWORD.sub(r"\1:***@", uri)


def uri_passwords(text: str) -> list[str]:
    """The passwords of the URIs in ``text``."""
    return [match.group(2) for match in _PASSWORD.finditer(text)]


def looks_secret(key: str) -> bool:
    """Whether a config key (any segment of a dotted key) names a secret.

    ``api_key``, ``db_password``, ``aws_secret_access_key``, ``hf_token``, ``apiKey``
    do; ``num_tokens``, ``tokenizer``, ``max_depth`` do not.
    """
    for segment in re.split(r"[.@/]", key.lstrip("+~")):
        name = _CAMEL.sub("_", segment).lower().replace("-", "_")
        if _SECRET_NAME.search(name):
            return True
    return False


def env_references(text: str) -> list[str]:
    """Names of the environment variables ``text`` reads with ``${oc.env:NAME}``."""
    return _ENV_REF.findall(text)


def _strings(node: Any) -> Iterable[str]:
    if isinstance(node, Mapping):
        for value in node.values():
            yield from _strings(value)
    elif isinstance(node, (list, tuple)):
        for value in node:
            yield from _strings(value)
    elif isinstance(node, str):
        yield node


def dotted(path: KeyPath) -> str:
    """``("a", "b", 0)`` as ``a.b[0]``."""
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else part)
    return text


def _nodes(node: Any, path: KeyPath = ()) -> Iterable[tuple[KeyPath, Any]]:
    """Every node of a plain nested mapping/list with its path (containers included)."""
    yield path, node
    if isinstance(node, Mapping):
        for key, value in node.items():
            yield from _nodes(value, (*path, str(key)))
    elif isinstance(node, (list, tuple)):
        for index, value in enumerate(node):
            yield from _nodes(value, (*path, index))


def _reference_target(reference: str, at: KeyPath) -> KeyPath:
    """The path ``${reference}`` written at ``at`` points to (``.x`` is a sibling)."""
    body = reference.lstrip(".")
    dots = len(reference) - len(body)
    parts: list[str | int] = []
    for piece in re.findall(r"[^.\[\]]+|\[\d+\]", body):
        parts.append(int(piece[1:-1]) if piece.startswith("[") else piece)
    if dots == 0:
        return tuple(parts)
    base = at[:-1]
    return (*base[: max(0, len(base) - (dots - 1))], *parts)


def secret_origins(raw: Any) -> dict[KeyPath, str]:
    """Which values of a config are secret, and why: its leaves by provenance.

    A leaf is secret when a key on its path looks secret (``api_key``), when its text
    reads ``${oc.env:..}``, or when it interpolates a secret leaf (``${tracking.tags.api_key}``,
    ``${.token}``), or a mapping or list holding one (the copy holds it too).

    Args:
        raw: the config as plain containers, interpolations unresolved.

    Returns:
        Leaf path -> where its secret comes from (``${oc.env:NAME}`` or a secret key).
    """
    nodes = dict(_nodes(raw))
    origins: dict[KeyPath, str] = {}
    for path, value in nodes.items():
        if isinstance(value, (Mapping, list, tuple)):
            continue
        names = [str(k) for k in path if isinstance(k, str)]
        for depth, name in enumerate(names):
            if looks_secret(name):
                origins[path] = dotted(path[: depth + 1])
                break
        else:
            if isinstance(value, str) and env_references(value):
                origins[path] = f"${{oc.env:{env_references(value)[0]}}}"
    for _ in range(len(nodes)):  # each round follows interpolations one step further
        found = False
        for path, value in nodes.items():
            if not isinstance(value, str) or path in origins:
                continue
            for reference in _NODE_REF.findall(value):
                target = _reference_target(reference, path)
                if target in origins:
                    origins[path], found = origins[target], True
                    break
                if value.strip() == f"${{{reference}}}":  # a whole mapping or list copied
                    inside = {p: o for p, o in origins.items() if p[: len(target)] == target}
                    for inner, origin in inside.items():
                        copy = (*path, *inner[len(target) :])
                        if copy not in origins:
                            origins[copy], found = origin, True
        if not found:
            break
    return origins


def _at(node: Any, path: KeyPath) -> Any:
    for part in path:
        if isinstance(node, Mapping) and str(part) in node:
            node = node[str(part)]
        elif isinstance(node, (list, tuple)) and isinstance(part, int) and part < len(node):
            node = node[part]
        else:
            return None
    return node


def _override_value(line: str) -> tuple[str, str] | None:
    key, sep, value = line.partition("=")
    if not sep:
        return None
    return key.lstrip("+~"), value.strip().strip("'\"")


def secret_values(cfg: Any, overrides: Iterable[str] = ()) -> set[str]:
    """Every secret value in a config and its command-line overrides.

    Args:
        cfg: a composed config (its interpolations are read unresolved for their
            provenance and resolved, where they resolve, for the values) or a plain mapping.
        overrides: ``key=value`` lines as given on the command line.

    Returns:
        The values as text.
    """
    raw = _container(cfg, resolve=False)
    try:
        resolved = _container(cfg, resolve=True)
    except Exception:  # an unset variable or Hydra-only resolver: the raw text still tells
        resolved = raw
    values = set()
    for path in secret_origins(raw):
        value = _at(resolved, path)
        if value is not None and not isinstance(value, (bool, Mapping, list, tuple)):
            values.add(str(value))
    for text in [*_strings(raw), *overrides]:
        values.update(os.environ[name] for name in env_references(text) if name in os.environ)
        values.update(uri_passwords(text))
    for line in overrides:
        parsed = _override_value(line)
        if parsed is not None and looks_secret(parsed[0]):
            values.add(parsed[1])
    values.discard("")
    return {v for v in values if "${" not in v}


def _container(cfg: Any, *, resolve: bool) -> Any:
    if isinstance(cfg, DictConfig):
        return OmegaConf.to_container(cfg, resolve=resolve, enum_to_str=True)
    return cfg


def unresolved_strings(node: Any) -> list[str]:
    """A list node's items as typed, e.g. Hydra's ``overrides.task`` (iterating the node
    would resolve ``${oc.env:..}`` into them)."""
    items = OmegaConf.to_container(node, resolve=False) if OmegaConf.is_config(node) else node
    return [str(item) for item in items or []]
