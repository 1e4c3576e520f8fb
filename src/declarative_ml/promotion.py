"""After a finished run: read the champion, decide with the rules, apply, record the decision."""

from __future__ import annotations

from contextlib import suppress
from dataclasses import dataclass
from typing import Any

from declarative_ml.errors import DeclarativeMLError
from declarative_ml.evidence import Gathered, NoiseSetup, Party, gather, log_plots
from declarative_ml.registry.apply import Applied, Champion, apply_decision, find_champion
from declarative_ml.registry.client import RegistryClient
from declarative_ml.registry.lock import registry_lock
from declarative_ml.rules import Decision, evaluate_rules, report
from declarative_ml.signals import Terminated, stop_signals_held
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
    from declarative_ml.tracking.scoring import score_logged_model

    scores, _ = score_logged_model(
        f"models:/{model_name}/{champion.version}", new_data, metrics=metrics, task=task
    )
    return {**champion.metrics, **{f"new_data_{m}": v for m, v in scores.items()}}


INTERRUPTED = "interrupted before deciding: the registry is unchanged"
NOT_DECIDED = "not decided (the registry is unchanged): "


def gather_noise(
    client: Any,
    gates: dict[str, list[Any]],
    *,
    model_name: str,
    run_id: str,
    model_uri: str,
    champion: Champion | None,
    noise: NoiseSetup | None,
) -> Gathered:
    """The evidence for rules with ``confidence``: both models scored on the same rows,
    resampled together, a plot per rule drawn for the run.

    Args:
        client: the MLflow client.
        gates: the parsed rules.
        model_name: the registered model.
        run_id: the candidate's run (the plots' run).
        model_uri: the candidate's logged model.
        champion: the version at ``@production``, or None.
        noise: rows and bootstrap settings, or None.

    Returns:
        The evidence; empty without a champion or setup, or without confident rules.

    Raises:
        DeclarativeMLError: when there are no shared rows or a model cannot be scored;
            the run's ``dml.promotion`` tag then says the registry is unchanged.
    """
    if champion is None or noise is None:
        return Gathered()
    held = Party(
        f"version {champion.version}", champion.run_id, f"models:/{model_name}/{champion.version}"
    )
    ours = Party(f"run {run_id}", run_id, model_uri)
    try:
        return gather(client, gates, candidate=ours, champion=held, setup=noise, plot_run=run_id)
    except DeclarativeMLError as exc:
        with suppress(Exception):  # the store may be what is failing
            client.set_tag(run_id, "dml.promotion", (NOT_DECIDED + str(exc))[:5000])
        raise


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
    noise: NoiseSetup | None = None,
) -> Promotion:
    """Decide on a finished run's model and apply the decision.

    With ``new_data`` (a dataset config), the champion is re-scored on the same rows
    the candidate's ``new_data_*`` metrics came from, before the registry lock is taken
    (loading a model must not keep other promoters waiting); under the lock the champion
    is read again and re-scored only if another promotion replaced it meanwhile. Rules
    with ``confidence`` are decided on evidence gathered the same way (``noise``: both
    models scored on shared rows, resampled together, one plot per rule). Deciding,
    applying and recording (``promotion/decision.json`` and ``promotion/noise/`` on the
    run, the version's markdown description, tag ``dml.promotion``) are all or nothing:
    Ctrl-C or SIGTERM waits until they are done. Stopped earlier, the run's
    ``dml.promotion`` tag says the registry is unchanged.
    """
    client = RegistryClient(client)
    done = False
    try:
        model_id = model_uri.removeprefix("models:/")
        logged = client.get_logged_model(model_id)
        source = logged.artifact_location
        digest = check_before_registering(client, logged)  # complete and unchanged in the store
        champion = find_champion(client, model_name)

        def scored(holder: Champion | None) -> dict[str, float] | None:
            if holder is None or new_data is None:
                return holder.metrics if holder is not None else None
            return champion_on_new_data(
                holder, model_name, new_data, metrics=metric_names, task=task
            )

        def evidence(holder: Champion | None) -> Gathered:
            return gather_noise(
                client,
                gates,
                model_name=model_name,
                run_id=run_id,
                model_uri=model_uri,
                champion=holder,
                noise=noise,
            )

        champion_metrics, gathered = scored(champion), evidence(champion)
        # Decide and apply under one lock: the champion compared against is the one replaced.
        with registry_lock(client, model_name):
            current = find_champion(client, model_name)
            if _version(current) != _version(champion):  # replaced while we were scoring
                champion, champion_metrics = current, scored(current)
                gathered = evidence(current)
            with stop_signals_held():
                decision = evaluate_rules(gates, metrics, champion_metrics, gathered.evidence)
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
                    "champion_version": _version(champion),
                    **decision.to_dict(),
                }
                client.log_dict(run_id, record, "promotion/decision.json")
                log_plots(client, run_id, gathered)
                client.set_tag(run_id, "dml.promotion", decision.target_stage)
                done = True
    except (KeyboardInterrupt, Terminated):
        if not done:
            with suppress(Exception):  # the store may be what is failing
                client.set_tag(run_id, "dml.promotion", INTERRUPTED)
        raise
    return Promotion(decision, applied, _version(champion))


def promote_declared(
    client: Any,
    cfg: Any,
    plan: Any,
    *,
    run_id: str,
    metrics: dict[str, float],
    model_uri: str,
    test_split: Any | None = None,
) -> Promotion:
    """:func:`promote_run` for a run of ``cfg`` (as ``validate_config`` planned it): the one
    place a run's config and plan become a promotion (after a run, or a sweep's best).
    ``test_split`` is the run's test split when at hand (else rebuilt when needed)."""
    noise = NoiseSetup.from_config(
        cfg, task=plan.task, new_data=plan.new_data, test_split=test_split
    )
    return promote_run(
        client,
        gates=plan.gates,
        model_name=cfg.promotion.model_name,
        run_id=run_id,
        metrics=metrics,
        model_uri=model_uri,
        new_data=plan.new_data,
        metric_names=plan.metrics,
        task=plan.task,
        noise=noise,
    )


def _version(champion: Champion | None) -> str | None:
    return champion.version if champion is not None else None


def describe(promotion: Promotion) -> list[str]:
    """Lines for the run summary: what became of the version, then each rule that failed."""
    applied = promotion.applied
    if applied.version is None:
        head = f"not registered: {promotion.decision.summary()}"
    else:
        head = (
            f"{applied.model_name} version {applied.version} -> {applied.stage} "
            f"(champion before: {promotion.champion_version or 'none'})"
        )
    lines = [f"  {f.gate} failed: {f.rule} ({f.detail})" for f in report.failed(promotion.decision)]
    shown = [
        f"  {line}" for line in report.noise_lines(promotion.decision) if line.endswith(": shown")
    ]
    return [head, *lines, *shown]
