"""``dml rules check`` (validate rule files) and ``dml rules plan`` (a dry run of a rule change).

``check`` needs no store: it reads YAML, parses every rule and checks its names
against what the experiments using the file log. ``plan`` reads the registry and
never writes to it: it decides each recent version with this working tree's rules
and with the same file at a git ref, and prints the two side by side.
"""

from __future__ import annotations

import re
from argparse import Namespace
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

from declarative_ml.cli.output import emit
from declarative_ml.errors import RuleError
from declarative_ml.rules import GATES, Decision, evaluate_rules, parse_gates, parse_rule_spec
from declarative_ml.rules.files import (
    Composed,
    RuleFile,
    RuleYAMLError,
    all_metric_names,
    compose_with_sources,
    display_path,
    experiments_using,
    load_rule_yaml,
    locate_rule_file,
    package_rule_files,
    read_at_ref,
    searchpath_overrides,
)

_TOP_KEYS = ("defaults", "enabled", "model_name", "new_data", *GATES)


class RulesCheckFailed(RuleError):
    """``dml rules check`` found errors (already printed); the command exits 1."""

    exit_code = 1


@dataclass(frozen=True)
class Finding:
    """One error in a rule file: where (1-based line) and what."""

    file: str
    line: int
    message: str

    def render(self, github: bool) -> str:
        """``path:line: message``, or a GitHub ``::error`` workflow command."""
        if not github:
            return f"{self.file}:{self.line}: {self.message}"
        prop = _gh_escape(self.file, ",:")
        return f"::error file={prop},line={self.line}::{_gh_escape(self.message, '')}"


def _gh_escape(text: str, extra: str) -> str:
    """Escape for a workflow command (``%``, line breaks; ``,`` ``:`` in properties)."""
    text = text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
    for char in extra:
        text = text.replace(char, f"%{ord(char):02X}")
    return text


def _syntax_findings(rule_file: RuleFile, data: Any, lines: dict[str, int]) -> list[Finding]:
    """Every shape and grammar error in a loaded rule file, not only the first."""
    source = rule_file.source
    if not isinstance(data, Mapping):
        try:
            parse_gates(data, source=source)
        except RuleError as exc:
            return [Finding(rule_file.display, 1, str(exc))]
    findings = []
    for key in data:
        if key not in _TOP_KEYS:
            message = f"{source}: unknown key {key!r}; allowed: {', '.join(_TOP_KEYS)}"
            findings.append(Finding(rule_file.display, lines.get(str(key), 1), message))
    for gate in GATES:
        items = data.get(gate)
        if not isinstance(items, list):
            try:
                parse_gates({gate: items}, source=source)
            except RuleError as exc:
                findings.append(Finding(rule_file.display, lines.get(gate, 1), str(exc)))
            continue
        for index, item in enumerate(items):
            try:
                parse_rule_spec(item, where=f"{source}: {gate}[{index}]")
            except RuleError as exc:
                line = lines.get(f"{gate}[{index}]", lines.get(gate, 1))
                findings.append(Finding(rule_file.display, line, str(exc)))
    return findings


