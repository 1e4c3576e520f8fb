"""Model references: ``NAME@ALIAS``, ``NAME/VERSION`` or ``models:/NAME@ALIAS|/VERSION``."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from declarative_ml.errors import RegistryError

_REF = re.compile(r"^(?:models:/)?(?P<name>[^@/]+?)(?:@(?P<alias>[\w-]+)|/(?P<version>\d+))?$")


@dataclass(frozen=True)
class ModelRef:
    """A parsed reference; ``alias`` and ``version`` are exclusive, both None means latest."""

    name: str
    alias: str | None = None
    version: str | None = None

    def __str__(self) -> str:
        if self.alias:
            return f"{self.name}@{self.alias}"
        return f"{self.name}/{self.version}" if self.version else self.name


def parse_ref(text: str) -> ModelRef:
    """Parse a model reference.

    Raises:
        RegistryError: when ``text`` is not of a supported form.
    """
    match = _REF.match(text.strip())
    if not match:
        raise RegistryError(
            f"model reference {text!r} is not NAME, NAME@ALIAS, NAME/VERSION or models:/..."
        )
    return ModelRef(match["name"], match["alias"], match["version"])


def resolve(client: Any, ref: ModelRef) -> Any:
    """The ModelVersion a reference points to (latest version when neither alias nor version).

    Raises:
        RegistryError: naming what is missing and what exists.
    """
    from mlflow.exceptions import MlflowException

    model = get_model(client, ref.name)
    try:
        if ref.alias:
            return client.get_model_version_by_alias(ref.name, ref.alias)
        if ref.version:
            return client.get_model_version(ref.name, ref.version)
    except MlflowException:
        if ref.alias:
            known = ", ".join(f"@{a}" for a in sorted(model.aliases)) or "none"
            raise RegistryError(
                f"model '{ref.name}' has no alias @{ref.alias}; aliases: {known}"
            ) from None
        raise RegistryError(
            f"model '{ref.name}' has no version {ref.version}; "
            f"versions: {versions_text(client, ref.name)}"
        ) from None
    versions = client.search_model_versions(f"name = '{ref.name}'")
    if not versions:
        raise RegistryError(f"model '{ref.name}' has no versions")
    return max(versions, key=lambda v: int(v.version))


def get_model(client: Any, name: str) -> Any:
    """The registered model ``name``.

    Raises:
        RegistryError: listing the registered models when ``name`` is unknown.
    """
    from mlflow.exceptions import MlflowException

    from declarative_ml.registry.lock import is_lock_model

    try:
        return client.get_registered_model(name)
    except MlflowException:
        names = sorted(
            m.name for m in client.search_registered_models() if not is_lock_model(m.name)
        )
        raise RegistryError(
            f"no registered model '{name}'; registered: {', '.join(names) or 'none'}"
        ) from None


def versions_text(client: Any, name: str) -> str:
    """``1, 2, 5`` (the versions of ``name``)."""
    versions = client.search_model_versions(f"name = '{name}'")
    return ", ".join(str(v) for v in sorted(int(v.version) for v in versions)) or "none"
