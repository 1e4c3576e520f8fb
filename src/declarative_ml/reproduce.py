"""Re-running a stored config snapshot and comparing the result, metric by metric.

The comparison is pure (:func:`compare_metrics`); :func:`snapshot_config` turns the
``config/config.yaml`` a run stored back into a typed config the runner accepts.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from omegaconf import DictConfig, OmegaConf

from declarative_ml.errors import ConfigError

# Wall-clock measurements: never expected to repeat exactly.
TIMING_METRICS = frozenset({"training_duration_s", "predict_latency_ms"})


@dataclass(frozen=True)
class MetricCheck:
    """One metric of the original run against the reproduction."""

    name: str
    original: float
    reproduced: float | None
    matches: bool

    @property
    def difference(self) -> float | None:
        """``reproduced - original`` (None when the reproduction lacks the metric)."""
        return None if self.reproduced is None else self.reproduced - self.original


def compare_metrics(
    original: Mapping[str, float], reproduced: Mapping[str, float], *, tolerance: float
) -> list[MetricCheck]:
    """Each original metric (timings excluded) against the reproduction.

    Args:
        original: the stored run's metrics.
        reproduced: the new run's metrics.
        tolerance: allowed absolute difference (0: exact).

    Returns:
        One check per metric, sorted by name.
    """
    checks = []
    for name in sorted(set(original) - TIMING_METRICS):
        before, after = original[name], reproduced.get(name)
        if after is None:
            matches = False
        elif math.isnan(before) or math.isnan(after):
            matches = math.isnan(before) and math.isnan(after)
        else:
            matches = abs(after - before) <= tolerance
        checks.append(MetricCheck(name, before, after, matches))
    return checks


def snapshot_config(snapshot: DictConfig, overrides: Sequence[str] = ()) -> DictConfig:
    """The stored resolved config as a typed config, with ``key=value`` overrides applied.

    Raises:
        ConfigError: when the snapshot no longer fits the schema or an override is malformed.
    """
    from declarative_ml.config.store import config_node

    bad = [o for o in overrides if "=" not in o]
    if bad:
        raise ConfigError(f"override {bad[0]!r} is not key=value")
    try:
        cfg = OmegaConf.merge(config_node(tracking_chosen=True), snapshot)
        if overrides:
            cfg = OmegaConf.merge(cfg, OmegaConf.from_dotlist(list(overrides)))
    except Exception as exc:  # OmegaConf raises several types for a schema mismatch
        first = str(exc).splitlines()[0]
        raise ConfigError(f"config snapshot does not fit this version's schema: {first}") from None
    assert isinstance(cfg, DictConfig)
    return cfg


def differences(
    original_tags: Mapping[str, str], new_tags: Mapping[str, str], current_commit: str | None
) -> list[str]:
    """Warnings: a different git commit, or a dataset digest that changed."""
    warnings = []
    commit = original_tags.get("dml.git.commit")
    if commit and current_commit and commit != current_commit:
        warnings.append(
            f"git commit differs: the run was trained at {commit[:12]}, "
            f"this working tree is at {current_commit[:12]}"
        )
    for key in sorted(k for k in original_tags if k.startswith("dml.dataset.digest.")):
        if new_tags.get(key) != original_tags[key]:
            warnings.append(
                f"dataset digest {key.rsplit('.', 1)[1]} differs: "
                f"{original_tags[key]} then, {new_tags.get(key)} now"
            )
    return warnings


def plain(cfg: DictConfig) -> dict[str, Any]:
    """A config as plain containers (for JSON output)."""
    container = OmegaConf.to_container(cfg, resolve=True, enum_to_str=True)
    assert isinstance(container, dict)
    return container  # type: ignore[return-value]
