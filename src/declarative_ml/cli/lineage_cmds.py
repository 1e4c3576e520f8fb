"""``dml reproduce RUN_ID`` and ``dml lineage MODEL_REF``."""

from __future__ import annotations

from argparse import Namespace
from typing import Any

from declarative_ml.cli.output import emit, table, when
from declarative_ml.cli.refs import logged_model_run, parse_ref, registered_from, resolve
from declarative_ml.cli.run_config import stored_config, stored_location
from declarative_ml.errors import DeclarativeMLError, RegistryError
from declarative_ml.messages import printable


class NotReproduced(DeclarativeMLError):
    """A reproduction whose metrics differ from the original (the table says which)."""

    exit_code = 1


def _get_run(client: Any, run_id: str) -> Any:
    from mlflow.exceptions import MlflowException

    try:
        return client.get_run(run_id)
    except MlflowException:
        raise RegistryError(f"no run '{run_id}' in this tracking store") from None


def reproduce(client: Any, args: Namespace) -> None:
    """Re-run a run's stored config into the same store and compare every metric."""
    from declarative_ml.reproduce import compare_metrics, differences, snapshot_config
    from declarative_ml.runner import train
    from declarative_ml.tracking.record import git_state

    original = _get_run(client, args.run_id)
    location = stored_location(client, args.run_id)
    cfg = snapshot_config(stored_config(client, args.run_id), args.overrides)
    cfg.tracking.uri = client.tracking_uri
    cfg.tracking.run_name = f"reproduce-{args.run_id[:8]}"
    cfg.tracking.tags = {**cfg.tracking.tags, "dml.reproduces": args.run_id}
    cfg.promotion.enabled = False  # a reproduction is evidence, not a candidate
    result = train(cfg, overrides=[f"reproduce={args.run_id}", *args.overrides], location=location)

    tolerance = args.tolerance if args.tolerance is not None else 0.0
    checks = compare_metrics(original.data.metrics, result.metrics, tolerance=tolerance)
    new_tags = client.get_run(result.run_id).data.tags
    warnings = differences(original.data.tags, new_tags, git_state().get("git.commit"))
    failed = [c for c in checks if not c.matches]
    data = {
        "original_run_id": args.run_id,
        "run_id": result.run_id,
        "tolerance": tolerance,
        "matches": not failed,
        "warnings": warnings,
        "metrics": [
            {
                "name": c.name,
                "original": c.original,
                "reproduced": c.reproduced,
                "matches": c.matches,
            }
            for c in checks
        ],
    }
    rows = [
        {
            "metric": c.name,
            "original": c.original,
            "reproduced": c.reproduced,
            "difference": c.difference,
            "match": "yes" if c.matches else "NO",
        }
        for c in checks
    ]
    verdict = (
        f"reproduced: all {len(checks)} metrics match (tolerance {tolerance:g})"
        if not failed
        else f"NOT reproduced: {len(failed)} of {len(checks)} metrics differ "
        f"(tolerance {tolerance:g})"
    )
    text = "\n".join(
        [
            f"run {args.run_id} reproduced as {result.run_id}",
            table(rows, ["metric", "original", "reproduced", "difference", "match"]),
            *[f"warning: {w}" for w in warnings],
            verdict,
        ]
    )
    emit(data, as_json=args.json, text=text)
    if failed:
        raise NotReproduced(
            f"{len(failed)} metric(s) differ from run {args.run_id}: "
            f"{', '.join(c.name for c in failed)}"
        )


def lineage(client: Any, args: Namespace) -> None:
    """Version -> run -> experiment -> config -> data -> commit -> promotion history.

    A ``models:/m-<id>`` logged model starts at its run (and its version, if it was
    registered).
    """
    from declarative_ml.registry import audit

    ref = parse_ref(args.ref)
    if ref.logged_model:
        run_id = logged_model_run(client, ref.logged_model)
        version = registered_from(client, ref.logged_model, run_id)
    else:
        version = resolve(client, ref)
        run_id = version.run_id
    run = _get_run(client, run_id)
    tags = run.data.tags
    experiment = client.get_experiment(run.info.experiment_id)
    splits = {
        k.rsplit(".", 1)[1]: v for k, v in tags.items() if k.startswith("dml.dataset.digest.")
    }
    inputs = [
        {
            "name": d.dataset.name,
            "digest": d.dataset.digest,
            "context": next((t.value for t in d.tags if t.key == "mlflow.data.context"), None),
        }
        for d in (run.inputs.dataset_inputs if run.inputs else [])
    ]
    history = (
        [t.__dict__ for t in audit.read(client, version.name) if t.version == str(version.version)]
        if version is not None
        else []
    )
    data = {
        "model": _model_part(version, ref.logged_model),
        "run": {
            "id": run.info.run_id,
            "name": run.info.run_name,
            "status": run.info.status,
            "started": when(run.info.start_time),
            "experiment": experiment.name,
            "experiment_id": run.info.experiment_id,
        },
        "config": {
            "sha256": tags.get("dml.config_sha256"),
            "snapshot": f"runs:/{run.info.run_id}/config/config.yaml",
            "estimator": tags.get("dml.estimator"),
            "task": tags.get("dml.task"),
        },
        "data": {
            "name": tags.get("dml.dataset.name"),
            "source": tags.get("dml.dataset.source"),
            "digests": splits,
            "inputs": inputs,
        },
        "code": {
            "git_commit": tags.get("dml.git.commit"),
            "git_dirty": tags.get("dml.git.dirty"),
            "package_version": tags.get("dml.version"),
        },
        "promotion": {"decision": tags.get("dml.promotion"), "history": history},
    }
    lines = [
        f"model      {_model_line(data['model'])}",
        f"run        {run.info.run_id} ({run.info.status}, {data['run']['started']}) "
        f"in experiment '{experiment.name}'",
        f"config     sha256 {data['config']['sha256']}",
        f"           {data['config']['snapshot']}  ({data['config']['estimator']}, "
        f"{data['config']['task']})",
        f"data       {data['data']['name']} from {data['data']['source']}",
        *[f"           {split:6s} digest {digest}" for split, digest in sorted(splits.items())],
        f"code       git {data['code']['git_commit'] or '(not in a git repository)'}"
        + (" (dirty)" if data["code"]["git_dirty"] == "true" else "")
        + f", declarative_ml {data['code']['package_version']}",
        "promotion",
    ]
    # Each line holds values any MLflow client may have written (tags, names): one line each.
    lines = [printable(line) for line in lines]
    lines.append(
        table(
            [
                {
                    "when": when(h["when_ms"]),
                    "from": h["from_stage"],
                    "to": h["to_stage"],
                    "who": h["who"],
                    "why": h["why"],
                }
                for h in history
            ],
            ["when", "from", "to", "who", "why"],
        )
    )
    emit(data, as_json=args.json, text="\n".join(lines))


def _model_part(version: Any | None, logged_model: str | None) -> dict[str, Any]:
    """The ``model`` part of a lineage: the version, or (all but ``source`` None) a logged
    model that was never registered."""
    if version is None:
        return {"name": None, "version": None, "stage": None, "source": f"models:/{logged_model}"}
    return {
        "name": version.name,
        "version": str(version.version),
        "stage": version.tags.get("stage", "none"),
        "source": version.source,
    }


def _model_line(model: dict[str, Any]) -> str:
    if model["version"] is None:
        return f"logged model {model['source'].removeprefix('models:/')} (not registered)"
    return f"{model['name']} version {model['version']} (stage {model['stage']})"
