"""The sweep's shared state: a JSON file in Hydra's sweep directory, one record per trial."""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from declarative_ml.config.hydra_node import in_multirun
from declarative_ml.secrets import redact_uri

SWEEP_FILE = "dml_sweep.json"
TRIAL_FILE = "dml_trial.json"


@dataclass(frozen=True)
class Sweep:
    """What every trial needs to join the sweep."""

    parent_run_id: str
    experiment_id: str
    tracking_uri: str
    objective: str
    direction: str
    total: int | None = None


@dataclass(frozen=True)
class Trial:
    """One trial's outcome, written by the trial itself (any process, any machine)."""

    number: int
    overrides: list[str]
    status: str  # FINISHED | FAILED
    objective: float | None = None
    run_id: str | None = None
    error: str | None = None
    metrics: dict[str, float] = field(default_factory=dict)
    lost: bool = False  # failed without a run in MLflow, and not because of its config or data


def write_sweep(sweep_dir: Path, sweep: Sweep) -> None:
    """Store the sweep's state where trials find it (a password in the store URI masked:
    each trial connects with its own ``tracking.uri``, checked to be the same store)."""
    sweep_dir.mkdir(parents=True, exist_ok=True)
    state = {**asdict(sweep), "tracking_uri": redact_uri(sweep.tracking_uri)}
    (sweep_dir / SWEEP_FILE).write_text(json.dumps(state, indent=2))


def read_sweep(sweep_dir: Path) -> Sweep | None:
    """The sweep a trial belongs to, or None outside a declarative_ml sweep."""
    path = sweep_dir / SWEEP_FILE
    return Sweep(**json.loads(path.read_text())) if path.is_file() else None


def current_sweep(hydra_config: Any | None) -> Sweep | None:
    """The sweep of the running Hydra job (None for a single run)."""
    if hydra_config is None or not in_multirun(hydra_config):
        return None
    return read_sweep(Path(hydra_config.sweep.dir))


def write_trial(output_dir: Path, trial: Trial) -> None:
    """Record a trial's outcome in its own output folder."""
    output_dir.mkdir(parents=True, exist_ok=True)
    (output_dir / TRIAL_FILE).write_text(json.dumps(asdict(trial), indent=2))


def read_trials(sweep_dir: Path) -> list[Trial]:
    """Every trial recorded under the sweep directory, by number."""
    trials = [Trial(**json.loads(p.read_text())) for p in sweep_dir.rglob(TRIAL_FILE)]
    return sorted(trials, key=lambda t: t.number)


def best_trial(trials: list[Trial], direction: str) -> Trial | None:
    """The finished trial with the best objective (None when none finished)."""
    scored = [
        t
        for t in trials
        if t.status == "FINISHED" and t.objective is not None and not math.isnan(t.objective)
    ]
    if not scored:
        return None
    pick = max if direction == "maximize" else min
    return pick(scored, key=lambda t: t.objective)  # type: ignore[arg-type,return-value]