def check_rule_file(rule_file: RuleFile, cache: dict[Any, Any] | None = None) -> list[Finding]:
    """All errors in one rule file: YAML, grammar, then metric names per experiment using it.

    A file no experiment uses is checked against every metric name any task logs
    (so a typo is still caught) and composed on its own for the schema.
    """
    from declarative_ml.errors import ConfigError

    try:
        data, lines = load_rule_yaml(rule_file.path.read_text(encoding="utf-8"))
    except RuleYAMLError as exc:
        return [Finding(rule_file.display, exc.line, f"{rule_file.source}: {exc}")]
    findings = _syntax_findings(rule_file, data, lines)
    if findings:
        return findings
    gates = parse_gates(data, source=rule_file.source)
    uses = experiments_using(rule_file, cache)
    problems: dict[str, list[str]] = {}  # message -> the configs it applies to
    for use in uses:
        if use.error is None:
            for message in _unknown_names(gates, use.known, rule_file.source):
                problems.setdefault(message, []).append(use.label)
            continue
        key = re.match(r"promotion\.(\w+)", use.error)
        if key or rule_file.source in use.error:
            line = lines.get(key.group(1), 1) if key else 1
            findings.append(Finding(rule_file.display, line, f"{use.label}: {use.error}"))
        else:
            where = display_path(use.path) if use.path else rule_file.display
            findings.append(Finding(where, 1, f"{use.label} does not compose: {use.error}"))
    if not uses:
        if rule_file.root is not None:
            overrides = [*searchpath_overrides(rule_file), f"promotion={rule_file.option}"]
            try:
                compose_with_sources(overrides)
            except ConfigError as exc:
                key = re.match(r"promotion\.(\w+)", str(exc))
                findings.append(
                    Finding(rule_file.display, lines.get(key.group(1), 1) if key else 1, str(exc))
                )
        known = all_metric_names(bool(data.get("new_data")))
        for message in _unknown_names(gates, known, rule_file.source):
            problems[message] = ["no experiment uses this file; checked against every metric"]
    for message, labels in problems.items():
        gate, index = re.findall(re.escape(rule_file.source) + r": (\w+)\[(\d+)\]", message)[0]
        line = lines.get(f"{gate}[{index}]", 1)
        findings.append(Finding(rule_file.display, line, f"{message} ({', '.join(labels)})"))
    return sorted(findings, key=lambda f: (f.file, f.line))


def _unknown_names(gates: Mapping[str, Any], known: Any, source: str) -> list[str]:
    from declarative_ml.rules import unknown_rule_names

    return unknown_rule_names(gates, known, source=source)


def rules_check(client: Any, args: Namespace) -> None:
    """Validate rule files; print one line per error and exit 1 when there is any."""
    files = [locate_rule_file(f) for f in args.files] if args.files else package_rule_files()
    cache: dict[Any, Any] = {}
    findings = [f for rule_file in files for f in check_rule_file(rule_file, cache)]
    summary = f"{len(files)} file(s) checked, {len(findings)} error(s)"
    text = "\n".join([*(f.render(args.github) for f in findings), summary])
    data = {"files": [f.display for f in files], "errors": [asdict(f) for f in findings]}
    emit(data, as_json=args.json, text=text)
    if findings:
        raise RulesCheckFailed(summary)


# --- plan -------------------------------------------------------------------


def fate(decision: Decision) -> str:
    """``production``, ``staging``, ``none`` (registered only) or ``not registered``."""
    if not decision.register:
        return "not registered"
    return decision.target_stage


def failed_rules(decision: Decision) -> list[str]:
    """The failed rules of the first gate that failed, with their values."""
    for name, gate in decision.gates.items():
        failed = [o for o in gate.outcomes if not o.held]
        if failed:
            return [
                f"{name}: {' '.join(o.text.split())} "
                + (f"({o.reason})" if o.reason else f"({o.left:.4g} vs {o.right:.4g})")
                for o in failed
            ]
    return []


def _base_gates(composed: Composed, text: str | None, source: str) -> tuple[Any, str | None]:
    """The base rules (None when absent or invalid) and why they are absent."""
    from omegaconf import OmegaConf

    if text is None:
        return None, "(new file)"
    try:
        data, _ = load_rule_yaml(text)
        if not isinstance(data, Mapping):
            raise RuleError(f"{source}: expected a mapping")
        # Resolve ${...} in the base rules against this config, as composition would.
        full = OmegaConf.to_container(composed.cfg, resolve=False)
        full["promotion"] = {k: v for k, v in data.items() if k != "defaults"}  # type: ignore[index]
        promotion = OmegaConf.to_container(OmegaConf.create(full).promotion, resolve=True)
        return parse_gates(promotion, source=source), None  # type: ignore[arg-type]
    except Exception as exc:  # an old, broken file must not stop the plan
        return None, f"(invalid: {' '.join(str(exc).split())})"


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
    return {"fate": fate(decision), "failed": failed_rules(decision)}


