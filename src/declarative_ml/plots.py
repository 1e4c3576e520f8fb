"""Diagnostic plots written as PNG files: pure functions of arrays, no MLflow."""

from __future__ import annotations

from pathlib import Path
from typing import Any

_TOP_FEATURES = 20


def _figure(width: float = 5.0, height: float = 4.0) -> Any:
    import matplotlib

    matplotlib.use("Agg", force=False)
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), dpi=100, layout="constrained")


def confusion_matrix_plot(y: Any, pred: Any, classes: list[str], path: Path) -> Path:
    """Counts of true (rows) against predicted (columns) classes."""
    from sklearn.metrics import confusion_matrix

    matrix = confusion_matrix(y, pred, labels=range(len(classes)))
    fig = _figure()
    ax = fig.add_subplot()
    ax.imshow(matrix, cmap="Blues")
    ax.set(
        xticks=range(len(classes)),
        yticks=range(len(classes)),
        xticklabels=classes,
        yticklabels=classes,
        xlabel="predicted",
        ylabel="true",
        title="Confusion matrix (test)",
    )
    for (i, j), count in _cells(matrix):
        ax.text(
            j,
            i,
            str(count),
            ha="center",
            va="center",
            color="white" if count > matrix.max() / 2 else "black",
        )
    fig.savefig(path)
    return path


def _cells(matrix: Any) -> list[tuple[tuple[int, int], int]]:
    return [
        ((i, j), int(matrix[i, j])) for i in range(matrix.shape[0]) for j in range(matrix.shape[1])
    ]


def roc_curve_plot(y: Any, proba: Any, classes: list[str], path: Path) -> Path:
    """ROC curve (one-vs-rest per class for multiclass) with AUC in the legend."""
    from sklearn.metrics import auc, roc_curve

    fig = _figure()
    ax = fig.add_subplot()
    pairs = [(1, classes[1])] if proba.shape[1] == 2 else list(enumerate(classes))
    for index, label in pairs:
        fpr, tpr, _ = roc_curve(y == index, proba[:, index])
        ax.plot(fpr, tpr, label=f"{label} (AUC {auc(fpr, tpr):.3f})")
    ax.plot([0, 1], [0, 1], linestyle="--", color="grey")
    ax.set(xlabel="false positive rate", ylabel="true positive rate", title="ROC (test)")
    ax.legend(loc="lower right")
    fig.savefig(path)
    return path


def residuals_plot(y: Any, pred: Any, path: Path) -> Path:
    """Residuals (true - predicted) against predictions."""
    import numpy as np

    fig = _figure()
    ax = fig.add_subplot()
    ax.scatter(pred, np.asarray(y) - np.asarray(pred), s=10, alpha=0.7)
    ax.axhline(0, color="grey", linestyle="--")
    ax.set(xlabel="predicted", ylabel="residual (true - predicted)", title="Residuals (test)")
    fig.savefig(path)
    return path


def feature_importance_plot(importances: Any, names: list[str], path: Path) -> Path:
    """Horizontal bars of the largest importances (or absolute coefficients)."""
    import numpy as np

    values = np.asarray(importances, dtype=float)
    order = np.argsort(values)[-_TOP_FEATURES:]
    fig = _figure(6.0, max(3.0, 0.25 * len(order) + 1))
    ax = fig.add_subplot()
    ax.barh([names[i] for i in order], values[order])
    ax.set(xlabel="importance", title="Feature importance")
    fig.savefig(path)
    return path


def learning_curve_plot(
    history: list[dict[str, float]], best_epoch: int | None, path: Path
) -> Path:
    """Losses per epoch (left) and validation metrics per epoch (right), best epoch marked."""
    epochs = range(1, len(history) + 1)
    names = list(dict.fromkeys(name for record in history for name in record))
    losses = [n for n in names if n in ("train_loss", "val_loss")]  # val_log_loss is a metric
    scores = [n for n in names if n not in losses]
    fig = _figure(10.0 if scores else 5.0, 4.0)
    panels = [("loss", losses), ("validation metric", scores)] if scores else [("loss", losses)]
    for index, (label, group) in enumerate(panels):
        ax = fig.add_subplot(1, len(panels), index + 1)
        for name in group:
            ax.plot(epochs, [record.get(name, float("nan")) for record in history], label=name)
        if best_epoch is not None:
            ax.axvline(best_epoch + 1, color="grey", linestyle="--", label="kept epoch")
        ax.set(xlabel="epoch", ylabel=label, title=f"Learning curve ({label})")
        ax.legend(loc="best")
    fig.savefig(path)
    return path


