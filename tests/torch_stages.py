"""A training stage for ``Stages`` that imports torch only when it runs, as the runner's do.

Kept out of the test modules, which import torch at the top: a parent that has loaded
torch starts children with ``forkserver``, and the runner's parent has not, so it forks.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any


def fit_mlp_stage(device: str, folder: str) -> Iterator[Any]:
    """Fit an MLP classifier on breast_cancer and save its network in ``folder``, as
    ``training_stages`` saves a model; yield the files, test rows and the child's predictions."""
    from sklearn.datasets import load_breast_cancer

    from declarative_ml.models.torch import MLPClassifier

    X, y = load_breast_cancer(return_X_y=True)
    model = MLPClassifier(epochs=20, learning_rate=0.01, device=device, seed=3)
    model.fit(X[:400], y[:400])
    weights, spec = str(Path(folder) / "weights.pt"), str(Path(folder) / "network.json")
    model.save_network(weights, spec)
    yield (weights, spec), X[400:], model.predict_proba(X[400:]), model.device_
