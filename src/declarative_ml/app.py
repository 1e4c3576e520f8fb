"""The Hydra entry point: ``python -m declarative_ml [overrides]``.

Bad input ends in one line on stderr and a non-zero exit; ``DML_DEBUG=1``
shows the traceback instead.
"""

from __future__ import annotations

import logging
import os
import sys
import warnings

import hydra
from omegaconf import DictConfig

from declarative_ml import console
from declarative_ml.config.resolvers import CONF_DIR, register_resolvers
from declarative_ml.config.store import register_configs
from declarative_ml.errors import DeclarativeMLError

logger = logging.getLogger("declarative_ml")


def debug_enabled() -> bool:
    """Whether ``DML_DEBUG`` asks for tracebacks."""
    return os.environ.get("DML_DEBUG", "") not in ("", "0", "false", "no")


def task(cfg: DictConfig) -> float | None:
    """Hydra's task function: train one config and print its summary."""
    from hydra.core.hydra_config import HydraConfig

    from declarative_ml.runner import train
    from declarative_ml.summary import print_summary

    hydra_cfg = HydraConfig.get() if HydraConfig.initialized() else None
    overrides = list(hydra_cfg.overrides.task) if hydra_cfg is not None else []
    try:
        result = train(cfg, overrides=overrides, hydra_config=hydra_cfg)
    except DeclarativeMLError as exc:
        if debug_enabled():
            raise
        console.error(str(exc))
        sys.exit(exc.exit_code)
    except Exception as exc:  # unexpected: still one line unless debugging
        if debug_enabled():
            raise
        console.error(f"{type(exc).__name__}: {exc} (set DML_DEBUG=1 for the traceback)")
        sys.exit(1)
    print_summary(result)
    return None


def quiet_mlflow() -> None:
    """Keep MLflow's progress bars and INFO chatter out of the user's terminal."""
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    if not debug_enabled():
        os.environ.setdefault("MLFLOW_LOGGING_LEVEL", "WARNING")
        logging.getLogger("alembic").setLevel(logging.WARNING)
        # Hints about MLflow's own signature inference that a user cannot act on:
        # our signatures come from real rows and our predict takes params.
        warnings.filterwarnings("ignore", message=r"Hint: Inferred schema contains integer")
        warnings.filterwarnings("ignore", message=r".*Add type hints to the `predict` method")


def main() -> None:
    """Register schemas and resolvers, then hand over to Hydra."""
    quiet_mlflow()
    register_configs()
    register_resolvers()
    hydra.main(version_base="1.3", config_path=str(CONF_DIR), config_name="config")(task)()
