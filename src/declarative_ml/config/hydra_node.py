"""Reading Hydra's own config (the ``hydra`` node) of a running job."""

from __future__ import annotations

from typing import Any


def in_multirun(hydra_config: Any | None) -> bool:
    """Whether Hydra's own config (the ``hydra`` node) is of a multirun (``-m``)."""
    return str(getattr(hydra_config, "mode", None)) == "RunMode.MULTIRUN"
