"""The secrets one process masks, and masking: :class:`SecretBook` and the process's
:data:`BOOK`.

A value is masked by provenance: in records (params, tags, config files) the keys that
hold a secret are masked where they sit; in free text (log lines, messages) a remembered
value is masked where it stands as a value (after ``=``, or quoted), and anywhere once it
is :data:`MIN_TEXT_SECRET` characters or longer, so that a short value never garbles a
sentence that happens to contain it.

The book has one owner: :data:`BOOK`, the process's. It is filled only through
:func:`remember_config` (by the Hydra callback before Hydra writes its files, and by
``runner.train`` for a run), read by everything that writes (the console, the log record
factory, the tracking session), and reset between tests (``tests/conftest.py``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from omegaconf import DictConfig, OmegaConf

from declarative_ml.secrets.detect import (
    MASK,
    KeyPath,
    env_references,
    looks_secret,
    redact_uri,
    secret_origins,
    secret_values,
)

# Shorter secret values are masked where they sit (a key, an override's value, a quoted
# value), not searched for in free text, where masking every "no" would garble messages.
MIN_TEXT_SECRET = 6
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


@dataclass
class SecretBook:
    """Secret values, and the config keys (paths) holding them, to mask."""

    values: set[str] = field(default_factory=set)
    paths: set[KeyPath] = field(default_factory=set)

    def remember(self, values: Iterable[str], paths: Iterable[KeyPath] = ()) -> None:
        """Mask these values (and the keys holding them) from now on."""
        self.values.update(v for v in values if v)
        self.paths.update(paths)

    def remember_config(self, cfg: Any, overrides: Iterable[str] = ()) -> None:
        """Remember a config's secrets and its overrides' (see ``secret_values``), and the
        keys that hold them, before anything resolves the config in place."""
        raw = (
            OmegaConf.to_container(cfg, resolve=False, enum_to_str=True)
            if isinstance(cfg, DictConfig)
            else cfg
        )
        self.remember(secret_values(cfg, overrides), secret_origins(raw))

    def clear(self) -> None:
        """Forget everything (a new process's book; tests)."""
        self.values.clear()
        self.paths.clear()

    def mask_text(self, text: str, values: Iterable[str] | None = None) -> str:
        """``text`` with URI passwords, values of secret-looking keys and secret values
        masked: a value wherever it stands as a value (``key=VALUE``, ``'VALUE'``), and
        anywhere once it is :data:`MIN_TEXT_SECRET` characters or longer.

        Args:
            text: any text: a log line, an override, a YAML file, an error message.
            values: the secret values; by default this book's.
        """
        text = redact_uri(text)
        text = _KEY_VALUE.sub(_mask_pair, text)
        known = self.values if values is None else set(values)
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

    def mask_overrides(self, overrides: Iterable[str]) -> list[str]:
        """Command-line overrides with each secret value masked."""
        return [self.mask_text(line) for line in overrides]

    def mask_tree(
        self,
        node: Any,
        *,
        raw: Any = None,
        secret: bool = False,
        paths: Iterable[KeyPath] | None = None,
        _path: KeyPath = (),
    ) -> Any:
        """A copy of a plain nested mapping/list with its secrets masked.

        Values under a secret-looking key, at a key holding a secret by provenance
        (``paths``, by default this book's) or equal to a remembered secret become
        ``***``; a value whose unresolved form (``raw``) reads ``${oc.env:...}`` is shown
        as that interpolation, so the record says where the value comes from and a rerun
        reads it again; other text is masked with :meth:`mask_text`.
        """
        held = self.paths if paths is None else paths
        if isinstance(node, Mapping):
            raws = raw if isinstance(raw, Mapping) else {}
            return {
                k: self.mask_tree(
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
                self.mask_tree(
                    v,
                    raw=items[i] if items else None,
                    secret=secret,
                    paths=held,
                    _path=(*_path, i),
                )
                for i, v in enumerate(node)
            ]
        if isinstance(raw, str) and env_references(raw):
            return self.mask_text(raw)
        if node is None or isinstance(node, bool):
            return node
        if isinstance(node, str) and env_references(node):
            return self.mask_text(node)
        if secret or _path in held or (isinstance(node, str) and node in self.values):
            return MASK
        return self.mask_text(node) if isinstance(node, str) else node

    def mask_config(self, cfg: DictConfig, *, raw: Any = None) -> dict[str, Any]:
        """The resolved config as a plain mapping, secrets masked (see :meth:`mask_tree`).

        Args:
            cfg: the config.
            raw: the same config as plain containers before it was resolved in place (so a
                value read with ``${oc.env:..}`` is shown as that); default: ``cfg`` as is.
        """
        resolved = OmegaConf.to_container(cfg, resolve=True, enum_to_str=True)
        if raw is None:
            raw = OmegaConf.to_container(cfg, resolve=False, enum_to_str=True)
        masked = self.mask_tree(resolved, raw=raw)
        assert isinstance(masked, dict)
        return masked


def _mask_pair(match: re.Match[str]) -> str:
    value = match["value"] if match["value"] is not None else match["cvalue"]
    sep = match["sep"] if match["sep"] is not None else match["csep"]
    if not looks_secret(match["key"]) or value.startswith("${"):
        return match[0]
    return f"{match['key']}{match['quote']}{sep}{MASK}"


BOOK = SecretBook()  # the process's: see the module's docstring


def remember_config(cfg: Any, overrides: Iterable[str] = ()) -> None:
    """Remember a config's secrets in the process's book (the one way to fill it)."""
    BOOK.remember_config(cfg, overrides)


def mask_text(text: str, values: Iterable[str] | None = None) -> str:
    """``BOOK.mask_text``."""
    return BOOK.mask_text(text, values)


def mask_overrides(overrides: Iterable[str]) -> list[str]:
    """``BOOK.mask_overrides``."""
    return BOOK.mask_overrides(overrides)


def mask_tree(node: Any, *, raw: Any = None) -> Any:
    """``BOOK.mask_tree``."""
    return BOOK.mask_tree(node, raw=raw)


def mask_config(cfg: DictConfig, *, raw: Any = None) -> dict[str, Any]:
    """``BOOK.mask_config``."""
    return BOOK.mask_config(cfg, raw=raw)