def plan_rows(
    client: Any, model_name: str, branch: Any, base: Any, count: int
) -> list[dict[str, Any]]:
    """Decide each version with both rule sets; reads the registry, never writes to it.

    Each version is decided as a new candidate against the current champion; the
    champion itself against no champion (rules reading ``champion.*`` pass).
    """
    from declarative_ml.registry.apply import find_champion

    versions, aliases = _versions(client, model_name, count)
    champion = find_champion(client, model_name) if versions else None
    rows = []
    for version in versions:
        number = str(version.version)
        metrics = _run_metrics(client, version.run_id)
        against = champion if champion is not None and champion.version != number else None
        champion_metrics = against.metrics if against else None
        now = evaluate_rules(branch, metrics, champion_metrics)
        before = evaluate_rules(base, metrics, champion_metrics) if base is not None else None
        rows.append(
            {
                "version": number,
                "run_id": version.run_id,
                "current_stage": version.tags.get("stage", "none"),
                "aliases": sorted(a for a, v in aliases.items() if str(v) == number),
                "compared_with": against.version if against else None,
                "base": _side(before),
                "branch": _side(now),
                "changed": before is not None and fate(before) != fate(now),
            }
        )
    return rows


def _cell(side: dict[str, Any] | None, missing: str) -> str:
    if side is None:
        return missing
    text = f"**{side['fate']}**"
    if side["failed"]:
        text += " (failed " + "; ".join(f"`{f}`" for f in side["failed"]) + ")"
    return text.replace("|", "\\|")


def plan_markdown(
    rows: list[dict[str, Any]], *, model_name: str, rule_file: RuleFile, base: str, note: str | None
) -> str:
    """The plan as markdown, ready to paste into a pull request."""
    champion = next((r["version"] for r in rows if "production" in r["aliases"]), None)
    lines = [
        f"### Promotion rules plan: `{model_name}`",
        "",
        f"Rules `{rule_file.source}` (`{rule_file.display}`) on this branch vs `{base}`"
        + (f" {note}" if note else "")
        + f". Champion: {f'version {champion}' if champion else 'none'}. Each version is "
        "decided as a new candidate against the champion (the champion against none). "
        "Dry run: the registry is unchanged.",
        "",
        f"| version | current stage | decision at `{base}` | decision on this branch | changed |",
        "| --- | --- | --- | --- | --- |",
    ]
    for row in rows:
        stage = row["current_stage"] + "".join(f" @{a}" for a in row["aliases"])
        base_cell = _cell(row["base"], note or "")
        cells = [row["version"], stage, base_cell, _cell(row["branch"], ""), ""]
        cells[-1] = "**yes**" if row["changed"] else ""
        lines.append("| " + " | ".join(cells) + " |")
    changed = sum(r["changed"] for r in rows)
    lines += ["", f"**{changed} of {len(rows)} versions change fate.**"]
    if not rows:
        lines[-1] = f"No versions of `{model_name}` yet: nothing to decide."
    return "\n".join(lines)


def rules_plan(client: Any, args: Namespace) -> None:
    """Dry run: what this working tree's rules decide beside the rules at ``--base``."""
    from omegaconf import OmegaConf

    composed = compose_with_sources(args.overrides)
    rule_file = composed.rule_file()
    promotion = OmegaConf.to_container(composed.cfg.promotion, resolve=True)
    branch = parse_gates(promotion, source=rule_file.source)  # type: ignore[arg-type]
    base_ref = args.base or "HEAD"
    base, note = _base_gates(composed, read_at_ref(rule_file.path, base_ref), rule_file.source)
    uri = composed.cfg.tracking.get("uri")
    if uri and args.tracking_uri is None:  # a tracking.uri override picks the store
        from mlflow import MlflowClient

        from declarative_ml.registry.client import RegistryClient

        client = RegistryClient(MlflowClient(tracking_uri=uri))
    model_name = str(promotion["model_name"])  # type: ignore[index]
    rows = plan_rows(client, model_name, branch, base, args.candidates)
    text = plan_markdown(rows, model_name=model_name, rule_file=rule_file, base=base_ref, note=note)
    emit(rows, as_json=args.json, text=text)
