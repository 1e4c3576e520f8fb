"""The MLflow client the decision path uses: retried, and without per-write model loads.

``MlflowClient`` checks before each registry write that the name is not a prompt by
loading the whole registered model, which builds every version: a write then costs
time proportional to the number of versions (measured in
``benchmarks/registry_scale.py``). The writes below go to MLflow's registry client
directly; every name they touch is a model this package created or resolved.
"""

from __future__ import annotations

from typing import Any

from declarative_ml.tracking.retry import RetryingClient

# Registry calls whose MlflowClient wrappers load the full registered model first.
DIRECT = frozenset(
    {
        "set_model_version_tag",
        "set_registered_model_alias",
        "delete_registered_model_alias",
        "create_model_version",
        "update_model_version",
    }
)


class RegistryClient(RetryingClient):
    """Wraps an MlflowClient: transient lock conflicts are retried; ``DIRECT`` calls skip
    the wrapper's full-model check."""

    def __init__(self, client: Any) -> None:
        super().__init__(client)
        registry = getattr(self._client, "_get_registry_client", None)
        self._registry = registry() if registry is not None else self._client

    def _target(self, name: str) -> Any:
        return self._registry if name in DIRECT else self._client
