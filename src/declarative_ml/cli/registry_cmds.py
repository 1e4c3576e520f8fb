"""``dml models``, ``metrics``, ``promote``, ``archive``, ``rollback``, ``history``."""

from __future__ import annotations

import re
from argparse import Namespace
from typing import Any

from declarative_ml.cli.output import emit, table, when
from declarative_ml.cli.refs import get_model, parse_ref, resolve, run_of
from declarative_ml.errors import RegistryError, RuleError
from declarative_ml.messages import printable
from declarative_ml.registry import audit
from declarative_ml.registry.apply import already_at, find_champion, set_stage
from declarative_ml.registry.lock import is_lock_model, registry_lock

_RUN_ID = re.compile(r"^[0-9a-f]{32}$")


def _version_row(version: Any, aliases: dict[str, str] | None = None) -> dict[str, Any]:
    # search results carry no aliases; the registered model's alias map is authoritative
    held = (
        sorted(a for a, v in (aliases or {}).items() if str(v) == str(version.version))
        if aliases is not None
        else sorted(version.aliases or [])
    )
    return {
        "version": str(version.version),
        "stage": version.tags.get("stage", "none"),
        "aliases": ",".join(f"@{a}" for a in held),
        "run_id": version.run_id,
        "created": when(version.creation_timestamp),
    }


def models_list(client: Any, args: Namespace) -> None:
    """Registered models, or the versions of one model."""
    if args.name:
        model = get_model(client, args.name)
        versions = sorted(
            client.search_model_versions(f"name = '{args.name}'"), key=lambda v: int(v.version)
        )
        rows = [_version_row(v, dict(model.aliases or {})) for v in versions]
        emit(
            rows,
            as_json=args.json,
            text=table(rows, ["version", "stage", "aliases", "run_id", "created"]),
        )
        return
    rows = []
    for model in client.search_registered_models():
        if is_lock_model(model.name):
            continue
        aliases = model.aliases or {}
        rows.append(
            {
                "name": model.name,
                "latest": max((int(v.version) for v in model.latest_versions), default=None),
                "production": aliases.get("production"),
                "staging": aliases.get("staging"),
                "updated": when(model.last_updated_timestamp),
            }
        )
    rows.sort(key=lambda r: r["name"])
    emit(
        rows,
        as_json=args.json,
        text=table(rows, ["name", "latest", "production", "staging", "updated"]),
    )


def models_show(client: Any, args: Namespace) -> None:
    """One version: stage, aliases, run, source, tags, run metrics and the decision report."""
    ref = parse_ref(args.ref)
    version = resolve(client, ref)
    run = client.get_run(version.run_id) if version.run_id else None
    data = {
        **_version_row(version),
        "name": version.name,
        "source": version.source,
        "tags": dict(version.tags),
        "metrics": dict(run.data.metrics) if run else {},
        "description": version.description or "",
    }
    lines = [
        f"{version.name} version {version.version}  stage={data['stage']}  "
        f"aliases={data['aliases'] or '-'}",
        f"run: {version.run_id}   created: {data['created']}",
        f"source: {version.source}",
        "",
    ]
    lines += [f"  {k:28s} {v:.6g}" for k, v in sorted(data["metrics"].items())]
    lines = [printable(line) for line in lines]  # names and tags: any client may write them
    if data["description"]:  # a markdown block: its lines are kept, control characters not
        lines += ["", printable(data["description"], keep_newlines=True)]
    emit(data, as_json=args.json, text="\n".join(lines))


def metrics(client: Any, args: Namespace) -> None:
    """The metrics of a run (by id) or of the run behind a model reference (a version, or
    the ``models:/m-<id>`` logged model a run prints)."""
    target = args.target
    run_id = target if _RUN_ID.match(target) else run_of(client, parse_ref(target))
    from mlflow.exceptions import MlflowException

    try:
        values = client.get_run(run_id).data.metrics
    except MlflowException:
        raise RegistryError(f"no run '{run_id}' in this tracking store") from None
    rows = [{"metric": k, "value": v} for k, v in sorted(values.items())]
    emit(dict(sorted(values.items())), as_json=args.json, text=table(rows, ["metric", "value"]))


def _rules_from_run(client: Any, run_id: str) -> dict[str, list[Any]]:
    from declarative_ml.cli.run_config import stored_config
    from declarative_ml.rules import parse_gates

    cfg = stored_config(client, run_id)
    return parse_gates(cfg.promotion, source=f"run {run_id} config/config.yaml: promotion")


