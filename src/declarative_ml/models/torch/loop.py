"""The epoch loop of the MLP estimators: mini-batches, per-epoch metrics, early stopping.

Imported only from inside ``fit``, so importing the estimators never imports torch.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import sklearn
import torch
from torch import nn

from declarative_ml.metrics import METRICS, compute_metrics
from declarative_ml.models.torch.progress import EpochProgress


@dataclass(frozen=True)
class LoopSettings:
    """What the estimator's params say about the loop."""

    optimizer: str
    learning_rate: float
    weight_decay: float
    batch_size: int
    epochs: int
    early_stopping_metric: str
    patience: int | None
    eval_metrics: tuple[str, ...]


@dataclass(frozen=True)
class LoopResult:
    """Per-epoch records and the epoch whose weights the network holds."""

    history: list[dict[str, float]]
    best_epoch: int
    stopped_early: bool


def make_optimizer(name: str, params: Any, lr: float, weight_decay: float) -> Any:
    """Adam, AdamW or SGD (with momentum 0.9)."""
    if name == "adam":
        return torch.optim.Adam(params, lr=lr, weight_decay=weight_decay)
    if name == "adamw":
        return torch.optim.AdamW(params, lr=lr, weight_decay=weight_decay)
    return torch.optim.SGD(params, lr=lr, momentum=0.9, weight_decay=weight_decay)


def _loss(network: Any, outputs: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    if network.kind == "classification":
        return nn.functional.cross_entropy(outputs, target)
    return nn.functional.mse_loss(outputs[:, 0], (target - network.y_mean[0]) / network.y_scale[0])


def _improved(value: float, best: float | None, greater_is_better: bool) -> bool:
    if math.isnan(value):
        return False
    if best is None:
        return True
    return value > best if greater_is_better else value < best


def monitor_direction(metric: str) -> bool:
    """Whether a larger value of ``val_loss`` / ``val_<metric>`` is better."""
    base = metric.removeprefix("val_")
    return base != "loss" and METRICS[base].greater_is_better


class _Validation:
    """Scores the network on the validation rows: loss and the requested metrics."""

    def __init__(self, X: torch.Tensor, y: torch.Tensor, metrics: Sequence[str]) -> None:
        self.X, self.y, self.metrics = X, y, tuple(metrics)
        self.y_numpy = y.cpu().numpy()

    def score(self, network: Any) -> dict[str, float]:
        network.eval()
        with torch.no_grad():
            outputs = network(self.X)
            record = {"val_loss": float(_loss(network, outputs, self.y))}
            if self.metrics:
                if network.kind == "classification":
                    proba = torch.softmax(outputs.double(), dim=1).cpu().numpy()
                    pred = proba.argmax(axis=1)
                else:
                    proba, pred = None, network.decode(outputs)[:, 0].cpu().numpy()
                # Every epoch: skip scikit-learn's argument checks (known-good arrays).
                with sklearn.config_context(skip_parameter_validation=True, assume_finite=True):
                    scores = compute_metrics(self.metrics, self.y_numpy, pred, proba)
                record.update({f"val_{name}": value for name, value in scores.items()})
        network.train()
        return record


def train_network(
    network: Any,
    data: tuple[torch.Tensor, torch.Tensor],
    validation: tuple[torch.Tensor, torch.Tensor] | None,
    settings: LoopSettings,
    *,
    generator: torch.Generator,
    progress: EpochProgress | None,
) -> LoopResult:
    """Train ``network`` in place for up to ``settings.epochs`` epochs.

    Args:
        network: an ``MLPNetwork`` on the device of ``data``.
        data: training features and targets (class indices or values).
        validation: validation features and targets, or None (no val_* records,
            no early stopping).
        settings: optimiser, batch size, epochs, early stopping.
        generator: seeded CPU generator that orders the mini-batches.
        progress: where epochs are reported, or None.

    Returns:
        The history (one dict per epoch: ``train_loss``, ``val_loss``, ``val_<metric>``),
        and the best epoch; with early stopping the network holds that epoch's weights.
    """
    X, y = data
    optimizer = make_optimizer(
        settings.optimizer, network.parameters(), settings.learning_rate, settings.weight_decay
    )
    scorer = _Validation(*validation, settings.eval_metrics) if validation is not None else None
    early = scorer is not None and settings.patience is not None
    greater = monitor_direction(settings.early_stopping_metric) if early else False
    history: list[dict[str, float]] = []
    best_value: float | None = None
    best_epoch, best_state, waited = 0, None, 0
    network.train()
    for epoch in range(settings.epochs):
        order = torch.randperm(len(X), generator=generator).to(X.device)
        total = torch.zeros((), device=X.device)
        for start in range(0, len(X), settings.batch_size):
            index = order[start : start + settings.batch_size]
            loss = _loss(network, network(X[index]), y[index])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            total += loss.detach() * len(index)
        record = {"train_loss": float(total) / len(X)}
        if scorer is not None:
            record.update(scorer.score(network))
        history.append(record)
        if progress is not None:
            progress.update(epoch + 1, record)
        if not early:
            continue
        value = record[settings.early_stopping_metric]
        if _improved(value, best_value, greater):
            best_value, best_epoch, waited = value, epoch, 0
            best_state = {k: v.detach().clone() for k, v in network.state_dict().items()}
        else:
            waited += 1
            if settings.patience is not None and waited >= settings.patience:
                break
    network.eval()
    if not early or best_state is None:
        return LoopResult(history, len(history) - 1, stopped_early=False)
    network.load_state_dict(best_state)
    return LoopResult(history, best_epoch, stopped_early=len(history) < settings.epochs)


def as_tensor(values: Any, device: Any, dtype: Any) -> torch.Tensor:
    """A NumPy array as a tensor on ``device``."""
    return torch.as_tensor(np.ascontiguousarray(values), dtype=dtype, device=device)


def standardise(network: Any, X: np.ndarray, y: np.ndarray | None) -> None:
    """Store the training mean and scale of the inputs (and a regression target) as buffers."""

    def moments(values: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
        mean = values.mean(axis=0, dtype=np.float64)
        scale = values.std(axis=0, dtype=np.float64)
        scale[~np.isfinite(scale) | (scale < 1e-12)] = 1.0  # constant columns pass unscaled
        return torch.as_tensor(mean, dtype=torch.float32), torch.as_tensor(
            scale, dtype=torch.float32
        )

    network.x_mean, network.x_scale = moments(X)
    if y is not None:
        network.y_mean, network.y_scale = moments(y.reshape(-1, 1))
