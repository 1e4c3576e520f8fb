"""The MLP network of ``model=mlp``: built, saved and loaded from a JSON config and a state_dict.

Self-contained (imports only torch and NumPy): MLflow ships this file with each
logged torch model (``code_paths``), so serving rebuilds the network without
declarative_ml and without unpickling a module. Input standardisation (and, for
regression, the target's) lives in the network as buffers, so the saved
state_dict is the complete model.

Training runs in float32; a fitted network is kept, saved and served in float64,
so a row's prediction does not depend on which other rows share its batch.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

ACTIVATIONS: dict[str, type[nn.Module]] = {
    "relu": nn.ReLU,
    "tanh": nn.Tanh,
    "gelu": nn.GELU,
    "silu": nn.SiLU,
    "leaky_relu": nn.LeakyReLU,
    "elu": nn.ELU,
}
PREDICT_BATCH = 8192


class MLPNetwork(nn.Module):
    """Standardise inputs, then Linear -> activation -> dropout per hidden layer, then Linear.

    ``forward`` returns logits (classification) or the target in standard units
    (regression); :meth:`decode` turns the latter into target units.
    """

    x_mean: torch.Tensor  # buffers: part of the state_dict, not trained
    x_scale: torch.Tensor
    y_mean: torch.Tensor
    y_scale: torch.Tensor

    def __init__(
        self,
        kind: str,
        in_features: int,
        out_features: int,
        hidden_layers: list[int],
        activation: str,
        dropout: float,
    ) -> None:
        super().__init__()
        self.kind = kind
        self.config = {  # what build_network takes to make this network again
            "kind": kind,
            "in_features": in_features,
            "out_features": out_features,
            "hidden_layers": list(hidden_layers),
            "activation": activation,
            "dropout": dropout,
        }
        self.register_buffer("x_mean", torch.zeros(in_features))
        self.register_buffer("x_scale", torch.ones(in_features))
        self.register_buffer("y_mean", torch.zeros(out_features))
        self.register_buffer("y_scale", torch.ones(out_features))
        layers: list[nn.Module] = []
        width = in_features
        for size in hidden_layers:
            layers += [nn.Linear(width, size), ACTIVATIONS[activation]()]
            if dropout > 0:
                layers.append(nn.Dropout(dropout))
            width = size
        layers.append(nn.Linear(width, out_features))
        self.layers = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Raw outputs for standardised ``x`` (the loss is computed on these)."""
        return self.layers((x - self.x_mean) / self.x_scale)

    def decode(self, outputs: torch.Tensor) -> torch.Tensor:
        """Regression outputs in target units."""
        return outputs * self.y_scale + self.y_mean


def build_network(config: dict[str, Any]) -> MLPNetwork:
    """A fresh network from its config: ``kind``, ``in_features``, ``out_features``,
    ``hidden_layers``, ``activation``, ``dropout`` (what ``network.config`` holds)."""
    return MLPNetwork(
        kind=config["kind"],
        in_features=int(config["in_features"]),
        out_features=int(config["out_features"]),
        hidden_layers=[int(n) for n in config["hidden_layers"]],
        activation=config["activation"],
        dropout=float(config["dropout"]),
    )


def cpu_copy(network: MLPNetwork) -> MLPNetwork:
    """A copy of ``network`` on the CPU, in the same mode; ``network`` stays where it is."""
    copy = build_network(network.config).to(network.x_mean.dtype)
    copy.load_state_dict({k: v.detach().cpu() for k, v in network.state_dict().items()})
    return copy.train(network.training)


def save_network(network: MLPNetwork, weights: str, spec: str) -> None:
    """Write the state_dict (tensors only) to ``weights`` and the config (JSON) to ``spec``."""
    state = {k: v.detach().cpu().clone() for k, v in network.state_dict().items()}
    torch.save(state, weights)
    Path(spec).write_text(json.dumps(network.config, indent=2))


def load_network(weights: str, spec: str) -> MLPNetwork:
    """Rebuild the network from its JSON config and load tensors with ``weights_only=True``."""
    network = build_network(json.loads(Path(spec).read_text())).double()
    network.load_state_dict(torch.load(weights, map_location="cpu", weights_only=True))
    return network.eval()


def network_outputs(network: MLPNetwork, X: Any, device: str = "cpu") -> np.ndarray:
    """Class probabilities (classification) or predictions (regression, 1-D) for rows ``X``."""
    values = np.array(X, dtype=np.float64)  # a copy: torch wants writable memory
    if values.ndim != 2:
        raise ValueError(f"expected a 2-D array of features, got shape {values.shape}")
    was_training = network.training
    network.eval()
    chunks = []
    with torch.no_grad():
        for start in range(0, len(values), PREDICT_BATCH):
            rows = torch.from_numpy(values[start : start + PREDICT_BATCH])
            batch = rows.to(device=device, dtype=network.x_mean.dtype)
            out = network(batch)
            out = (
                torch.softmax(out, dim=1)
                if network.kind == "classification"
                else network.decode(out)
            )
            chunks.append(out.cpu().numpy())
    network.train(was_training)
    width = network.y_mean.shape[0]
    result = np.concatenate(chunks) if chunks else np.empty((0, width), dtype=np.float64)
    return result if network.kind == "classification" else result[:, 0]


class NetworkPredictor:
    """``predict`` / ``predict_proba`` over a loaded network, as serving calls them.

    ``predict`` returns class indices (classification) or values (regression).
    """

    def __init__(self, network: MLPNetwork) -> None:
        self.network = network

    def predict_proba(self, X: Any) -> np.ndarray:
        """Class probabilities, one column per class index."""
        return network_outputs(self.network, X)

    def predict(self, X: Any) -> np.ndarray:
        """Class indices or regression values."""
        outputs = network_outputs(self.network, X)
        if self.network.kind == "classification":
            return outputs.argmax(axis=1)
        return outputs


def load_predictor(weights: str, spec: str) -> NetworkPredictor:
    """What ``pyfunc_model.py`` serves: the network from its files, ready to predict."""
    return NetworkPredictor(load_network(weights, spec))
