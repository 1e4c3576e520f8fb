"""Package locations and the OmegaConf resolvers configs may use."""

from __future__ import annotations

from pathlib import Path

from omegaconf import OmegaConf

PACKAGE_DIR = Path(__file__).resolve().parents[1]
CONF_DIR = PACKAGE_DIR / "conf"
DATA_DIR = PACKAGE_DIR / "datasets"


def bundled_data(name: str) -> str:
    """``${dml_data:penguins.csv}``: the path of a data file shipped with the package.

    Only a file of the package's data folder: ``../`` or an absolute path would make the
    resolver read anywhere.

    Raises:
        ConfigError: naming the files there are.
    """
    from declarative_ml.errors import ConfigError

    path = (DATA_DIR / str(name)).resolve()
    if path.parent != DATA_DIR.resolve() or not path.is_file():
        shipped = ", ".join(sorted(p.name for p in DATA_DIR.iterdir() if p.is_file()))
        raise ConfigError(
            f"${{dml_data:{name}}}: not a data file shipped with declarative_ml; "
            f"dml_data names one of: {shipped}"
        )
    return str(path)


def register_resolvers() -> None:
    """Register the ``dml_data`` resolver (idempotent)."""
    if not OmegaConf.has_resolver("dml_data"):
        OmegaConf.register_new_resolver("dml_data", bundled_data)
