"""``MLPClassifier`` and ``MLPRegressor``: scikit-learn estimators around a torch MLP.

Importing this module does not import torch: ``fit`` does, so ``--cfg job``,
config errors and other model families never pay for it.
"""

from __future__ import annotations

import importlib.util
import math
import sys
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin, _fit_context
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_array, check_is_fitted, validate_data

from declarative_ml.errors import ConfigError
from declarative_ml.models.torch.device import resolve_device
from declarative_ml.models.torch.params import (
    PARAMETER_CONSTRAINTS,
    TORCH_HINT,
    import_torch,
    torch_threads,
)


class _BaseMLP(BaseEstimator):
    """Params, fitting and prediction shared by the classifier and the regressor."""

    _kind = "classification"
    _parameter_constraints: dict[str, list[Any]] = PARAMETER_CONSTRAINTS

    def __init__(
        self,
        hidden_layers: Any = (64, 32),
        activation: str = "relu",
        dropout: float = 0.0,
        optimizer: str = "adam",
        learning_rate: float = 1e-3,
        weight_decay: float = 0.0,
        batch_size: int = 32,
        epochs: int = 100,
        early_stopping_metric: str = "val_loss",
        patience: int | None = 10,
        validation_fraction: float = 0.1,
        seed: int | None = 0,
        device: str = "auto",
        n_jobs: int | None = None,
        verbose: bool | int = False,
    ) -> None:
        self.hidden_layers = hidden_layers
        self.activation = activation
        self.dropout = dropout
        self.optimizer = optimizer
        self.learning_rate = learning_rate
        self.weight_decay = weight_decay
        self.batch_size = batch_size
        self.epochs = epochs
        self.early_stopping_metric = early_stopping_metric
        self.patience = patience
        self.validation_fraction = validation_fraction
        self.seed = seed
        self.device = device
        self.n_jobs = n_jobs
        self.verbose = verbose

    def _validate_params(self) -> None:
        """scikit-learn's checks, plus: torch must be installed (found, not imported)."""
        super()._validate_params()
        if importlib.util.find_spec("torch") is None:
            raise ConfigError(TORCH_HINT)

    # -- fitting ---------------------------------------------------------------------------

    def _encode_targets(self, y: Any, *, fit: bool) -> np.ndarray:
        """Targets as the network trains on them (class indices, or floats)."""
        raise NotImplementedError

    def _out_features(self) -> int:
        raise NotImplementedError

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(
        self, X: Any, y: Any, eval_set: tuple[Any, Any] | None = None, eval_metrics: Any = ()
    ) -> Any:
        """Train the network; record ``history_`` and ``best_epoch_``.

        Args:
            X: training features (numeric, already preprocessed).
            y: training targets.
            eval_set: ``(X_val, y_val)`` preprocessed like ``X``; without it,
                ``validation_fraction`` of the rows is held out (0: no validation).
            eval_metrics: metric names (``declarative_ml.metrics``) scored on the
                validation rows every epoch, recorded as ``val_<metric>``.

        Returns:
            self.
        """
        X, y = validate_data(self, X, y, dtype=np.float32)
        target = self._encode_targets(y, fit=True)
        metrics = tuple(eval_metrics)
        if eval_set is not None:
            X_val = check_array(eval_set[0], dtype=np.float32)
            if X_val.shape[1] != X.shape[1]:
                raise ValueError(f"eval_set has {X_val.shape[1]} features, X has {X.shape[1]}")
            validation = (X_val, self._encode_targets(eval_set[1], fit=False))
            train = (X, target)
        else:
            train, validation = self._hold_out(X, target)
        self._check_monitor(metrics, validation is not None)
        torch = import_torch()
        self.device_ = resolve_device(self.device, torch)
        self._train(torch, train, validation, metrics)
        return self

    def _hold_out(self, X: np.ndarray, y: np.ndarray) -> tuple[Any, Any]:
        n_val = math.floor(len(X) * self.validation_fraction)
        if n_val < 1 or len(X) - n_val < 1:
            return (X, y), None
        order = np.random.default_rng(self.seed).permutation(len(X))
        val, train = order[:n_val], order[n_val:]
        return (X[train], y[train]), (X[val], y[val])

    def _check_monitor(self, metrics: tuple[str, ...], has_validation: bool) -> None:
        monitored = self.early_stopping_metric
        if not has_validation or self.patience is None or monitored == "val_loss":
            return
        if monitored.removeprefix("val_") not in metrics:
            known = ", ".join(["val_loss", *(f"val_{m}" for m in metrics)])
            raise ValueError(
                f"early_stopping_metric={monitored!r} is not scored every epoch; known: {known}"
            )

    def _train(self, torch: Any, train: Any, validation: Any, metrics: tuple[str, ...]) -> None:
        from declarative_ml.models.torch.loop import (
            LoopSettings,
            as_tensor,
            standardise,
            train_network,
        )
        from declarative_ml.models.torch.progress import EpochProgress
        from declarative_ml.serving.torch_net import build_network

        X, y = train
        config = {
            "kind": self._kind,
            "in_features": int(X.shape[1]),
            "out_features": self._out_features(),
            "hidden_layers": [int(n) for n in self.hidden_layers],
            "activation": self.activation,
            "dropout": float(self.dropout),
        }
        settings = LoopSettings(
            self.optimizer,
            float(self.learning_rate),
            float(self.weight_decay),
            int(self.batch_size),
            int(self.epochs),
            self.early_stopping_metric,
            self.patience,
            metrics,
        )
        seed = self.seed if self.seed is not None else int(np.random.randint(2**31 - 1))
        target_dtype = torch.long if self._kind == "classification" else torch.float32
        devices = [torch.cuda.current_device()] if self.device_ == "cuda" else []
        progress = (
            EpochProgress(settings.epochs, label=type(self).__name__, stream=sys.stderr)
            if self.verbose
            else None
        )
        # A private RNG stream: the same seed gives the same weights, and the caller's
        # global torch RNG is left as it was.
        with torch.random.fork_rng(devices=devices), torch_threads(torch, self.n_jobs):
            torch.manual_seed(seed)
            network = build_network(config)
            standardise(network, X, y if self._kind == "regression" else None)
            network.to(self.device_)
            data = (
                as_tensor(X, self.device_, torch.float32),
                as_tensor(y, self.device_, target_dtype),
            )
            val = None
            if validation is not None:
                val = (
                    as_tensor(validation[0], self.device_, torch.float32),
                    as_tensor(validation[1], self.device_, target_dtype),
                )
            generator = torch.Generator().manual_seed(seed)
            result = train_network(
                network, data, val, settings, generator=generator, progress=progress
            )
        if progress is not None:
            best = result.best_epoch
            note = f"stopped early; best epoch {best + 1}" if result.stopped_early else ""
            progress.close(len(result.history), result.history[-1], note)
        self.network_ = network.double().eval()  # see torch_net: served in float64
        self.history_ = result.history
        self.best_epoch_ = result.best_epoch

    # -- prediction and saving --------------------------------------------------------------

    def _outputs(self, X: Any) -> np.ndarray:
        check_is_fitted(self, "network_")
        X = validate_data(self, X, reset=False, dtype=np.float64)
        import torch

        from declarative_ml.serving.torch_net import network_outputs

        with torch_threads(torch, self.n_jobs):
            return network_outputs(self.network_, X, self.device_)

    # -- pickling: a fitted network travels on the CPU -------------------------------------

    def __getstate__(self) -> dict[str, Any]:
        """A CUDA network is pickled as a CPU copy: a model trained on a GPU unpickles where
        there is none, and a pickle sent to another process holds no handle to CUDA memory."""
        state = dict(super().__getstate__())  # object's is self.__dict__ itself: copy it
        network = state.get("network_")
        if network is not None and network.x_mean.device.type != "cpu":
            from declarative_ml.serving.torch_net import cpu_copy

            state["network_"] = cpu_copy(network)
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        """Back onto ``device_`` where it is available, else kept (and served) on the CPU."""
        super().__setstate__(state)
        if getattr(self, "network_", None) is None or self.device_ == "cpu":
            return
        if import_torch().cuda.is_available():
            self.network_.to(self.device_)
        else:
            self.device_ = "cpu"

    def save_network(self, weights: str, spec: str) -> None:
        """Write the fitted network: state_dict to ``weights``, its config (JSON) to ``spec``."""
        check_is_fitted(self, "network_")
        from declarative_ml.serving.torch_net import save_network

        save_network(self.network_, weights, spec)


