"""Applying a promotion decision to the registry: register, stage, archive, audit."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from declarative_ml.errors import RegistryError
from declarative_ml.registry import audit
from declarative_ml.signals import stop_signals_held

STAGES = ("none", "staging", "production", "archived")
ALIASES = ("staging", "production")


@dataclass(frozen=True)
class Champion:
    """The version holding ``@production`` and its run's metrics."""

    version: str
    run_id: str
    metrics: dict[str, float]


@dataclass(frozen=True)
class Applied:
    """What applying a decision changed."""

    model_name: str
    version: str | None
    stage: str
    transitions: list[audit.Transition] = field(default_factory=list)


def _missing(exc: Exception) -> bool:
    return "RESOURCE_DOES_NOT_EXIST" in str(getattr(exc, "error_code", "")) or (
        "not found" in str(exc).lower() or "does not exist" in str(exc).lower()
    )


def alias_holder(client: Any, model_name: str, alias: str) -> Any | None:
    """The version holding ``alias``, or None (also when the model does not exist)."""
    from mlflow.exceptions import MlflowException

    try:
        return client.get_model_version_by_alias(model_name, alias)
    except MlflowException as exc:
        if _missing(exc):
            return None
        raise


def find_champion(client: Any, model_name: str) -> Champion | None:
    """The ``@production`` version and its metrics, read through the alias (no run scans)."""
    version = alias_holder(client, model_name, "production")
    if version is None:
        return None
    metrics = client.get_run(version.run_id).data.metrics if version.run_id else {}
    return Champion(str(version.version), version.run_id, dict(metrics))


def _ensure_model(client: Any, model_name: str) -> None:
    from mlflow.exceptions import MlflowException

    try:
        client.create_registered_model(
            model_name,
            description="Managed by declarative_ml promotion rules; each version's "
            "dml.audit.* tags hold its transitions (dml history NAME reads them all).",
        )
    except MlflowException as exc:
        if "RESOURCE_ALREADY_EXISTS" not in str(
            getattr(exc, "error_code", "")
        ) and "already exists" not in str(exc):
            raise


def already_at(version: Any, stage: str) -> bool:
    """Whether a ModelVersion is at ``stage``: its ``stage`` tag, and the stage's alias
    (and no other) for staging and production."""
    held = {a for a in getattr(version, "aliases", []) or [] if a in ALIASES}
    return version.tags.get("stage", "none") == stage and held == ({stage} & set(ALIASES))


def set_stage(
    client: Any, model_name: str, version: str, stage: str, *, why: str, rules: str | None = None
) -> list[audit.Transition]:
    """Move ``version`` to ``stage``, keeping aliases, ``stage`` tags and the trail consistent.

    Moving to staging or production takes that alias from its previous holder, which
    is tagged ``archived``. Archiving a version drops any alias it holds. A version
    already at ``stage`` (tag and aliases) is left alone: nothing is written.

    Returns:
        The transitions made, in order (none for a no-op).

    Raises:
        RegistryError: for an unknown stage or version.
    """
    from mlflow.exceptions import MlflowException

    if stage not in STAGES:
        raise RegistryError(f"stage {stage!r} is not one of {', '.join(STAGES)}")
    try:
        current = client.get_model_version(model_name, version)
    except MlflowException as exc:
        raise RegistryError(f"model '{model_name}' has no version {version}") from exc
    with stop_signals_held():  # Ctrl-C waits: alias, stage tags and trail change together
        return _move(client, model_name, version, stage, current, why=why, rules=rules)


def _move(
    client: Any, model_name: str, version: str, stage: str, current: Any, *, why: str, rules: Any
) -> list[audit.Transition]:
    before = current.tags.get("stage", "none")
    if already_at(current, stage):
        return []  # a no-op writes nothing, not even an audit entry
    made: list[audit.Transition] = []
    if stage in ALIASES:
        previous = alias_holder(client, model_name, stage)
        client.set_registered_model_alias(model_name, stage, str(version))
        if previous is not None and str(previous.version) != str(version):
            client.set_model_version_tag(model_name, previous.version, "stage", "archived")
            made.append(
                audit.transition(
                    previous.version,
                    stage,
                    "archived",
                    why=f"replaced at @{stage} by version {version}",
                    run_id=previous.run_id,
                )
            )
    for alias in getattr(current, "aliases", []) or []:
        if alias in ALIASES and alias != stage:
            client.delete_registered_model_alias(model_name, alias)
    client.set_model_version_tag(model_name, version, "stage", stage)
    made.append(
        audit.transition(version, before, stage, why=why, run_id=current.run_id, rules=rules)
    )
    if stage in ALIASES:  # alias writes are last-writer-wins: read back what the store holds
        holder = alias_holder(client, model_name, stage)
        if holder is None or str(holder.version) != str(version):
            raise RegistryError(
                f"model '{model_name}': @{stage} was changed by another writer while version "
                f"{version} was being moved there (it now points to "
                f"{holder.version if holder else 'nothing'}); promote through dml, which "
                f"serialises these changes"
            )
    for entry in made:
        audit.record(client, model_name, entry)
    return made


def apply_decision(
    client: Any,
    decision: Any,
    *,
    model_name: str,
    run_id: str,
    model_uri: str,
    model_id: str | None = None,
    model_exists: bool = False,
    tags: dict[str, str] | None = None,
) -> Applied:
    """Register and stage a candidate as ``decision`` says; the only writer for new versions.

    Args:
        client: an MlflowClient.
        decision: a :class:`declarative_ml.rules.Decision`.
        model_name: the registered model.
        run_id: the candidate's (finished) run.
        model_uri: the logged model's URI, the version's source.
        model_id: the logged model's id (MLflow 3).
        model_exists: the registered model is known to exist (it has a champion).
        tags: more tags for the new version (the model's verified digest).

    Returns:
        The :class:`Applied` changes (no version when the register gate failed).
    """
    if not decision.register:
        return Applied(model_name, None, "none")
    with stop_signals_held():  # a version is registered and staged whole, or not at all
        return _register(
            client, decision, model_name, run_id, model_uri, model_id, model_exists, tags
        )


def _register(
    client: Any,
    decision: Any,
    model_name: str,
    run_id: str,
    model_uri: str,
    model_id: str | None,
    model_exists: bool,
    tags: dict[str, str] | None,
) -> Applied:
    if not model_exists:
        _ensure_model(client, model_name)
    target = decision.target_stage
    description = decision.to_markdown(f"Promotion decision for run {run_id}")
    version = client.create_model_version(
        model_name,
        model_uri,
        run_id=run_id,
        model_id=model_id,
        tags={**(tags or {}), "stage": "none", "dml.decision": target},
        description=description,
    )
    made = [
        audit.transition(
            version.version,
            "-",
            "none",
            why="register gate held",
            run_id=run_id,
            rules=decision.summary(),
        )
    ]
    audit.record(client, model_name, made[0])
    if target != "none":
        made += set_stage(
            client,
            model_name,
            str(version.version),
            target,
            why=f"{target} gate held",
            rules=decision.summary(),
        )
    return Applied(model_name, str(version.version), target, made)
