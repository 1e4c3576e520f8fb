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


def compose_dataset(name: str) -> DictConfig:
    """The ``dataset`` node of option ``name`` (e.g. for ``promotion.new_data``).

    Inside a running Hydra app the app's search path is used (a user's own folders
    included); elsewhere the packaged config.

    Raises:
        ConfigError: when ``name`` is not a dataset option (listing the options).
    """
    from hydra import compose
    from hydra.core.global_hydra import GlobalHydra

    from declarative_ml.config.errors_hydra import format_hydra_error
    from declarative_ml.errors import ConfigError

    if GlobalHydra.instance().is_initialized():
        try:
            return compose(config_name="config", overrides=[f"dataset={name}"]).dataset
        except Exception as exc:  # Hydra and OmegaConf raise many types
            raise ConfigError(f"promotion.new_data: {format_hydra_error(exc)}") from None
    try:
        return compose_config([f"dataset={name}"]).dataset
    except ConfigError as exc:
        raise ConfigError(f"promotion.new_data: {exc}") from None
