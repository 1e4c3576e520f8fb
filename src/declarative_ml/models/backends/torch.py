"""PyTorch estimators (``model=mlp``): scored on the val split every epoch, saved as a
``state_dict`` with the network's shape as JSON."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from declarative_ml.models.backends.base import Backend, Fitted, SavedEstimator

# Rebuilds the network beside the weights when the model is served (no pickle).
TORCH_NET = Path(__file__).resolve().parents[2] / "serving" / "torch_net.py"


class TorchBackend(Backend):
    """Estimators with epochs: ``fit(X, y, eval_set=..., eval_metrics=...)`` and a
    ``history_``."""

    family = "torch"
    modules = ("torch",)

    def owns(self, path: str) -> bool:
        return not path.startswith(("sklearn.", "xgboost."))

    def fit(
        self, pipeline: Any, X: Any, y: Any, *, validation: tuple[Any, Any] | None, metrics: Any
    ) -> Fitted:
        """Fit the preprocessor on train, then the estimator, scoring the val split (the
        preprocessor applied) after every epoch."""
        preprocessor = pipeline.named_steps.get("preprocess")
        estimator = pipeline.named_steps["estimator"]
        X_train = preprocessor.fit_transform(X, y) if preprocessor is not None else X
        eval_set, eval_metrics = None, ()
        if validation is not None:
            X_val = preprocessor.transform(validation[0]) if preprocessor is not None else None
            eval_set = (validation[0] if X_val is None else X_val, validation[1])
            eval_metrics = metrics
        estimator.fit(X_train, y, eval_set=eval_set, eval_metrics=eval_metrics)
        # The pipeline's steps are the objects just fitted.
        return Fitted(pipeline, list(estimator.history_), getattr(estimator, "best_epoch_", None))

    def save(self, estimator: Any, directory: Path) -> SavedEstimator:
        """Tensors only (loaded with ``weights_only=True``) and the network's shape as JSON;
        ``torch_net.py``, which rebuilds the network, travels with the model."""
        weights, network = str(directory / "estimator.pt"), str(directory / "network.json")
        estimator.save_network(weights, network)
        return SavedEstimator(
            {"estimator": weights, "network": network},
            "torch-state-dict",
            ["torch"],
            [str(TORCH_NET)],
        )

    def device(self, estimator: Any) -> str | None:
        device = getattr(estimator, "device_", None)
        if not isinstance(device, str):
            return None
        from declarative_ml.models.torch.device import device_label

        return device_label(device)


BACKEND = TorchBackend()
