"""What rules with ``confidence`` are decided with (the rows' source, the bootstrap's
settings, the two models) and what gathering it gives (the evidence, the plots)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from declarative_ml.rules import Evidence


@dataclass(frozen=True)
class NoiseSetup:
    """What a candidate's confident rules are decided with.

    Attributes:
        task: ``binary``, ``multiclass`` or ``regression``.
        dataset: the candidate's dataset config (its test split is rebuilt from it).
        new_data: the ``promotion.new_data`` dataset config, or None.
        resamples: ``promotion.bootstrap.resamples``.
        seed: ``promotion.bootstrap.seed``.
        stratify: ``promotion.bootstrap.stratify``.
        test_split: the candidate's test split when at hand (after a run), else None.
    """

    task: str
    dataset: Any
    new_data: Any | None = None
    resamples: int = 2000
    seed: int = 0
    stratify: bool = True
    test_split: Any | None = None

    @classmethod
    def from_config(
        cls, cfg: Any, *, task: str, new_data: Any | None, test_split: Any | None = None
    ) -> NoiseSetup:
        """The setup of a run's config (``promotion.bootstrap`` defaults where a stored
        config predates it)."""
        settings = cfg.promotion.get("bootstrap") or {}
        return cls(
            task=task,
            dataset=cfg.dataset,
            new_data=new_data,
            resamples=int(settings.get("resamples", 2000)),
            seed=int(settings.get("seed", cfg.get("seed", 0))),
            stratify=bool(settings.get("stratify", True)),
            test_split=test_split,
        )


@dataclass(frozen=True)
class Party:
    """One of the two models: how reports name it, its run and its logged model."""

    label: str
    run_id: str
    model_uri: str


@dataclass
class Gathered:
    """Evidence for the rules, and each confident rule's plot (file name -> PNG)."""

    evidence: Evidence = field(default_factory=Evidence)
    plots: dict[str, bytes] = field(default_factory=dict)
