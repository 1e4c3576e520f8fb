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

import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from declarative_ml.errors import DataValidationError, RegistryError, RuleError
from declarative_ml.rules import Evidence, Resampled, Rule, check_noise, confident_metrics
from declarative_ml.rules.contrast import contrast
from declarative_ml.rules.noise import compared_metric
from declarative_ml.rules.report import bound_label, noise_title, percent, rule_text

TEST_DIGEST = "dml.dataset.digest.test"
PLOTS = "promotion/noise"  # where a run's decision keeps its plots


@dataclass(frozen=True)
class NoiseSetup:
    """What a candidate's confident rules are decided with.

    Attributes:
        task: ``binary``, ``multiclass`` or ``regression``.
        dataset: the candidate's dataset config (its test split is rebuilt from it).
        new_data: the ``promotion.new_data`` dataset config, or None.
        resamples: ``promotion.bootstrap.resamples``.
        seed: ``promotion.bootstrap.seed``.
        stratify: ``promotion.bootstrap.stratify``.
        test_split: the candidate's test split when at hand (after a run), else None.
    """

    task: str
    dataset: Any
    new_data: Any | None = None
    resamples: int = 2000
    seed: int = 0
    stratify: bool = True
    test_split: Any | None = None

    @classmethod
    def from_config(
        cls, cfg: Any, *, task: str, new_data: Any | None, test_split: Any | None = None
    ) -> NoiseSetup:
        """The setup of a run's config (``promotion.bootstrap`` defaults where a stored
        config predates it)."""
        settings = cfg.promotion.get("bootstrap") or {}
        return cls(
            task=task,
            dataset=cfg.dataset,
            new_data=new_data,
            resamples=int(settings.get("resamples", 2000)),
            seed=int(settings.get("seed", cfg.get("seed", 0))),
            stratify=bool(settings.get("stratify", True)),
            test_split=test_split,
        )


@dataclass(frozen=True)
class Party:
    """One of the two models: how reports name it, its run and its logged model."""

    label: str
    run_id: str
    model_uri: str


@dataclass
class Gathered:
    """Evidence for the rules, and each confident rule's plot (file name -> PNG)."""

    evidence: Evidence = field(default_factory=Evidence)
    plots: dict[str, bytes] = field(default_factory=dict)


@dataclass(frozen=True)
class _Rows:
    X: Any
    y: Any
    label: str  # as reports name them
    key: str  # the same key, the same rows


class Scorer:
    """Loads each logged model once and predicts each set of rows once (a plan decides
    many versions against one champion)."""

    def __init__(self) -> None:
        self._models: dict[str, Any] = {}
        self._predicted: dict[tuple[str, str], Any] = {}

    def predict(self, model_uri: str, rows: _Rows, task: str) -> Any:
        """The model's predictions on ``rows`` (``tracking.scoring.Predicted``)."""
        from declarative_ml.tracking.scoring import predict_rows

        key = (model_uri, rows.key)
        if key not in self._predicted:
            if model_uri not in self._models:
                self._models[model_uri] = _load(model_uri)
            self._predicted[key] = predict_rows(self._models[model_uri], rows.X, task=task)
        return self._predicted[key]


