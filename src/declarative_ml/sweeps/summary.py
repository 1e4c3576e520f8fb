"""The end-of-sweep summary: a table of trials (CSV) and the objective against each parameter."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from declarative_ml.sweeps.context import Trial


def swept_values(trial: Trial) -> dict[str, str]:
    """``key -> value`` of a trial's overrides (``+``/``~`` prefixes dropped)."""
    values = {}
    for override in trial.overrides:
        key, _, value = override.partition("=")
        values[key.lstrip("+~")] = value
    return values


def trial_table(trials: list[Trial], best: Trial | None) -> Any:
    """One row per trial: number, status, objective, best flag, overrides, metrics, run id."""
    import pandas as pd

    rows = []
    for trial in trials:
        rows.append(
            {
                "trial": trial.number,
                "status": trial.status,
                "objective": trial.objective,
                "best": best is not None and trial.number == best.number,
                **swept_values(trial),
                **{f"metric.{k}": v for k, v in sorted(trial.metrics.items())},
                "run_id": trial.run_id,
                "error": trial.error,
            }
        )
    return pd.DataFrame(rows)


def objective_plot(table: Any, params: list[str], objective: str, path: Path) -> Path:
    """The objective against each swept parameter (one panel each); the best trial in red."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    from matplotlib.figure import Figure

    panels = params or ["trial"]
    fig = Figure(figsize=(4.0 * len(panels), 3.5), dpi=100, layout="constrained")
    done = table[table["status"] == "FINISHED"]
    for index, param in enumerate(panels, start=1):
        ax = fig.add_subplot(1, len(panels), index)
        x = _numeric_or_labels(done[param])
        ax.scatter(x, done["objective"], s=25)
        best = done[done["best"]]
        if not best.empty:
            ax.scatter(
                _numeric_or_labels(best[param]), best["objective"], s=60, color="red", label="best"
            )
            ax.legend(loc="best")
        ax.set(xlabel=param, ylabel=objective)
    fig.suptitle(f"{objective} by trial parameter")
    fig.savefig(path)
    return path


def _numeric_or_labels(column: Any) -> Any:
    import pandas as pd

    numeric = pd.to_numeric(column, errors="coerce")
    return numeric if not numeric.isna().any() else column.astype(str)
