"""After a finished run: read the champion, decide with the rules, apply, record the decision."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from declarative_ml.registry.apply import Applied, Champion, apply_decision, find_champion
from declarative_ml.registry.client import RegistryClient
from declarative_ml.registry.lock import registry_lock
from declarative_ml.rules import Decision, evaluate_rules
from declarative_ml.tracking.verify import DIGEST_TAG, check_before_registering


@dataclass(frozen=True)
class Promotion:
    """The decision for a run and what it changed in the registry."""

    decision: Decision
    applied: Applied
    champion_version: str | None


def champion_on_new_data(
    champion: Champion, model_name: str, new_data: Any, *, metrics: tuple[str, ...], task: str
) -> dict[str, float]:
    """The champion's run metrics, with ``new_data_*`` re-scored on the candidate's new data."""
    from declarative_ml.scoring import score_logged_model

    scores, _ = score_logged_model(
        f"models:/{model_name}/{champion.version}", new_data, metrics=metrics, task=task
    )
    return {**champion.metrics, **{f"new_data_{m}": v for m, v in scores.items()}}


def promote_run(
    client: Any,
    *,
    gates: dict[str, list[Any]],
    model_name: str,
    run_id: str,
    metrics: dict[str, float],
    model_uri: str,
    new_data: Any | None = None,
    metric_names: tuple[str, ...] = (),
    task: str = "",
) -> Promotion:
    """Decide on a finished run's model and apply the decision.

    With ``new_data`` (a dataset config), the champion is re-scored on the same rows
    the candidate's ``new_data_*`` metrics came from. The decision is stored on the run
    as ``promotion/decision.json`` and, when a version is created, as that version's
    markdown description.
    """
    client = RegistryClient(client)
    model_id = model_uri.removeprefix("models:/")
    logged = client.get_logged_model(model_id)
    source = logged.artifact_location
    digest = check_before_registering(client, logged)  # complete and unchanged in the store
    # Decide and apply under one lock: the champion compared against is the one replaced.
    with registry_lock(client, model_name):
        champion = find_champion(client, model_name)
        champion_metrics = champion.metrics if champion else None
        if champion is not None and new_data is not None:
            champion_metrics = champion_on_new_data(
                champion, model_name, new_data, metrics=metric_names, task=task
            )
        decision = evaluate_rules(gates, metrics, champion_metrics)
        applied = apply_decision(
            client,
            decision,
            model_name=model_name,
            run_id=run_id,
            model_uri=source,
            model_id=model_id,
            model_exists=champion is not None,
            tags={DIGEST_TAG: digest},
        )
    record = {
        "model_name": model_name,
        "version": applied.version,
        "champion_version": champion.version if champion else None,
        **decision.to_dict(),
    }
    client.log_dict(run_id, record, "promotion/decision.json")
    client.set_tag(run_id, "dml.promotion", decision.target_stage)
    return Promotion(decision, applied, champion.version if champion else None)


def _fmt(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.4g}"


def describe(promotion: Promotion) -> list[str]:
    """Lines for the run summary."""
    applied = promotion.applied
    if applied.version is None:
        head = f"not registered: {promotion.decision.summary()}"
    else:
        head = (
            f"{applied.model_name} version {applied.version} -> {applied.stage} "
            f"(champion before: {promotion.champion_version or 'none'})"
        )
    lines = [head]
    for name, gate in promotion.decision.gates.items():
        failed = [o for o in gate.outcomes if not o.held]
        for outcome in failed:
            detail = outcome.reason or f"{_fmt(outcome.left)} vs {_fmt(outcome.right)}"
            lines.append(f"  {name} failed: {outcome.text} ({detail})")
    return lines