def promote(client: Any, args: Namespace) -> None:
    """Move a version to staging or production after checking the rules (or ``--force``)."""
    from declarative_ml.rules import evaluate_rules, report

    if args.force and not args.reason:
        raise RegistryError("promote --force needs --reason TEXT (it goes into the audit trail)")
    get_model(client, args.name)
    with registry_lock(client, args.name):
        version = resolve(client, parse_ref(f"{args.name}/{args.version}"))
        if already_at(version, args.to):  # before the rules: it would be its own champion
            _print_transitions([], args, version=str(version.version), stage=args.to)
            return
        why = args.reason or f"manual promotion; {args.to} rules held"
        rules, noise = None, []
        if not args.force:
            gates = _rules_from_run(client, version.run_id)
            champion = find_champion(client, args.name)
            candidate = client.get_run(version.run_id).data.metrics
            evidence = _evidence(client, gates, args.name, version, champion)
            decision = evaluate_rules(
                gates, candidate, champion.metrics if champion else None, evidence
            )
            if not decision.reached(args.to):
                failed = [f"{f.gate}: {f.rule} ({f.detail})" for f in report.failed(decision)]
                raise RuleError(
                    f"version {args.version} of '{args.name}' fails the {args.to} "
                    f"rules: {'; '.join(failed)} (override: --force --reason TEXT)"
                )
            rules = decision.summary()
            noise = report.noise_lines(decision)
        made = set_stage(client, args.name, str(version.version), args.to, why=why, rules=rules)
    _print_transitions(made, args, version=str(version.version), stage=args.to)
    if noise and not args.json:  # what the rules with confidence were decided on
        emit([], as_json=False, text="\n".join(noise))


def _evidence(client: Any, gates: Any, name: str, version: Any, champion: Any) -> Any:
    """For rules with ``confidence``: the version and the champion on shared rows."""
    from declarative_ml.cli.version_evidence import version_evidence

    return version_evidence(client, gates, model_name=name, version=version, champion=champion)


def archive(client: Any, args: Namespace) -> None:
    """Archive a version (it loses any alias it holds)."""
    get_model(client, args.name)
    with registry_lock(client, args.name):
        made = set_stage(
            client, args.name, args.version, "archived", why=args.reason or "archived by hand"
        )
    _print_transitions(made, args, version=args.version, stage="archived")


def rollback(client: Any, args: Namespace) -> None:
    """Give ``@production`` back to the version that held it before the current one."""
    get_model(client, args.name)
    with registry_lock(client, args.name):
        champion = find_champion(client, args.name)
        holders = [t.version for t in audit.read(client, args.name) if t.to_stage == "production"]
        if champion is None:  # nothing to roll back from: say so, write nothing
            last = f"; version {holders[-1]} held it last" if holders else ""
            put_back = (
                f" (to put it back: dml promote {args.name} {holders[-1]} --to production)"
                if holders
                else ""
            )
            raise RegistryError(
                f"model '{args.name}' has no version at @production, so there is nothing to "
                f"roll back from{last}{put_back}"
            )
        current = champion.version
        earlier = [v for v in holders if v != current]
        if not earlier:
            raise RegistryError(
                f"model '{args.name}' has no earlier production version "
                f"to roll back to (current: {current})"
            )
        target = earlier[-1]
        made = set_stage(
            client,
            args.name,
            target,
            "production",
            why=args.reason or f"rollback from version {current}",
        )
    _print_transitions(made, args, version=target, stage="production")


def history(client: Any, args: Namespace) -> None:
    """The audit trail of a model, oldest first."""
    get_model(client, args.name)
    entries = audit.read(client, args.name)
    rows = [
        {
            "when": when(t.when_ms),
            "version": t.version,
            "from": t.from_stage,
            "to": t.to_stage,
            "who": t.who,
            "why": t.why,
        }
        for t in entries
    ]
    data = [t.__dict__ for t in entries]
    emit(data, as_json=args.json, text=table(rows, ["when", "version", "from", "to", "who", "why"]))


def _print_transitions(
    made: list[audit.Transition], args: Namespace, *, version: str, stage: str
) -> None:
    """The transitions as a table; for a no-op (none made), a line saying so."""
    if not made:
        where = stage if stage == "archived" else f"at @{stage}"
        text = f"version {version} of '{args.name}' is already {where}: nothing changed"
        emit([], as_json=args.json, text=text)
        return
    rows = [
        {"version": t.version, "from": t.from_stage, "to": t.to_stage, "why": t.why} for t in made
    ]
    emit(
        [t.__dict__ for t in made],
        as_json=args.json,
        text=table(rows, ["version", "from", "to", "why"]),
    )