def noise_plot(
    differences: Any,
    *,
    point: float,
    bound: float,
    margin: float,
    quantity: str,
    bound_label: str,
    title: str,
    y: Any,
    models: dict[str, Any],
    path: Any,
) -> Any:
    """A confident rule's evidence: the resampled difference, and both models on the rows.

    Left: the histogram of the difference over resamples, with the margin, the bound
    and the difference on all rows marked. Right: each model's ROC curve on the rows
    (classification; micro-averaged one-vs-rest for more than two classes), or its
    residuals against its predictions (regression).

    Args:
        differences: the difference on each resample.
        point: the difference on all the rows.
        bound: its one-sided bound (the rule holds when it is past ``margin``).
        margin: what the bound is compared with.
        quantity: what the difference is (the x axis).
        bound_label: what the bound is, e.g. ``lower bound at 95%``.
        title: the rule and its confidence.
        y: the rows' targets (class indexes for classification).
        models: per model label, its class probabilities (rows x classes) or
            predictions (regression).
        path: the PNG file to write (a path or a binary file object).

    Returns:
        ``path``.
    """
    import numpy as np

    classification = np.asarray(next(iter(models.values()))).ndim == 2
    fig = _figure(10.0, 4.0)
    fig.suptitle(title, fontsize=9)
    ax = fig.add_subplot(1, 2, 1)
    ax.hist(np.asarray(differences, dtype=float), bins=50, color="lightsteelblue")
    ax.axvline(margin, color="black", linestyle="--", label=f"margin {margin:g}")
    ax.axvline(bound, color="crimson", label=f"{bound_label} {bound:+.4g}")
    ax.axvline(point, color="grey", linestyle=":", label=f"on all rows {point:+.4g}")
    ax.set(xlabel=quantity, ylabel="resamples", title="Paired bootstrap of the difference")
    ax.legend(loc="best", fontsize=8)
    ax = fig.add_subplot(1, 2, 2)
    for label, scores in models.items():
        scores = np.asarray(scores, dtype=float)
        if scores.ndim == 2:
            fpr, tpr = _roc(np.asarray(y), scores)
            ax.plot(fpr, tpr, label=label)
        else:
            ax.scatter(scores, np.asarray(y) - scores, s=8, alpha=0.6, label=label)
    if classification:
        ax.plot([0, 1], [0, 1], linestyle="--", color="grey")
        ax.set(xlabel="false positive rate", ylabel="true positive rate", title="ROC, same rows")
    else:
        ax.axhline(0, color="grey", linestyle="--")
        ax.set(xlabel="predicted", ylabel="residual (true - predicted)", title="Same rows")
    ax.legend(loc="best", fontsize=8)
    fig.savefig(path, format="png")
    return path


def _roc(y: Any, proba: Any) -> tuple[Any, Any]:
    """ROC of the positive class (binary), else micro-averaged one-vs-rest."""
    import numpy as np
    from sklearn.metrics import roc_curve

    if proba.shape[1] == 2:
        fpr, tpr, _ = roc_curve(y == 1, proba[:, 1])
    else:
        truth = np.arange(proba.shape[1])[None, :] == y[:, None]
        fpr, tpr, _ = roc_curve(truth.ravel(), proba.ravel())
    return fpr, tpr


def feature_importances(estimator: Any) -> Any | None:
    """``feature_importances_``, else mean absolute ``coef_``, else None."""
    import numpy as np

    if hasattr(estimator, "feature_importances_"):
        return estimator.feature_importances_
    if hasattr(estimator, "coef_"):
        coef = np.atleast_2d(estimator.coef_)
        return np.abs(coef).mean(axis=0)
    return None


def write_plots(
    folder: Path,
    pipeline: Any,
    data: Any,
    test_predictions: tuple[Any, Any],
    *,
    history: list[dict[str, float]] | None = None,
    best_epoch: int | None = None,
) -> list[str]:
    """Every plot that fits the task, from the test split, plus the learning curve when
    the model kept a per-epoch ``history``; returns the file paths."""
    folder.mkdir(parents=True, exist_ok=True)
    y = data.encoded["test"]
    pred, proba = test_predictions
    written = []
    if data.classes is not None:
        labels = [str(c) for c in data.classes]
        written.append(confusion_matrix_plot(y, pred, labels, folder / "confusion_matrix.png"))
        written.append(roc_curve_plot(y, proba, labels, folder / "roc_curve.png"))
    else:
        written.append(residuals_plot(y, pred, folder / "residuals.png"))
    importances = feature_importances(pipeline.named_steps["estimator"])
    if importances is not None:
        names = (
            list(pipeline[:-1].get_feature_names_out())
            if len(pipeline) > 1
            else list(data.features)
        )
        if len(names) == len(importances):
            written.append(
                feature_importance_plot(importances, names, folder / "feature_importance.png")
            )
    if history:
        written.append(learning_curve_plot(history, best_epoch, folder / "learning_curve.png"))
    return [str(p) for p in written]
