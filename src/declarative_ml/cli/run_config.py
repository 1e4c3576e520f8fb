"""What a run stored about its config: the resolved snapshot and where its configs came from."""

from __future__ import annotations

import tempfile
from typing import Any

from omegaconf import OmegaConf

from declarative_ml.config.compose import ConfigLocation
from declarative_ml.errors import RegistryError


def stored_config(client: Any, run_id: str) -> Any:
    """The run's ``config/config.yaml`` (the resolved config, secrets masked).

    Raises:
        RegistryError: when the run has none (it was not logged by declarative_ml).
    """
    from mlflow.exceptions import MlflowException

    with tempfile.TemporaryDirectory() as tmp:
        try:
            path = client.download_artifacts(run_id, "config/config.yaml", tmp)
        except MlflowException:
            raise RegistryError(
                f"run '{run_id}' has no config/config.yaml: it was not logged by declarative_ml"
            ) from None
        return OmegaConf.load(path)


def stored_location(client: Any, run_id: str) -> ConfigLocation:
    """Where the run's configs came from (read off its ``config/hydra.yaml``), so a second
    config it names (``promotion.new_data``, ``dml evaluate ... dataset=NAME``) is found in
    the same folders; the package's own for a run without Hydra's config."""
    from mlflow.exceptions import MlflowException

    with tempfile.TemporaryDirectory() as tmp:
        try:
            path = client.download_artifacts(run_id, "config/hydra.yaml", tmp)
        except MlflowException:
            return ConfigLocation()
        return ConfigLocation.from_hydra(OmegaConf.load(path))


def with_config_dir(location: ConfigLocation, config_dir: str | None) -> ConfigLocation:
    """``location`` with ``--config-dir DIR`` added, as Hydra adds it for a run."""
    import os
    from dataclasses import replace

    from declarative_ml.errors import ConfigError

    if config_dir is None:
        return location
    folder = os.path.abspath(config_dir)
    if not os.path.isdir(folder):
        raise ConfigError(f"--config-dir: {folder} is not a folder")
    return replace(location, config_dir=folder)
