"""A trial's side of a sweep: progress lines and the record the sweep summary reads."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

from declarative_ml import console


class TrialReporter:
    """In a sweep: progress lines, and each trial's record for the end-of-sweep summary."""

    def __init__(self, hydra_cfg: Any | None, overrides: list[str]) -> None:
        from declarative_ml.sweeps.context import current_sweep

        self.sweep = current_sweep(hydra_cfg)
        self.in_sweep = self.sweep is not None
        in_job = self.in_sweep and hydra_cfg is not None
        self.number = int(hydra_cfg.job.num) if in_job else 0  # type: ignore[union-attr]
        self.output_dir = Path(hydra_cfg.runtime.output_dir) if in_job else Path()  # type: ignore[union-attr]
        self.overrides = overrides
        self.prefix = f"trial #{self.number}: " if self.in_sweep else ""

    def start(self) -> None:
        """``trial i of N, best so far ...``."""
        if self.sweep is None:
            return
        from declarative_ml.sweeps.context import best_trial, read_trials

        sweep_dir = self.output_dir.parent
        done = read_trials(sweep_dir)
        best = best_trial(done, self.sweep.direction)
        of = f" of {self.sweep.total}" if self.sweep.total else ""
        so_far = (
            f"best so far {self.sweep.objective} {best.objective:.4f} (trial #{best.number})"
            if best is not None and best.objective is not None
            else "no result yet"
        )
        console.say(f"trial {self.number + 1}{of} ({', '.join(self.overrides)}): {so_far}")

    def finished(self, result: Any) -> None:
        if self.sweep is not None:
            from declarative_ml.sweeps.context import Trial, write_trial

            write_trial(
                self.output_dir,
                Trial(
                    self.number,
                    self.overrides,
                    "FINISHED",
                    result.objective,
                    result.run_id,
                    None,
                    dict(result.metrics),
                ),
            )

    def failed(self, message: str, *, run_id: str | None = None, lost: bool = False) -> None:
        """Record a failed trial: its run (FAILED) if one was created; ``lost`` when none was
        and the cause was not the trial's own config or data (the store refused a write)."""
        if self.sweep is not None:
            from declarative_ml.sweeps.context import Trial, write_trial

            trial = Trial(self.number, self.overrides, "FAILED", run_id=run_id, error=message)
            write_trial(self.output_dir, replace(trial, lost=lost and run_id is None))
