"""Training as a sequence of stages: data -> fitted and evaluated model -> plots.

A pure ML path with no MLflow: it may run in a child process (``worker.py``)
while the parent talks to the tracking store. Each stage yields a small,
picklable result; large outputs (model files, plots) are written to ``workdir``.
"""

from __future__ import annotations

import inspect
import time
from collections.abc import Generator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from declarative_ml import plots
from declarative_ml.config.validate import Plan
from declarative_ml.data.digest import frame_digest
from declarative_ml.data.load import load_dataset
from declarative_ml.data.split import Split, split_dataset
from declarative_ml.data.validate import check_target, load_schema, validate_schema
from declarative_ml.metrics import compute_metrics
from declarative_ml.models.build import build_estimator, build_pipeline
from declarative_ml.models.persist import SavedModel, save_pipeline
from declarative_ml.models.preprocess import build_preprocessor

EXAMPLE_ROWS = 5


@dataclass(frozen=True)
class PreparedData:
    """Validated data, split, with classes encoded for classification."""

    splits: dict[str, Split]  # y holds the original labels
    encoded: dict[str, Any]  # y as integers 0..k-1 (classification) or floats
    classes: list[Any] | None
    features: list[str]
    target: str
    digests: dict[str, str]
    source: str


@dataclass(frozen=True)
class Trained:
    """A fitted, evaluated model saved to disk."""

    metrics: dict[str, float]
    example: Any  # first raw training rows: the model's input example
    example_predictions: Any
    saved: SavedModel | None
    history: list[dict[str, float]] | None = None  # per epoch (torch): train_loss, val_*
    device: str | None = None  # where a torch model trained: cpu, or cuda (GPU name)


@dataclass(frozen=True)
class Plotted:
    """Plot files written under the artifacts folder."""

    files: list[str]


def _training_device(estimator: Any) -> str | None:
    device = getattr(estimator, "device_", None)
    if not isinstance(device, str):
        return None
    from declarative_ml.models.torch.device import device_label

    return device_label(device)


def dataset_source(dataset: Any) -> str:
    """Where a dataset's rows come from: its path, or the scikit-learn loader."""
    return str(dataset.path) if dataset.path else f"sklearn.datasets.load_{dataset.loader}"


def load_validated(dataset: Any, task: str) -> tuple[Any, str]:
    """Load a dataset and validate it (pandera, lazily; target fit for the task).

    Returns:
        The frame and the target column's name.
    """
    schema = load_schema(dataset.schema)  # before reading data: a bad schema is a config error
    frame = load_dataset(dataset)
    source = dataset_source(dataset)
    frame = validate_schema(
        frame, schema, where=source, log_values=bool(dataset.get("log_failure_values", False))
    )
    target = dataset.target or "target"
    check_target(frame, target, task, where=source)
    return frame, target


def prepare_data(dataset: Any, task: str) -> PreparedData:
    """Load, validate (pandera, lazily), check the target, split and encode labels."""
    frame, target = load_validated(dataset, task)
    source = dataset_source(dataset)
    features = (
        list(dataset.features) if dataset.features else [c for c in frame.columns if c != target]
    )
    X, y = frame[features], frame[target]
    classification = task != "regression"
    splits = split_dataset(X, y, dataset.split, stratify=classification and dataset.split.stratify)
    classes = sorted(y.unique().tolist()) if classification else None
    encoded = {}
    for name, split in splits.items():
        if classes is not None:
            encoded[name] = split.y.map({c: i for i, c in enumerate(classes)}).to_numpy()
        else:
            encoded[name] = split.y.to_numpy(dtype=float)
    digests = {"all": frame_digest(frame[[*features, target]])}
    digests.update({name: frame_digest(s.X.assign(**{target: s.y})) for name, s in splits.items()})
    return PreparedData(splits, encoded, classes, features, target, digests, str(source))


def latency_ms(pipeline: Any, X: Any, rows: int) -> float:
    """Milliseconds for one ``predict`` on ``rows`` rows (sampled with replacement), best of 3."""
    batch = X.sample(n=rows, replace=True, random_state=0)
    best = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        pipeline.predict(batch)
        best = min(best, time.perf_counter() - start)
    return best * 1000


def evaluate(
    pipeline: Any, data: PreparedData, metrics: tuple[str, ...], classification: bool
) -> tuple[dict[str, float], dict[str, tuple[Any, Any]]]:
    """``{split}_{metric}`` for every split, and the predictions behind them."""
    values: dict[str, float] = {}
    predictions = {}
    for name, split in data.splits.items():
        pred = pipeline.predict(split.X)
        proba = pipeline.predict_proba(split.X) if classification else None
        predictions[name] = (pred, proba)
        scores = compute_metrics(metrics, data.encoded[name], pred, proba)
        values.update({f"{name}_{m}": v for m, v in scores.items()})
    return values, predictions


