"""The rows both models are scored on, and both models' predictions on them.

For a ``test_*`` metric, the shared test split when both runs were tested on the same
rows (equal ``dml.dataset.digest.test`` tags: the same data, the same split), else
``promotion.new_data``; for a ``new_data_*`` metric, the new data. A run's test split is
rebuilt from its config when not at hand, and checked against the digest it recorded.
Models are loaded from the store (pyfunc, pickle refused), each once.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from declarative_ml.errors import DataValidationError, RegistryError, RuleError
from declarative_ml.evidence.setup import NoiseSetup, Party
from declarative_ml.rules import Rule
from declarative_ml.rules.noise import compared_metric
from declarative_ml.rules.report import percent, rule_text

TEST_DIGEST = "dml.dataset.digest.test"


@dataclass(frozen=True)
class Rows:
    """Rows neither model trained on."""

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

    def predict(self, model_uri: str, rows: Rows, task: str) -> Any:
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


def rows_for(
    client: Any,
    metric: str,
    gates: Mapping[str, Sequence[Rule]],
    candidate: Party,
    champion: Party,
    setup: NoiseSetup,
    loaded: dict[str, Rows],
) -> Rows:
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


def _new_data(setup: NoiseSetup, loaded: dict[str, Rows]) -> Rows:
    from declarative_ml.data.prepare import load_validated

    assert setup.new_data is not None  # composition refuses new_data_* names without it
    label = f"new data '{setup.new_data.name}'"
    if label not in loaded:
        frame, target = load_validated(setup.new_data, setup.task)
        loaded[label] = Rows(frame, frame[target], label, f"new_data:{setup.new_data.name}")
    return loaded[label]


def _test_split(setup: NoiseSetup, digest: str, candidate: Party) -> Rows:
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
    return Rows(split.X, split.y, "the test split", f"test:{digest}")


def encoded(rows: Rows, candidate: Any, champion: Any, setup: NoiseSetup) -> tuple[Any, ...]:
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