def _load(model_uri: str) -> Any:
    """A logged model, or a one-line error naming it (a confident rule needs its rows)."""
    from mlflow.exceptions import MlflowException

    from declarative_ml.tracking.scoring import load_logged_model

    try:
        return load_logged_model(model_uri)
    except (MlflowException, OSError, ValueError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise RegistryError(
            f"{model_uri} cannot be loaded to score it row by row, as a rule with confidence "
            f"needs: {first}"
        ) from None


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
    rows: dict[str, _Rows] = {}
    for metric in metrics:
        found = _rows_for(client, metric, gates, candidate, champion, setup, rows)
        by_rows.setdefault(found.label, []).append(metric)
        rows[found.label] = found
    draws: dict[str, Resampled] = {}
    scored: dict[str, tuple[Any, dict[str, Any]]] = {}
    for label, names in by_rows.items():
        draws.update(_resample(names, rows[label], candidate, champion, setup, scorer))
        scored[label] = _scores_for_plot(rows[label], candidate, champion, setup, scorer)
    gathered = Gathered(Evidence(draws))
    if plot_run is not None:
        gathered = _plots(gates, gathered, draws, scored, plot_run)
    return gathered


def log_plots(client: Any, run_id: str, gathered: Gathered) -> None:
    """Upload the plots to the run, under ``promotion/noise/``."""
    import tempfile
    from pathlib import Path

    if not gathered.plots:
        return
    with tempfile.TemporaryDirectory(prefix="dml-noise-") as tmp:
        for name, data in gathered.plots.items():
            (Path(tmp) / name).write_bytes(data)
        client.log_artifacts(run_id, tmp, PLOTS)


def _rows_for(
    client: Any,
    metric: str,
    gates: Mapping[str, Sequence[Rule]],
    candidate: Party,
    champion: Party,
    setup: NoiseSetup,
    loaded: dict[str, _Rows],
) -> _Rows:
    """The rows both models are scored on for ``metric`` (loaded once per source)."""
    if metric.startswith("new_data_"):
        return _new_data(setup, loaded)
    digests = [client.get_run(p.run_id).data.tags.get(TEST_DIGEST) for p in (candidate, champion)]
    if digests[0] is not None and digests[0] == digests[1]:
        label = "the test split"
        if label not in loaded:
            loaded[label] = _test_split(setup, digests[0], candidate)
        return loaded[label]
    if setup.new_data is not None:  # the test splits differ: the new rows neither trained on
        return _new_data(setup, loaded)
    uses = [rule_text(r.text) for rs in gates.values() for r in rs if compared_metric(r) == metric]
    raise RuleError(
        f"rule '{uses[0]}' has confidence {percent(next(_confidences(gates, metric)))}, so "
        f"{candidate.label} and champion {champion.label} must be scored on the same rows, "
        f"but they were tested on different rows ({TEST_DIGEST} {digests[0] or 'missing'} vs "
        f"{digests[1] or 'missing'}: other data or another split); set promotion.new_data "
        f"to a dataset neither model trained on, or train the candidate with the champion's "
        f"dataset and split"
    )


def _confidences(gates: Mapping[str, Sequence[Rule]], metric: str) -> Any:
    return (r.confidence for rs in gates.values() for r in rs if compared_metric(r) == metric)


def _new_data(setup: NoiseSetup, loaded: dict[str, _Rows]) -> _Rows:
    from declarative_ml.data.prepare import load_validated

    assert setup.new_data is not None  # composition refuses new_data_* names without it
    label = f"new data '{setup.new_data.name}'"
    if label not in loaded:
        frame, target = load_validated(setup.new_data, setup.task)
        loaded[label] = _Rows(frame, frame[target], label, f"new_data:{setup.new_data.name}")
    return loaded[label]


def _test_split(setup: NoiseSetup, digest: str, candidate: Party) -> _Rows:
    """The candidate's test split: at hand after a run, else rebuilt from its config and
    checked against the digest its run recorded."""
    from declarative_ml.data.digest import frame_digest
    from declarative_ml.data.prepare import prepare_data

    target = setup.dataset.target or "target"
    split = setup.test_split
    if split is None:
        split = prepare_data(setup.dataset, setup.task).splits["test"]
    now = frame_digest(split.X.assign(**{target: split.y}))
    if now != digest:
        raise DataValidationError(
            f"the test split of {candidate.label} (run {candidate.run_id}) cannot be rebuilt "
            f"as it was: dataset '{setup.dataset.name}' gives rows with digest {now}, the run "
            f"recorded {digest}; the data changed since the run"
        )
    return _Rows(split.X, split.y, "the test split", f"test:{digest}")


def _encoded(rows: _Rows, candidate: Any, champion: Any, setup: NoiseSetup) -> tuple[Any, ...]:
    """Targets and both models' scores as ``paired_bootstrap`` takes them."""
    from declarative_ml.bootstrap import RowScores
    from declarative_ml.evaluation import encode_labels

    if setup.task == "regression":
        y = rows.y.to_numpy(dtype=float)
        return y, RowScores(candidate.values), RowScores(champion.values)
    columns = list(candidate.proba.columns)
    if sorted(champion.proba.columns) != sorted(columns):
        raise DataValidationError(
            f"the candidate predicts classes {columns} but the champion "
            f"{list(champion.proba.columns)}: they cannot be compared row by row"
        )
    y = encode_labels(rows.y, columns)
    probas = [candidate.proba.to_numpy(), champion.proba[columns].to_numpy()]
    return y, *(RowScores(p.argmax(axis=1), p) for p in probas)


def _resample(
    names: list[str],
    rows: _Rows,
    candidate: Party,
    champion: Party,
    setup: NoiseSetup,
    scorer: Scorer,
) -> dict[str, Resampled]:
    from declarative_ml.bootstrap import paired_bootstrap

    y, ours, theirs = _encoded(
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


def _scores_for_plot(
    rows: _Rows, candidate: Party, champion: Party, setup: NoiseSetup, scorer: Scorer
) -> tuple[Any, dict[str, Any]]:
    y, ours, theirs = _encoded(
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


def _plots(
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
