"""Model references: ``NAME@ALIAS``, ``NAME/VERSION``, ``models:/NAME@ALIAS|/VERSION``, or
``models:/m-<id>``, the logged model every run prints (``model: models:/m-...``)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from declarative_ml.errors import RegistryError

_REF = re.compile(r"^(?:models:/)?(?P<name>[^@/]+?)(?:@(?P<alias>[\w-]+)|/(?P<version>\d+))?$")
# MLflow 3 logged model ids: "m-" and 32 hex digits (a registered model may not use models:/).
_LOGGED = re.compile(r"^models:/(?P<id>m-[0-9a-f]{32})$")


@dataclass(frozen=True)
class ModelRef:
    """A parsed reference; ``alias`` and ``version`` are exclusive, both None means latest.

    ``logged_model`` is set for ``models:/m-<id>``: a run's logged model, which may
    or may not have been registered (``name`` is then the id).
    """

    name: str
    alias: str | None = None
    version: str | None = None
    logged_model: str | None = None

    def __str__(self) -> str:
        if self.logged_model:
            return f"models:/{self.logged_model}"
        if self.alias:
            return f"{self.name}@{self.alias}"
        return f"{self.name}/{self.version}" if self.version else self.name


def parse_ref(text: str) -> ModelRef:
    """Parse a model reference.

    Raises:
        RegistryError: when ``text`` is not of a supported form.
    """
    logged = _LOGGED.match(text.strip())
    if logged:
        return ModelRef(logged["id"], logged_model=logged["id"])
    match = _REF.match(text.strip())
    if not match:
        raise RegistryError(
            f"model reference {text!r} is not NAME, NAME@ALIAS, NAME/VERSION or models:/..."
        )
    return ModelRef(match["name"], match["alias"], match["version"])


def logged_model_run(client: Any, model_id: str) -> str:
    """The run that logged ``model_id`` (a ``models:/m-<id>`` reference).

    Raises:
        RegistryError: when the store holds no logged model of that id.
    """
    from mlflow.exceptions import MlflowException

    try:
        run_id = client.get_logged_model(model_id).source_run_id
    except MlflowException:
        raise RegistryError(
            f"no logged model '{model_id}' in this tracking store (models:/{model_id} is "
            f"what a run prints as 'model:'; check the id and --tracking-uri)"
        ) from None
    if not run_id:
        raise RegistryError(f"logged model '{model_id}' was not logged by a run")
    return str(run_id)


def registered_from(client: Any, model_id: str, run_id: str) -> Any | None:
    """The latest model version registered from logged model ``model_id``, or None."""
    versions = [
        v
        for v in client.search_model_versions(f"run_id = '{run_id}'")
        # MLflow records models:/m-<id>, or the logged model's folder .../models/m-<id>/artifacts
        if getattr(v, "model_id", None) == model_id or model_id in str(v.source or "").split("/")
    ]
    if not versions:
        return None
    latest = max(versions, key=lambda v: int(v.version))
    return client.get_model_version(latest.name, latest.version)  # search results lack aliases


def run_of(client: Any, ref: ModelRef) -> str:
    """The run behind a reference: a logged model's own run, or a version's run."""
    if ref.logged_model:
        return logged_model_run(client, ref.logged_model)
    return str(resolve(client, ref).run_id)


def resolve(client: Any, ref: ModelRef) -> Any:
    """The ModelVersion a reference points to (latest version when neither alias nor version;
    for a logged model, the latest version registered from it).

    Raises:
        RegistryError: naming what is missing and what exists.
    """
    from mlflow.exceptions import MlflowException

    if ref.logged_model:
        version = registered_from(
            client, ref.logged_model, logged_model_run(client, ref.logged_model)
        )
        if version is None:
            raise RegistryError(
                f"logged model '{ref.logged_model}' has no registered version (its promotion "
                f"rules did not register it); dml metrics, lineage and evaluate take it as it is"
            )
        return version
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
