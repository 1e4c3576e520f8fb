"""``dml rules plan``: a dry run of a rules change.

For the current champion and the latest versions of an experiment's registered model it
decides each one with the rule file of this working tree and with the same file at a git
ref, and prints the two side by side (markdown, or JSON). It reads the registry and never
writes to it.
"""

from __future__ import annotations

from argparse import Namespace
from collections.abc import Mapping
from typing import Any

from declarative_ml.cli.output import emit
from declarative_ml.cli.rule_files import RuleFile, load_rule_yaml, read_at_ref
from declarative_ml.cli.rule_uses import Composed, compose_with_sources
from declarative_ml.errors import DeclarativeMLError, RuleError
from declarative_ml.rules import Decision, Evidence, confident_metrics, evaluate_rules, parse_gates
from declarative_ml.rules.report import failed, fate, noise_detail, rule_text


def _base_gates(composed: Composed, text: str | None, source: str) -> tuple[Any, str | None]:
    """The base rules (None when absent or invalid) and why they are absent."""
    from omegaconf import OmegaConf

    if text is None:
        return None, "not there (a new file)"
    try:
        data, _ = load_rule_yaml(text)
        if not isinstance(data, Mapping):
            raise RuleError(f"{source}: expected a mapping")
        # Resolve ${...} in the base rules against this config, as composition would.
        full = _container(composed.cfg, resolve=False)
        full["promotion"] = {k: v for k, v in data.items() if k != "defaults"}
        promotion = _container(OmegaConf.create(full).promotion, resolve=True)
        return parse_gates(promotion, source=source), None
    except Exception as exc:  # an old, broken file must not stop the plan
        return None, f"invalid: {' '.join(str(exc).split())}"


def _container(node: Any, *, resolve: bool) -> dict[str, Any]:
    """An OmegaConf mapping as a plain dict."""
    from omegaconf import OmegaConf

    return dict(OmegaConf.to_container(node, resolve=resolve))  # type: ignore[arg-type]


def _versions(client: Any, model_name: str, count: int) -> tuple[list[Any], dict[str, str]]:
    """The latest ``count`` versions plus the champion's, oldest first, and the aliases."""
    from mlflow.exceptions import MlflowException

    try:
        aliases = dict(client.get_registered_model(model_name).aliases or {})
    except MlflowException:
        return [], {}
    quoted = model_name.replace("'", "\\'")
    every = sorted(client.search_model_versions(f"name = '{quoted}'"), key=lambda v: int(v.version))
    keep = {str(v.version) for v in every[-count:]} if count > 0 else set()
    keep.add(str(aliases.get("production", "")))
    return [v for v in every if str(v.version) in keep], aliases


def _run_metrics(client: Any, run_id: str | None) -> dict[str, float]:
    from mlflow.exceptions import MlflowException

    try:
        return dict(client.get_run(run_id).data.metrics) if run_id else {}
    except MlflowException:
        return {}


def _side(decision: Decision | None) -> dict[str, Any] | None:
    if decision is None:
        return None
    return {
        "fate": fate(decision),
        "failed": [f.to_dict() for f in failed(decision, first_gate_only=True)],
        "held_beyond_noise": [
            {"gate": name, "rule": rule_text(o.text), "detail": noise_detail(o.noise)}
            for name, gate in decision.gates.items()
            for o in gate.outcomes
            if o.noise is not None and o.held
        ],
    }


def _undecided(error: str) -> dict[str, Any]:
    return {"fate": "undecided", "failed": [], "held_beyond_noise": [], "error": error}


def _evidence(
    client: Any, model_name: str, version: Any, against: Any, sides: list[Any], context: Any
) -> Evidence:
    """Both models on shared rows, for the rules with ``confidence`` of either side."""
    from declarative_ml.cli.version_evidence import version_evidence

    gates = {
        gate: [rule for side in sides if side is not None for rule in side.get(gate, ())]
        for gate in ("register", "staging", "production")
    }
    if against is None or not confident_metrics(gates):
        return Evidence()
    promotion, scorer = context
    return version_evidence(
        client,
        gates,
        model_name=model_name,
        version=version,
        champion=against,
        promotion=promotion,
        scorer=scorer,
    )


