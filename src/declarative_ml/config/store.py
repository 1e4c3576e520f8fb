"""Registers the schemas in Hydra's ConfigStore (``base_<group>`` names)."""

from __future__ import annotations

from hydra.core.config_store import ConfigStore
from omegaconf import MISSING, DictConfig, OmegaConf, open_dict
from omegaconf.nodes import BooleanNode

from declarative_ml.config.schema import (
    Config,
    DatasetConfig,
    ModelConfig,
    PromotionConfig,
    TrackingConfig,
)

_registered = False


def _tracking_node() -> DictConfig:
    # `async` is a Python keyword, so it cannot be a dataclass field; it is added
    # as a typed node so that `tracking.async=maybe` still fails at composition.
    node = OmegaConf.structured(TrackingConfig)
    with open_dict(node):
        node["async"] = BooleanNode(False)
    return node


def config_node(*, tracking_chosen: bool = False) -> DictConfig:
    """The root schema, its ``tracking`` typed as :func:`_tracking_node` (with ``async``):
    still to be chosen (``???``) for Hydra's composition, or holding the schema's defaults
    for a config read back from a run (``tracking_chosen``)."""
    node = OmegaConf.structured(Config)
    with open_dict(node):
        node.tracking = _tracking_node()
    if not tracking_chosen:
        node.tracking._set_value(MISSING)
    return node


def register_configs() -> None:
    """Store every group's schema once per process (idempotent)."""
    global _registered
    if _registered:
        return
    cs = ConfigStore.instance()
    cs.store(name="base_config", node=config_node())
    cs.store(group="dataset", name="base_dataset", node=DatasetConfig)
    cs.store(group="model", name="base_model", node=ModelConfig)
    cs.store(group="tracking", name="base_tracking", node=_tracking_node())
    cs.store(group="promotion", name="base_promotion", node=PromotionConfig)
    _registered = True