class MLPClassifier(ClassifierMixin, _BaseMLP):
    """A multilayer perceptron classifier (PyTorch), trained with cross-entropy.

    Params: ``hidden_layers`` (widths), ``activation`` (relu | tanh | gelu | silu |
    leaky_relu | elu), ``dropout``, ``optimizer`` (adam | adamw | sgd with momentum
    0.9), ``learning_rate``, ``weight_decay``, ``batch_size``, ``epochs``,
    ``early_stopping_metric`` (``val_loss`` or ``val_<metric>``) and ``patience``
    (epochs without improvement; None trains every epoch), ``validation_fraction``
    (held out when ``fit`` gets no ``eval_set``), ``seed``, ``device`` (auto | cpu |
    cuda), ``n_jobs`` (CPU threads; None = 1, -1 = every core) and ``verbose`` (epoch
    progress on stderr).

    Attributes:
        classes_: the labels, in the order of ``predict_proba``'s columns.
        history_: one dict per epoch: ``train_loss``, ``val_loss``, ``val_<metric>``.
        best_epoch_: index into ``history_`` of the epoch whose weights the model holds.
        network_: the fitted ``torch.nn.Module``.
    """

    _kind = "classification"

    def _encode_targets(self, y: Any, *, fit: bool) -> np.ndarray:
        if fit:
            check_classification_targets(y)
            self.classes_, encoded = np.unique(y, return_inverse=True)
            return np.asarray(encoded, dtype=np.int64)
        y = np.asarray(y).ravel()
        index = np.searchsorted(self.classes_, y)
        index[index >= len(self.classes_)] = 0
        unseen = self.classes_[index] != y
        if unseen.any():
            raise ValueError(
                f"eval_set holds labels not seen in training: {sorted(set(y[unseen]))}"
            )
        return np.asarray(index, dtype=np.int64)

    def _out_features(self) -> int:
        return len(self.classes_)

    def predict_proba(self, X: Any) -> np.ndarray:
        """Class probabilities: rows sum to 1, columns follow ``classes_``."""
        return self._outputs(X)

    def predict(self, X: Any) -> np.ndarray:
        """The most probable class of each row."""
        proba = self.predict_proba(X)  # first: an unfitted model raises NotFittedError
        return self.classes_[proba.argmax(axis=1)]


class MLPRegressor(RegressorMixin, _BaseMLP):
    """A multilayer perceptron regressor (PyTorch), trained with squared error on a
    standardised target. Params and attributes as :class:`MLPClassifier` (no ``classes_``).
    """

    _kind = "regression"

    def _encode_targets(self, y: Any, *, fit: bool) -> np.ndarray:
        values = np.asarray(y, dtype=np.float32).ravel()
        if not np.isfinite(values).all():
            raise ValueError("targets must be finite: found NaN or infinity")
        return values

    def _out_features(self) -> int:
        return 1

    def predict(self, X: Any) -> np.ndarray:
        """Predicted values."""
        return self._outputs(X)
