"""Evidence for rules with ``confidence`` when a registered version is decided again:
``dml promote`` and ``dml rules plan``.

The version's own run says which rows it was tested on (its stored config rebuilds its
test split, checked against the digest the run recorded); both models are scored from
the store as after a run (``evidence.gather``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from declarative_ml.evidence import NoiseSetup, Party, Scorer, gather
from declarative_ml.rules import Evidence, Rule, confident_metrics


def version_evidence(
    client: Any,
    gates: Mapping[str, Sequence[Rule]],
    *,
    model_name: str,
    version: Any,
    champion: Any | None,
    promotion: Any | None = None,
    scorer: Scorer | None = None,
) -> Evidence:
    """Score a version and the champion on shared rows and resample them together.

    Args:
        client: an MlflowClient.
        gates: the rules the version is decided with.
        model_name: the registered model.
        version: the MLflow ``ModelVersion`` being decided.
        champion: the ``Champion`` at ``@production`` (None: nothing to gather).
        promotion: the ``promotion`` config whose ``new_data`` and ``bootstrap`` apply
            (a plan's rules file); default: the version's own run's.
        scorer: loaded models and predictions to reuse across versions.

    Returns:
        The evidence (empty when no rule has ``confidence`` or there is no champion).

    Raises:
        RuleError: when no rows neither model trained on can be found.
        DataValidationError: when the version's test split cannot be rebuilt as it was.
    """
    if champion is None or not confident_metrics(gates):
        return Evidence()
    from omegaconf import OmegaConf

    from declarative_ml.cli.run_config import stored_config, stored_location
    from declarative_ml.config.compose import compose_dataset

    run_id = version.run_id
    cfg = stored_config(client, run_id)
    if promotion is not None:  # the plan's rules file: its rows and bootstrap settings
        for key in ("new_data", "bootstrap"):
            cfg.promotion[key] = promotion.get(key)
    task = str(cfg.dataset.task)
    new_data = None
    if cfg.promotion.get("new_data"):
        new_data = compose_dataset(
            str(cfg.promotion.new_data), location=stored_location(client, run_id)
        )
        OmegaConf.resolve(new_data)
    setup = NoiseSetup.from_config(cfg, task=task, new_data=new_data)
    ours = Party(f"version {version.version}", run_id, f"models:/{model_name}/{version.version}")
    theirs = Party(
        f"version {champion.version}", champion.run_id, f"models:/{model_name}/{champion.version}"
    )
    return gather(
        client, gates, candidate=ours, champion=theirs, setup=setup, scorer=scorer
    ).evidence
