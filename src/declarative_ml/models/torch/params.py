"""The MLP estimators' parameters: allowed values, checked by scikit-learn before ``fit``.

``models/build.py`` runs these checks when the config is validated, so a bad value
fails before the run starts, with scikit-learn's message naming the parameter.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from numbers import Integral, Real
from typing import Any

from sklearn.utils._param_validation import Interval, Options, StrOptions

from declarative_ml.errors import ConfigError
from declarative_ml.models.limits import MAX_ROUNDS

# Must match declarative_ml.serving.torch_net.ACTIVATIONS (that module imports torch).
ACTIVATIONS = ("relu", "tanh", "gelu", "silu", "leaky_relu", "elu")
TORCH_HINT = (
    "model=mlp needs PyTorch, which is not installed: "
    "pip install torch==2.13.0 (or the extra: pip install 'declarative_ml[torch]')"
)


class _Predicate(Options):
    """A constraint checked by a predicate. scikit-learn accepts only its own constraint
    classes in ``_parameter_constraints``; an ``Options`` subclass is one of them."""

    def __init__(self) -> None:
        super().__init__(object, set())


class _LayerSizes(_Predicate):
    """A list or tuple of positive integers (hidden layer widths)."""

    def is_satisfied_by(self, val: Any) -> bool:
        return isinstance(val, (list, tuple)) and all(
            isinstance(v, Integral) and not isinstance(v, bool) and int(v) > 0 for v in val
        )

    def __str__(self) -> str:
        return "a list of positive integers"


class _ValMetric(_Predicate):
    """``val_loss`` or ``val_<metric>``."""

    def is_satisfied_by(self, val: Any) -> bool:
        return isinstance(val, str) and val.startswith("val_") and len(val) > 4

    def __str__(self) -> str:
        return "'val_loss' or 'val_<metric>' (e.g. 'val_roc_auc')"


def import_torch() -> Any:
    """``torch``, or a ConfigError saying how to install it."""
    try:
        import torch
    except ImportError:
        raise ConfigError(TORCH_HINT) from None
    return torch


PARAMETER_CONSTRAINTS: dict[str, list[Any]] = {
    "hidden_layers": [_LayerSizes()],
    "activation": [StrOptions(set(ACTIVATIONS))],
    "dropout": [Interval(Real, 0, 1, closed="left")],
    "optimizer": [StrOptions({"adam", "adamw", "sgd"})],
    "learning_rate": [Interval(Real, 0, None, closed="neither")],
    "weight_decay": [Interval(Real, 0, None, closed="left")],
    "batch_size": [Interval(Integral, 1, None, closed="left")],
    "epochs": [Interval(Integral, 1, MAX_ROUNDS, closed="both")],  # 10**20 never ends
    "early_stopping_metric": [_ValMetric()],
    "patience": [Interval(Integral, 1, None, closed="left"), None],
    "validation_fraction": [Interval(Real, 0, 1, closed="left")],
    "seed": [Interval(Integral, 0, 2**63 - 1, closed="both"), None],
    "device": [StrOptions({"auto", "cpu", "cuda"})],
    "n_jobs": [
        Interval(Integral, 1, None, closed="left"),
        Interval(Integral, None, -1, closed="right"),
        None,
    ],
    "verbose": ["verbose"],
}


def thread_count(n_jobs: int | None) -> int:
    """CPU threads for ``n_jobs``: None is 1, -1 every core, -2 all but one (joblib's rule)."""
    if n_jobs is None:
        return 1
    return n_jobs if n_jobs > 0 else max(1, (os.cpu_count() or 1) + 1 + n_jobs)


@contextmanager
def torch_threads(torch: Any, n_jobs: int | None) -> Iterator[None]:
    """Run torch's CPU ops on ``thread_count(n_jobs)`` threads, then restore the setting.

    A small MLP gains nothing from several threads, and on a busy machine their
    synchronisation costs more than the work (ten times slower on two loaded cores).
    """
    previous = torch.get_num_threads()
    torch.set_num_threads(thread_count(n_jobs))
    try:
        yield
    finally:
        torch.set_num_threads(previous)
