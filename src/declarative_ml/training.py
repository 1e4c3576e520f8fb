"""Training as a sequence of stages: data -> fitted and evaluated model -> plots.

A pure ML path with no MLflow: it may run in a child process (``worker.py``) while the
parent talks to the tracking store. Each stage yields a small, picklable result; large
outputs (model files, plots) are written to ``workdir``. The steps themselves live where
they belong: data preparation in ``data/prepare.py``, what differs per model family in
``models/backends/``, scoring in ``evaluation.py``, saving in ``models/persist.py``.
"""

from __future__ import annotations

import time
from collections.abc import Generator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from declarative_ml import plots
from declarative_ml.config.validate import Plan
from declarative_ml.data.prepare import PreparedData, load_validated, prepare_data
from declarative_ml.evaluation import evaluate, latency_ms, score_pipeline
from declarative_ml.models.backends import Backend, Fitted, backend_for
from declarative_ml.models.build import build_estimator, build_pipeline
from declarative_ml.models.persist import SavedModel, save_pipeline
from declarative_ml.models.preprocess import build_preprocessor

EXAMPLE_ROWS = 5


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


def training_stages(cfg: Any, plan: Plan, workdir: Path) -> Generator[Any, None, None]:
    """Yield :class:`PreparedData`, then :class:`Trained`, then :class:`Plotted`.

    Args:
        cfg: the composed, validated config.
        plan: what :func:`validate_config` decided.
        workdir: where model files go (``model/``) and plots (``artifacts/plots/``).
    """
    backend = backend_for(plan.family)
    estimator = build_estimator(cfg.model, plan.task)  # bad params fail before data is read
    data = prepare_data(cfg.dataset, plan.task)
    yield data

    fitted, metrics = _fit(backend, cfg, estimator, data, plan)
    scores, predictions = evaluate(fitted.pipeline, data, plan.metrics, plan.task != "regression")
    metrics.update(scores)
    if fitted.history:
        # The kept epoch's losses; the run's value of each curve is the logged model's.
        kept = fitted.history[-1 if fitted.best_epoch is None else fitted.best_epoch]
        for name, value in kept.items():
            metrics.setdefault(name, value)
    rows = cfg.run.latency_rows
    test_X = data.splits["test"].X
    metrics["predict_latency_ms"] = latency_ms(fitted.pipeline, test_X, rows) * 1000 / rows
    if plan.new_data is not None:
        metrics.update(_new_data_scores(fitted.pipeline, data, plan))
    saved = _save(cfg, fitted.pipeline, data, plan, workdir) if cfg.run.log_model else None
    if saved is not None:
        metrics["model_size_mb"] = saved.size_mb
    yield _trained(fitted, metrics, data, saved, backend)

    files: list[str] = []
    if cfg.run.log_plots:
        files = plots.write_plots(
            workdir / "artifacts" / "plots",
            fitted.pipeline,
            data,
            predictions["test"],
            history=fitted.history,
            best_epoch=fitted.best_epoch,
        )
    yield Plotted(files)


def _fit(
    backend: Backend, cfg: Any, estimator: Any, data: PreparedData, plan: Plan
) -> tuple[Fitted, dict[str, float]]:
    """Fit preprocessing and estimator on train (scoring val per epoch where there are
    epochs); the metrics start with how long that took."""
    preprocessor = build_preprocessor(cfg.dataset.preprocess, data.splits["train"].X)
    pipeline = build_pipeline(preprocessor, estimator)
    validation = (data.splits["val"].X, data.encoded["val"]) if "val" in data.splits else None
    start = time.perf_counter()
    fitted = backend.fit(
        pipeline,
        data.splits["train"].X,
        data.encoded["train"],
        validation=validation,
        metrics=plan.metrics,
    )
    return fitted, {"training_duration_s": time.perf_counter() - start}


def _new_data_scores(pipeline: Any, data: PreparedData, plan: Plan) -> dict[str, float]:
    """``new_data_{metric}``: the candidate on every row of ``promotion.new_data``."""
    frame, target = load_validated(plan.new_data, plan.task)
    scores = score_pipeline(
        pipeline,
        frame,
        target=target,
        features=data.features,
        classes=data.classes,
        metrics=plan.metrics,
    )
    return {f"new_data_{m}": v for m, v in scores.items()}


def _save(cfg: Any, pipeline: Any, data: PreparedData, plan: Plan, workdir: Path) -> SavedModel:
    return save_pipeline(
        pipeline,
        family=plan.family,
        estimator_class=plan.estimator,
        features=data.features,
        classes=data.classes,
        optional=[c for c in data.features if data.splits["train"].X[c].isna().any()],
        directory=workdir / "model",
    )


def _trained(
    fitted: Fitted,
    metrics: dict[str, float],
    data: PreparedData,
    saved: SavedModel | None,
    backend: Backend,
) -> Trained:
    example = data.splits["train"].X.head(EXAMPLE_ROWS)
    predicted = fitted.pipeline.predict(example)
    if data.classes is not None:
        predicted = [data.classes[int(i)] for i in predicted]
    return Trained(
        metrics,
        example,
        predicted,
        saved,
        fitted.history,
        backend.device(fitted.pipeline.named_steps["estimator"]),
    )
