"""Keeping secrets out of the record: which values are secret, and masking them.

Secrets are: the password of a URI (``scheme://user:PASSWORD@host``), every value read
with ``${oc.env:NAME}``, and the value of a key that looks secret (``api_key``,
``db_password``, ``hf_token``; not ``num_tokens``). What is written to MLflow, to
Hydra's output folders and to the terminal or logs passes through :func:`mask_text`,
:func:`mask_config` or :func:`mask_tree` first.

Secrets are masked by provenance: a value is secret because of where it came from (an
environment variable, a secret-looking key, a URI's password slot), and so is every key
that copies it by interpolation (``${tracking.tags.api_key}``), whatever its length. In
records (params, tags, config files) the secret keys are masked where they sit; in free
text (log lines, messages) a remembered value is masked where it stands as a value (after
``=``, or quoted), and anywhere once it is :data:`MIN_TEXT_SECRET` characters or longer,
so that a short value never garbles a sentence that happens to contain it.

Values and keys are remembered per process (:func:`remember`), because the places that
write (Hydra's launcher log, an error tag, a trial record) do not all see the config.
Pure apart from that registry: no MLflow, no Hydra.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Iterable, Mapping
from typing import Any

import yaml
from omegaconf import DictConfig, OmegaConf

from declarative_ml.tracking.store import redact_uri, uri_passwords

MASK = "***"
# Shorter secret values are masked where they sit (a key, an override's value, a quoted
# value), not searched for in free text, where masking every "no" would garble messages.
MIN_TEXT_SECRET = 6

# One word of a key (split at `.`, `_`, `-`, camelCase): `token` but not `tokens`/`tokenizer`.
_SECRET_NAME = re.compile(
    r"(?:^|_)(?:password|passwd|secrets?|token|credentials?|api_?key|private_?key)(?:_|$)"
)
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
_ENV_REF = re.compile(r"\$\{\s*oc\.env\s*:\s*([^,}\s]+)")
# `key=value` (overrides, folder names) or `key: value` (YAML, messages) in free text.
# `key: value` only where a value ends there (a YAML line, a flow mapping's item) or is
# quoted: in a sentence ("api_key: no such key yet") the words after a colon are prose.
_KEY_VALUE = re.compile(
    r"(?P<key>[\w.\-/@]+)(?P<quote>['\"]?)"
    r"(?:(?P<sep>[ \t]*=[ \t]*)(?P<value>'[^']*'|\"[^\"]*\"|[^\s,'\"\])}]+)"
    r"|(?P<csep>[ \t]*:[ \t]*)"
    r"(?P<cvalue>'[^']*'|\"[^\"]*\"|[^\s,'\"\])}]+(?=[ \t]*(?:$|[,}\]\n]))))",
    re.MULTILINE,
)

# `${a.b}`, `${.sibling}`, `${..uncle}`: a reference to another key (not a resolver call).
_NODE_REF = re.compile(r"\$\{\s*(\.*[A-Za-z_][\w\-]*(?:\.[\w\-]+|\[\d+\])*)\s*\}")

_remembered: set[str] = set()
_remembered_paths: set[tuple[str | int, ...]] = set()


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


KeyPath = tuple[str | int, ...]


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


def remember(values: Iterable[str], paths: Iterable[KeyPath] = ()) -> None:
    """Add secret values (and the config keys holding them) this process masks from now
    on, wherever it writes."""
    _remembered.update(v for v in values if v)
    _remembered_paths.update(paths)


def remember_config(cfg: Any, overrides: Iterable[str] = ()) -> None:
    """Remember the secrets of a config and its overrides (see :func:`secret_values`), and
    the keys that hold them, before anything resolves the config in place."""
    remember(secret_values(cfg, overrides), secret_origins(_container(cfg, resolve=False)))


def forget_all() -> None:
    """Forget every remembered value and key (for tests)."""
    _remembered.clear()
    _remembered_paths.clear()


def mask_text(text: str, values: Iterable[str] | None = None) -> str:
    """``text`` with URI passwords, values of secret-looking keys and secret values masked.

    A secret value is masked wherever it stands as a value (``key=VALUE``, ``'VALUE'``),
    and anywhere once it is :data:`MIN_TEXT_SECRET` characters or longer.

    Args:
        text: any text: a log line, an override, a YAML file, an error message.
        values: the secret values; by default those remembered by this process.
    """
    text = redact_uri(text)
    text = _KEY_VALUE.sub(_mask_pair, text)
    known = _remembered if values is None else set(values)
    for value in sorted(known, key=len, reverse=True):
        if value not in text:
            continue
        if len(value) >= MIN_TEXT_SECRET:
            text = text.replace(value, MASK)
            continue
        escaped = re.escape(value)
        text = re.sub(rf"(?<==){escaped}(?=$|[\s,;)\]}}])", MASK, text)
        text = re.sub(rf"(['\"]){escaped}\1", rf"\g<1>{MASK}\g<1>", text)
    return text


def _mask_pair(match: re.Match[str]) -> str:
    value = match["value"] if match["value"] is not None else match["cvalue"]
    sep = match["sep"] if match["sep"] is not None else match["csep"]
    if not looks_secret(match["key"]) or value.startswith("${"):
        return match[0]
    return f"{match['key']}{match['quote']}{sep}{MASK}"


def mask_overrides(overrides: Iterable[str]) -> list[str]:
    """Command-line overrides with each secret value masked."""
    return [mask_text(line) for line in overrides]


def mask_tree(
    node: Any,
    *,
    raw: Any = None,
    secret: bool = False,
    paths: Iterable[KeyPath] | None = None,
    _path: KeyPath = (),
) -> Any:
    """A copy of a plain nested mapping/list with its secrets masked.

    Values under a secret-looking key, at a key holding a secret by provenance (``paths``,
    by default those this process remembered) or equal to a remembered secret become
    ``***``; a value whose unresolved form (``raw``) reads ``${oc.env:...}`` is shown as
    that interpolation, so the record says where the value comes from and a rerun reads
    it again; other text is masked with :func:`mask_text`.
    """
    held = _remembered_paths if paths is None else paths
    if isinstance(node, Mapping):
        raws = raw if isinstance(raw, Mapping) else {}
        return {
            k: mask_tree(
                v,
                raw=raws.get(k),
                secret=secret or looks_secret(str(k)),
                paths=held,
                _path=(*_path, str(k)),
            )
            for k, v in node.items()
        }
    if isinstance(node, (list, tuple)):
        items = list(raw) if isinstance(raw, (list, tuple)) and len(raw) == len(node) else []
        return [
            mask_tree(
                v, raw=items[i] if items else None, secret=secret, paths=held, _path=(*_path, i)
            )
            for i, v in enumerate(node)
        ]
    if isinstance(raw, str) and env_references(raw):
        return mask_text(raw)
    if node is None or isinstance(node, bool):
        return node
    if isinstance(node, str) and env_references(node):
        return mask_text(node)
    if secret or _path in held or (isinstance(node, str) and node in _remembered):
        return MASK
    return mask_text(node) if isinstance(node, str) else node


def mask_config(cfg: DictConfig, *, raw: Any = None) -> dict[str, Any]:
    """The resolved config as a plain mapping, secrets masked (see :func:`mask_tree`).

    Args:
        cfg: the config.
        raw: the same config as plain containers before it was resolved in place (so a
            value read with ``${oc.env:..}`` is shown as that); default: ``cfg`` as it is.

    Also remembers the config's secrets for everything else this process writes.
    """
    remember_config(cfg)
    resolved = OmegaConf.to_container(cfg, resolve=True, enum_to_str=True)
    if raw is None:
        raw = OmegaConf.to_container(cfg, resolve=False, enum_to_str=True)
    masked = mask_tree(resolved, raw=raw)
    assert isinstance(masked, dict)
    return masked


def dump_yaml(node: Any) -> str:
    """A plain (already masked) mapping or list as YAML that ``OmegaConf.load`` reads back.

    ``${oc.env:...}`` stays an interpolation there, so a rerun reads the variable again.
    """
    return yaml.safe_dump(node, default_flow_style=False, allow_unicode=True, sort_keys=False)


def install_log_masking() -> None:
    """Mask every log record this process creates from now on (idempotent).

    Hydra's launchers log each job's overrides, and a library may log a URI; a
    record factory sees them all, whatever handlers logging is reconfigured with.
    """
    current = logging.getLogRecordFactory()
    if getattr(current, "dml_masking", False):
        return

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = current(*args, **kwargs)
        try:
            message = record.getMessage()
        except Exception:  # a malformed record is logging's to report
            return record
        masked = mask_text(message)
        if masked != message:
            record.msg, record.args = masked, None
        return record

    factory.dml_masking = True  # type: ignore[attr-defined]
    logging.setLogRecordFactory(factory)
