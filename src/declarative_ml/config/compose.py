"""Composing the packaged config outside a Hydra app (the ``dml`` commands, tests)."""

from __future__ import annotations

from collections.abc import Sequence

from omegaconf import DictConfig

from declarative_ml.config.resolvers import CONF_DIR, register_resolvers
from declarative_ml.config.store import register_configs


def compose_config(overrides: Sequence[str] = ()) -> DictConfig:
    """The config ``python -m declarative_ml OVERRIDES`` would run, composed in-process.

    Raises:
        ConfigError: one line, as the CLI prints it, for any composition failure.
    """
    from hydra import compose, initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra

    from declarative_ml.config.errors_hydra import format_hydra_error
    from declarative_ml.errors import ConfigError

    register_configs()
    register_resolvers()
    GlobalHydra.instance().clear()
    try:
        with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
            return compose(config_name="config", overrides=list(overrides))
    except Exception as exc:  # Hydra and OmegaConf raise many types; all are config errors
        raise ConfigError(format_hydra_error(exc)) from None
    finally:
        GlobalHydra.instance().clear()
