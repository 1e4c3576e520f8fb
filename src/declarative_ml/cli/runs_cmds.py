"""``dml runs reap``: end runs left RUNNING by a process that died (SIGKILL, OOM, lost node)."""

from __future__ import annotations

from argparse import Namespace
from typing import Any

from declarative_ml.cli.output import emit, table, when
from declarative_ml.errors import TrackingError
from declarative_ml.tracking.heartbeat import MISSED_BEATS, find_stale, reap


def _experiment_ids(client: Any, names: list[str]) -> list[str]:
    if not names:
        return [e.experiment_id for e in client.search_experiments()]
    ids = []
    for name in names:
        experiment = client.get_experiment_by_name(name)
        if experiment is None:
            raise TrackingError(f"--experiment: no experiment named '{name}' in this store")
        ids.append(experiment.experiment_id)
    return ids


def runs_reap(client: Any, args: Namespace) -> None:
    """Mark KILLED every RUNNING run whose heartbeat stopped (``--dry-run`` only lists them)."""
    stale = find_stale(
        client, _experiment_ids(client, args.experiment or []), stale_after_s=args.stale_after
    )
    ended = stale if args.dry_run else reap(client, stale, by="dml runs reap")
    rows = [
        {
            "run_id": run.run_id,
            "run_name": run.run_name,
            "experiment_id": run.experiment_id,
            "last_heartbeat": when(int(run.last_beat_s * 1000)),
            "silent_s": round(run.silent_s),
            "status": "RUNNING (dry run)" if args.dry_run else "KILLED",
        }
        for run in ended
    ]
    limit = (
        f"{args.stale_after:g} s"
        if args.stale_after is not None
        else f"{MISSED_BEATS} heartbeat intervals"
    )
    text = (
        table(rows, ["run_id", "run_name", "last_heartbeat", "silent_s", "status"])
        if rows
        else f"no RUNNING run has been silent for more than {limit}"
    )
    emit(rows, as_json=args.json, text=text)
