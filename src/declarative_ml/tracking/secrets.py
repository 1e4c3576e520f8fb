"""Keeping secrets out of the record: which values are secret, and masking them.

Secrets are: the password of a URI (``scheme://user:PASSWORD@host``), every value read
with ``${oc.env:NAME}``, and the value of a key that looks secret (``api_key``,
``db_password``, ``hf_token``; not ``num_tokens``). What is written to MLflow, to
Hydra's output folders and to the terminal or logs passes through :func:`mask_text`,
:func:`mask_config` or :func:`mask_tree` first.

Values are remembered per process (:func:`remember`), because the places that write
(Hydra's launcher log, an error tag, a trial record) do not all see the config.
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
# Shorter secret values are masked where they sit under their key, but not searched
# for in free text, where masking every "abc" would garble the record.
MIN_TEXT_SECRET = 6

# One word of a key (split at `.`, `_`, `-`, camelCase): `token` but not `tokens`/`tokenizer`.
_SECRET_NAME = re.compile(
    r"(?:^|_)(?:password|passwd|secrets?|token|credentials?|api_?key|private_?key)(?:_|$)"
)
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
_ENV_REF = re.compile(r"\$\{\s*oc\.env\s*:\s*([^,}\s]+)")
# `key=value` (overrides, folder names) or `key: value` (YAML, messages) in free text.
_KEY_VALUE = re.compile(
    r"(?P<key>[\w.\-/@]+)(?P<quote>['\"]?)(?P<sep>[ \t]*[=:][ \t]*)"
    r"(?P<value>'[^']*'|\"[^\"]*\"|[^\s,'\"\])}]+)"
)

_remembered: set[str] = set()


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


def _secret_leaves(node: Any, secret: bool = False) -> Iterable[Any]:
    if isinstance(node, Mapping):
        for key, value in node.items():
            yield from _secret_leaves(value, secret or looks_secret(str(key)))
    elif isinstance(node, (list, tuple)):
        for value in node:
            yield from _secret_leaves(value, secret)
    elif secret and node is not None and not isinstance(node, bool):
        yield node


def _override_value(line: str) -> tuple[str, str] | None:
    key, sep, value = line.partition("=")
    if not sep:
        return None
    return key.lstrip("+~"), value.strip().strip("'\"")


def secret_values(cfg: Any, overrides: Iterable[str] = ()) -> set[str]:
    """Every secret value in a config and its command-line overrides.

    Args:
        cfg: a composed config (its interpolations are read unresolved for ``oc.env``
            and resolved, where they resolve, for values under secret keys) or a
            plain mapping.
        overrides: ``key=value`` lines as given on the command line.

    Returns:
        The values as text.
    """
    raw = _container(cfg, resolve=False)
    try:
        resolved = _container(cfg, resolve=True)
    except Exception:  # an unset variable or Hydra-only resolver: the raw text still tells
        resolved = raw
    values = {str(v) for v in _secret_leaves(resolved)}
    for text in [*_strings(raw), *overrides]:
        values.update(os.environ[name] for name in env_references(text) if name in os.environ)
        values.update(uri_passwords(text))
    for line in overrides:
        parsed = _override_value(line)
        if parsed is not None and looks_secret(parsed[0]):
            values.add(parsed[1])
    values.discard("")
    return values


def _container(cfg: Any, *, resolve: bool) -> Any:
    if isinstance(cfg, DictConfig):
        return OmegaConf.to_container(cfg, resolve=resolve, enum_to_str=True)
    return cfg


def unresolved_strings(node: Any) -> list[str]:
    """A list node's items as typed, e.g. Hydra's ``overrides.task`` (iterating the node
    would resolve ``${oc.env:..}`` into them)."""
    items = OmegaConf.to_container(node, resolve=False) if OmegaConf.is_config(node) else node
    return [str(item) for item in items or []]


def remember(values: Iterable[str]) -> None:
    """Add secret values this process masks from now on (wherever it writes)."""
    _remembered.update(v for v in values if v)


def remember_config(cfg: Any, overrides: Iterable[str] = ()) -> None:
    """Remember the secrets of a config and its overrides (see :func:`secret_values`)."""
    remember(secret_values(cfg, overrides))


def forget_all() -> None:
    """Forget every remembered value (for tests)."""
    _remembered.clear()


def mask_text(text: str, values: Iterable[str] | None = None) -> str:
    """``text`` with URI passwords, values of secret-looking keys and secret values masked.

    Args:
        text: any text: a log line, an override, a YAML file, an error message.
        values: the secret values; by default those remembered by this process.
    """
    text = redact_uri(text)
    text = _KEY_VALUE.sub(_mask_pair, text)
    known = _remembered if values is None else set(values)
    for value in sorted((v for v in known if len(v) >= MIN_TEXT_SECRET), key=len, reverse=True):
        text = text.replace(value, MASK)
    return text


def _mask_pair(match: re.Match[str]) -> str:
    if not looks_secret(match["key"]) or match["value"].startswith("${"):
        return match[0]
    return f"{match['key']}{match['quote']}{match['sep']}{MASK}"


def mask_overrides(overrides: Iterable[str]) -> list[str]:
    """Command-line overrides with each secret value masked."""
    return [mask_text(line) for line in overrides]


def mask_tree(node: Any, *, raw: Any = None, secret: bool = False) -> Any:
    """A copy of a plain nested mapping/list with its secrets masked.

    Values under a secret-looking key become ``***``; a value whose unresolved form
    (``raw``) reads ``${oc.env:...}`` is shown as that interpolation, so the record
    says where the value comes from and a rerun reads it again; text is masked with
    :func:`mask_text`.
    """
    if isinstance(node, Mapping):
        raws = raw if isinstance(raw, Mapping) else {}
        return {
            k: mask_tree(v, raw=raws.get(k), secret=secret or looks_secret(str(k)))
            for k, v in node.items()
        }
    if isinstance(node, (list, tuple)):
        items = list(raw) if isinstance(raw, (list, tuple)) and len(raw) == len(node) else []
        return [
            mask_tree(v, raw=items[i] if items else None, secret=secret) for i, v in enumerate(node)
        ]
    if isinstance(raw, str) and env_references(raw):
        return mask_text(raw)
    if secret and node is not None and not isinstance(node, bool):
        return node if isinstance(node, str) and env_references(node) else MASK
    return mask_text(node) if isinstance(node, str) else node


def mask_config(cfg: DictConfig) -> dict[str, Any]:
    """The resolved config as a plain mapping, secrets masked (see :func:`mask_tree`).

    Also remembers the config's secrets for everything else this process writes.
    """
    remember_config(cfg)
    resolved = OmegaConf.to_container(cfg, resolve=True, enum_to_str=True)
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
