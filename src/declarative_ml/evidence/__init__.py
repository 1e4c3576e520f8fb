"""Evidence for rules with ``confidence``: the candidate and the champion scored row by
row on the same rows neither trained on, resampled together, with a plot per rule.

Which rows: for a ``test_*`` metric, the shared test split when both runs were tested
on the same rows (equal ``dml.dataset.digest.test`` tags: the same data, the same
split), else ``promotion.new_data``; for a ``new_data_*`` metric, the new data. Both
models are loaded from the store (pyfunc, pickle refused), so a run, a sweep's best
trial, ``dml promote`` and ``dml rules plan`` decide the same way. The statistics are
``bootstrap.paired_bootstrap``; the decision is the rules' (``rules/noise.py``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from declarative_ml.evidence.figures import PLOTS, draw_plots, scores_for_plot
from declarative_ml.evidence.rows import Rows, Scorer, encoded, rows_for
from declarative_ml.evidence.setup import Gathered, NoiseSetup, Party
from declarative_ml.rules import Evidence, Resampled, Rule, confident_metrics

__all__ = ["PLOTS", "Gathered", "NoiseSetup", "Party", "Scorer", "gather", "log_plots"]


def gather(
    client: Any,
    gates: Mapping[str, Sequence[Rule]],
    *,
    candidate: Party,
    champion: Party | None,
    setup: NoiseSetup,
    plot_run: str | None = None,
    scorer: Scorer | None = None,
) -> Gathered:
    """Score both models on shared rows and resample them together, for every metric a
    confident rule compares; draw each such rule's plot when ``plot_run`` is given.

    Args:
        client: an MlflowClient (reads the runs' digest tags, loads the models).
        gates: the parsed rules.
        candidate: the model being decided.
        champion: the model at ``@production``, or None (nothing to gather).
        setup: rows and bootstrap settings.
        plot_run: the run the plots will be logged to (their ``runs:/`` URIs), or None.
        scorer: loaded models and predictions to reuse.

    Returns:
        The evidence (empty when no rule has ``confidence`` or there is no champion).

    Raises:
        RuleError: when no rows neither model trained on can be found.
        DataValidationError: when the candidate's test split cannot be rebuilt as it was.
    """
    metrics = confident_metrics(gates)
    if champion is None or not metrics:
        return Gathered()
    scorer = scorer or Scorer()
    by_rows: dict[str, list[str]] = {}
    rows: dict[str, Rows] = {}
    for metric in metrics:
        found = rows_for(client, metric, gates, candidate, champion, setup, rows)
        by_rows.setdefault(found.label, []).append(metric)
        rows[found.label] = found
    draws: dict[str, Resampled] = {}
    scored: dict[str, tuple[Any, dict[str, Any]]] = {}
    for label, names in by_rows.items():
        draws.update(_resample(names, rows[label], candidate, champion, setup, scorer))
        scored[label] = scores_for_plot(rows[label], candidate, champion, setup, scorer)
    gathered = Gathered(Evidence(draws))
    if plot_run is not None:
        gathered = draw_plots(gates, gathered, draws, scored, plot_run)
    return gathered


def log_plots(client: Any, run_id: str, gathered: Gathered) -> None:
    """Upload the plots to the run, under ``promotion/noise/`` (nothing without plots).

    Args:
        client: the MLflow client.
        run_id: the candidate's run (the one the plots' URIs name).
        gathered: what :func:`gather` returned.
    """
    import tempfile
    from pathlib import Path

    if not gathered.plots:
        return
    with tempfile.TemporaryDirectory(prefix="dml-noise-") as tmp:
        for name, data in gathered.plots.items():
            (Path(tmp) / name).write_bytes(data)
        client.log_artifacts(run_id, tmp, PLOTS)


def _resample(
    names: list[str],
    rows: Rows,
    candidate: Party,
    champion: Party,
    setup: NoiseSetup,
    scorer: Scorer,
) -> dict[str, Resampled]:
    from declarative_ml.bootstrap import paired_bootstrap

    y, ours, theirs = encoded(
        rows,
        scorer.predict(candidate.model_uri, rows, setup.task),
        scorer.predict(champion.model_uri, rows, setup.task),
        setup,
    )
    base = {name: name.removeprefix("new_data_").removeprefix("test_") for name in names}
    draws = paired_bootstrap(
        list(base.values()),
        y,
        ours,
        theirs,
        classification=setup.task != "regression",
        resamples=setup.resamples,
        seed=setup.seed,
        stratify=setup.stratify,
    )
    return {
        name: Resampled(
            name,
            draws[metric].candidate,
            draws[metric].champion,
            draws[metric].candidate_draws,
            draws[metric].champion_draws,
            draws[metric].rows,
            rows.label,
        )
        for name, metric in base.items()
    }