def tracks_epochs(estimator: Any) -> bool:
    """Whether ``fit`` takes ``eval_set`` and ``eval_metrics`` (our torch estimators)."""
    fit = getattr(estimator, "fit", None)
    if fit is None:
        return False
    parameters = inspect.signature(fit).parameters
    return "eval_set" in parameters and "eval_metrics" in parameters


def fit_pipeline(
    preprocessor: Any | None, estimator: Any, data: PreparedData, metrics: tuple[str, ...]
) -> tuple[Any, list[dict[str, float]] | None, int | None]:
    """Fit preprocessing and estimator; returns the fitted Pipeline, its per-epoch history
    and the index of the epoch the model holds (both None for an estimator without epochs).

    An estimator that tracks epochs is scored on the val split after every epoch: the
    preprocessor is fitted on train first and transforms val for it.
    """
    pipeline = build_pipeline(preprocessor, estimator)
    X, y = data.splits["train"].X, data.encoded["train"]
    if not tracks_epochs(estimator):
        pipeline.fit(X, y)
        return pipeline, None, None
    X_train = preprocessor.fit_transform(X, y) if preprocessor is not None else X
    eval_set: tuple[Any, Any] | None = None
    eval_metrics: tuple[str, ...] = ()
    if "val" in data.splits:
        X_val = data.splits["val"].X
        X_val = preprocessor.transform(X_val) if preprocessor is not None else X_val
        eval_set, eval_metrics = (X_val, data.encoded["val"]), metrics
    estimator.fit(X_train, y, eval_set=eval_set, eval_metrics=eval_metrics)
    # The pipeline's steps are the objects just fitted.
    return pipeline, list(estimator.history_), getattr(estimator, "best_epoch_", None)


def training_stages(cfg: Any, plan: Plan, workdir: Path) -> Generator[Any, None, None]:
    """Yield :class:`PreparedData`, then :class:`Trained`, then :class:`Plotted`.

    Args:
        cfg: the composed, validated config.
        plan: what :func:`validate_config` decided.
        workdir: where model files go (``model/``) and plots (``artifacts/plots/``).
    """
    estimator = build_estimator(cfg.model, plan.task)  # bad params fail before data is read
    data = prepare_data(cfg.dataset, plan.task)
    yield data

    preprocessor = build_preprocessor(cfg.dataset.preprocess, data.splits["train"].X)
    start = time.perf_counter()
    pipeline, history, best_epoch = fit_pipeline(preprocessor, estimator, data, plan.metrics)
    metrics = {"training_duration_s": time.perf_counter() - start}
    classification = plan.task != "regression"
    scores, predictions = evaluate(pipeline, data, plan.metrics, classification)
    metrics.update(scores)
    if history:
        # The kept epoch's losses; the run's value of each curve is the logged model's.
        for name, value in history[-1 if best_epoch is None else best_epoch].items():
            metrics.setdefault(name, value)
    metrics["predict_latency_ms"] = (
        latency_ms(pipeline, data.splits["test"].X, cfg.run.latency_rows)
        * 1000
        / cfg.run.latency_rows
    )
    if plan.new_data is not None:
        from declarative_ml.scoring import score_pipeline

        frame, target = load_validated(plan.new_data, plan.task)
        scores = score_pipeline(
            pipeline,
            frame,
            target=target,
            features=data.features,
            classes=data.classes,
            metrics=plan.metrics,
        )
        metrics.update({f"new_data_{m}": v for m, v in scores.items()})
    saved = None
    if cfg.run.log_model:
        saved = save_pipeline(
            pipeline,
            family=plan.family,
            estimator_class=plan.estimator,
            features=data.features,
            classes=data.classes,
            optional=[c for c in data.features if data.splits["train"].X[c].isna().any()],
            directory=workdir / "model",
        )
        metrics["model_size_mb"] = saved.size_mb
    example = data.splits["train"].X.head(EXAMPLE_ROWS)
    yield Trained(
        metrics,
        example,
        pipeline.predict(example)
        if data.classes is None
        else [data.classes[int(i)] for i in pipeline.predict(example)],
        saved,
        history,
        _training_device(pipeline.named_steps["estimator"]),
    )

    files: list[str] = []
    if cfg.run.log_plots:
        files = plots.write_plots(
            workdir / "artifacts" / "plots",
            pipeline,
            data,
            predictions["test"],
            history=history,
            best_epoch=best_epoch,
        )
    yield Plotted(files)
