"""Package locations and the OmegaConf resolvers configs may use."""

from __future__ import annotations

from pathlib import Path

from omegaconf import OmegaConf

PACKAGE_DIR = Path(__file__).resolve().parents[1]
CONF_DIR = PACKAGE_DIR / "conf"
DATA_DIR = PACKAGE_DIR / "datasets"


def bundled_data(name: str) -> str:
    """``${dml_data:penguins.csv}``: the path of a data file shipped with the package."""
    return str(DATA_DIR / name)


def register_resolvers() -> None:
    """Register the ``dml_data`` resolver (idempotent)."""
    if not OmegaConf.has_resolver("dml_data"):
        OmegaConf.register_new_resolver("dml_data", bundled_data)
