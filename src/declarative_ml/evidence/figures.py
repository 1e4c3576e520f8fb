"""A plot per rule with ``confidence``: the resampled difference with the margin and the
bound marked, beside both models on the same rows (``plots.noise_plot``)."""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from typing import Any

from declarative_ml.evidence.rows import Rows, Scorer, encoded
from declarative_ml.evidence.setup import Gathered, NoiseSetup, Party
from declarative_ml.rules import Evidence, Resampled, Rule, check_noise
from declarative_ml.rules.contrast import contrast
from declarative_ml.rules.noise import compared_metric
from declarative_ml.rules.report import bound_label, noise_title

PLOTS = "promotion/noise"  # where a run's decision keeps its plots


def scores_for_plot(
    rows: Rows, candidate: Party, champion: Party, setup: NoiseSetup, scorer: Scorer
) -> tuple[Any, dict[str, Any]]:
    y, ours, theirs = encoded(
        rows,
        scorer.predict(candidate.model_uri, rows, setup.task),
        scorer.predict(champion.model_uri, rows, setup.task),
        setup,
    )
    pick = (lambda s: s.proba) if setup.task != "regression" else (lambda s: s.pred)
    return y, {
        f"candidate ({candidate.label})": pick(ours),
        f"champion ({champion.label})": pick(theirs),
    }


def draw_plots(
    gates: Mapping[str, Sequence[Rule]],
    gathered: Gathered,
    draws: Mapping[str, Resampled],
    scored: Mapping[str, tuple[Any, dict[str, Any]]],
    run_id: str,
) -> Gathered:
    """Draw each confident rule's plot; its URI goes into the evidence (and the report)."""
    from declarative_ml.plots import noise_plot

    plots: dict[str, bytes] = {}
    uris: dict[str, str] = {}
    for gate, rules in gates.items():
        for index, rule in enumerate(rules):
            metric = compared_metric(rule)
            if rule.confidence is None or metric is None or metric not in draws:
                continue
            evidence = draws[metric]
            tested = contrast(rule, evidence)
            check = check_noise(rule, evidence)
            y, models = scored[evidence.rows_from]
            buffer = io.BytesIO()
            noise_plot(
                tested.values,
                point=tested.difference,
                bound=check.bound,
                margin=tested.margin,
                quantity=tested.quantity,
                bound_label=bound_label(check),
                title=noise_title(rule.text, check),
                y=y,
                models=models,
                path=buffer,
            )
            name = f"{gate}_{index}.png"
            plots[name] = buffer.getvalue()
            uris[f"{gate}[{index}]"] = f"runs:/{run_id}/{PLOTS}/{name}"
    return Gathered(Evidence(gathered.evidence.draws, uris), plots)