def plan_rows(
    client: Any,
    model_name: str,
    branch: Any,
    base: Any,
    count: int,
    promotion: Mapping[str, Any] | None = None,
) -> list[dict[str, Any]]:
    """Decide each version with both rule sets; reads the registry, never writes to it.

    Each version is decided as a new candidate against the current champion; the
    champion itself against no champion (rules reading ``champion.*`` pass). Rules with
    ``confidence`` are decided on both models scored on shared rows (``promotion``'s
    ``new_data`` and ``bootstrap`` settings); a version for which no such rows exist
    is shown undecided, with why.
    """
    from declarative_ml.evidence import Scorer
    from declarative_ml.registry.apply import find_champion

    versions, aliases = _versions(client, model_name, count)
    champion = find_champion(client, model_name) if versions else None
    context = (promotion, Scorer())
    rows = []
    for version in versions:
        number = str(version.version)
        metrics = _run_metrics(client, version.run_id)
        against = champion if champion is not None and champion.version != number else None
        champion_metrics = against.metrics if against else None
        try:
            evidence = _evidence(client, model_name, version, against, [branch, base], context)
        except DeclarativeMLError as exc:
            error = " ".join(str(exc).split())
            now_side, base_side = _undecided(error), _undecided(error) if base is not None else None
            rows.append(_row(version, aliases, against, base_side, now_side, changed=False))
            continue
        now = evaluate_rules(branch, metrics, champion_metrics, evidence)
        before = (
            evaluate_rules(base, metrics, champion_metrics, evidence) if base is not None else None
        )
        changed = before is not None and fate(before) != fate(now)
        rows.append(_row(version, aliases, against, _side(before), _side(now), changed=changed))
    return rows


def _row(
    version: Any,
    aliases: dict[str, str],
    against: Any,
    base: dict[str, Any] | None,
    branch: dict[str, Any] | None,
    *,
    changed: bool,
) -> dict[str, Any]:
    number = str(version.version)
    return {
        "version": number,
        "run_id": version.run_id,
        "current_stage": version.tags.get("stage", "none"),
        "aliases": sorted(a for a, v in aliases.items() if str(v) == number),
        "compared_with": against.version if against else None,
        "base": base,
        "branch": branch,
        "changed": changed,
    }


def _cell(side: dict[str, Any] | None, missing: str) -> str:
    if side is None:
        return missing
    if side.get("error"):
        return f"**{side['fate']}**: {side['error']}".replace("|", "\\|")
    failed = [f"{f['gate']}: `{f['rule']}` ({f['detail']})" for f in side["failed"]]
    text = f"**{side['fate']}**" + (f"; failed {'; '.join(failed)}" if failed else "")
    held = [f"{f['gate']}: `{f['rule']}` ({f['detail']})" for f in side["held_beyond_noise"]]
    text += f"; held {'; '.join(held)}" if held else ""
    return text.replace("|", "\\|")


def plan_markdown(
    rows: list[dict[str, Any]], *, model_name: str, rule_file: RuleFile, base: str, note: str | None
) -> str:
    """The plan as markdown, ready to paste into a pull request."""
    champion = next((r["version"] for r in rows if "production" in r["aliases"]), None)
    lines = [
        f"### Promotion rules plan: `{model_name}`",
        "",
        f"- rules: `{rule_file.source}` (`{rule_file.display}`), this working tree vs `{base}`",
        f"- champion: {f'version {champion}' if champion else 'none'}; each version is decided "
        "as a new candidate against it (the champion itself against no champion)",
        "- dry run: nothing in the registry was changed",
        "",
        f"| version | current stage | decision at `{base}` | decision on this branch | changed |",
        "| --- | --- | --- | --- | --- |",
    ]
    for row in rows:
        stage = row["current_stage"] + "".join(f" @{a}" for a in row["aliases"])
        changed = "**yes**" if row["changed"] else ""
        cells = [row["version"], stage, _cell(row["base"], f"({note})"), _cell(row["branch"], "")]
        lines.append("| " + " | ".join([*cells, changed]) + " |")
    if not rows:
        summary = f"No versions of `{model_name}` yet: nothing to decide."
    elif note:
        summary = f"Nothing to compare: at `{base}`, `{rule_file.source}` is {note}."
    else:
        summary = f"**{sum(r['changed'] for r in rows)} of {len(rows)} versions change fate.**"
    return "\n".join([*lines, "", summary])


def rules_plan(client: Any, args: Namespace) -> None:
    """Dry run: what this working tree's rules decide beside the rules at ``--base``.

    The store: ``--tracking-uri``, else the composed ``tracking.uri`` (an override), else
    ``$MLFLOW_TRACKING_URI``, else MLflow's default; it must exist (``client`` is unused).
    """
    from declarative_ml.cli.run_config import with_config_dir
    from declarative_ml.cli.stores import open_store
    from declarative_ml.config.compose import ConfigLocation

    location = with_config_dir(ConfigLocation(), getattr(args, "config_dir", None))
    composed = compose_with_sources(args.overrides, location=location)
    rule_file = composed.rule_file()
    promotion = _container(composed.cfg.promotion, resolve=True)
    branch = parse_gates(promotion, source=rule_file.source)
    base_ref = args.base or "HEAD"
    base, note = _base_gates(composed, read_at_ref(rule_file.path, base_ref), rule_file.source)
    uri = composed.cfg.tracking.get("uri")
    if uri and args.tracking_uri is None:  # a tracking.uri override picks the store
        client = open_store(str(uri), key="tracking.uri")
    else:
        client = open_store(args.tracking_uri)
    model_name = str(promotion["model_name"])
    rows = plan_rows(client, model_name, branch, base, args.candidates, promotion)
    text = plan_markdown(rows, model_name=model_name, rule_file=rule_file, base=base_ref, note=note)
    emit(rows, as_json=args.json, text=text)
