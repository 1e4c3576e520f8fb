"""``dml rules check`` (validate rule files) and ``dml rules plan`` (a dry run of a rule change).

``check`` needs no store: it reads YAML, parses every rule and checks its names
against what the experiments using the file log. ``plan`` reads the registry and
never writes to it: it decides each recent version with this working tree's rules
and with the same file at a git ref, and prints the two side by side.
"""

from __future__ import annotations

import difflib
import re
from argparse import Namespace
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

from declarative_ml.cli.output import emit
from declarative_ml.errors import RuleError
from declarative_ml.rules import (
    GATES,
    Decision,
    Rule,
    evaluate_rules,
    parse_gates,
    parse_rule,
    parse_rule_spec,
    unknown_rule_names,
)
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


def _top_keys() -> tuple[str, ...]:
    """The keys a rule file may hold: Hydra's defaults list and the promotion schema's."""
    from dataclasses import fields

    from declarative_ml.config.schema import PromotionConfig

    return ("defaults", *(f.name for f in fields(PromotionConfig)))


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


def _parse_all(
    rule_file: RuleFile, data: Any, lines: dict[str, int]
) -> tuple[list[Finding], dict[str, list[Rule]] | None]:
    """Every shape and grammar error (not only the first), and the rules that parsed.

    A rule that does not parse is replaced by ``0 == 0``, which reads no metric, so
    the names of the others are still checked and keep their indexes.
    """
    source = rule_file.source

    def at(key: str, message: str) -> Finding:
        return Finding(rule_file.display, lines.get(key, 1), message)

    if not isinstance(data, Mapping):
        try:
            parse_gates(data, source=source)
        except RuleError as exc:
            return [at("", str(exc))], None
    findings = []
    if rule_file.root is None:  # in a promotion/ folder, composition checks the keys
        allowed = _top_keys()
        for key in (str(k) for k in data if k not in allowed):
            close = difflib.get_close_matches(key, allowed, n=1)
            hint = f"did you mean {close[0]!r}? " if close else ""
            message = f"{source}: unknown key {key!r}; {hint}allowed: {', '.join(allowed)}"
            findings.append(at(key, message))
    gates: dict[str, list[Rule]] = {}
    for gate in GATES:
        items, gates[gate] = data.get(gate), []
        if items is not None and not isinstance(items, list):
            try:
                parse_gates({gate: items}, source=source)
            except RuleError as exc:
                findings.append(at(gate, str(exc)))
            continue
        for index, item in enumerate(items or []):
            where = f"{source}: {gate}[{index}]"
            try:
                gates[gate].append(parse_rule_spec(item, where=where))
            except RuleError as exc:
                findings.append(at(f"{gate}[{index}]", str(exc)))
                gates[gate].append(parse_rule("0 == 0", where=where))
    return findings, gates


def _key_line(message: str, lines: dict[str, int]) -> int:
    """The line of the top-level key a composition error names (``promotion.KEY``), else 1."""
    key = re.match(r"promotion\.(\w+)", message)
    return lines.get(key.group(1), 1) if key else 1


def read_rule_text(rule_file: RuleFile) -> str:
    """A rule file's text.

    Raises:
        RuleYAMLError: when it cannot be read or is not UTF-8 (YAML's encoding), with
            the line of the first undecodable byte, so the check goes on with other files.
    """
    try:
        raw = rule_file.path.read_bytes()
    except OSError as exc:
        raise RuleYAMLError(f"cannot read the file: {exc.strerror or exc}", 1) from None
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        raise RuleYAMLError(
            f"not UTF-8 text: byte 0x{raw[exc.start]:02x} at offset {exc.start}; "
            "save the file as UTF-8",
            line,
        ) from None


def check_rule_file(rule_file: RuleFile, cache: dict[Any, Any] | None = None) -> list[Finding]:
    """All errors in one rule file: YAML, grammar, keys, metric names per experiment using it.

    A file no experiment uses is composed on its own (``promotion=<option>``) for
    its keys and checked against every metric name any task logs, so a typo is
    still caught.
    """
    from declarative_ml.errors import ConfigError

    display, source = rule_file.display, rule_file.source
    try:
        text = read_rule_text(rule_file)
        data, lines = load_rule_yaml(text)
    except RuleYAMLError as exc:
        return [Finding(display, exc.line, f"{source}: {exc}")]
    findings, gates = _parse_all(rule_file, data, lines)
    if gates is None:
        return findings
    uses = experiments_using(rule_file, cache)
    problems: dict[str, list[str]] = {}  # message -> the configs it applies to
    for use in uses:
        for message in use.untrusted:  # what the run would refuse before Hydra acts on it
            top = message.split(".", 1)[0].split(":", 1)[0]
            findings.append(Finding(display, lines.get(top, 1), f"{message} ({use.label})"))
        if use.error is None:
            for message in unknown_rule_names(gates, use.known, source=source):
                problems.setdefault(message, []).append(use.label)
        elif use.error.startswith("promotion.") or source in use.error:
            findings.append(Finding(display, _key_line(use.error, lines), use.error))
        else:
            where = display_path(use.path) if use.path else display
            findings.append(Finding(where, 1, f"{use.label} does not compose: {use.error}"))
    if not uses:
        if rule_file.root is not None:
            try:
                alone = compose_with_sources(
                    [*searchpath_overrides(rule_file), f"promotion={rule_file.option}"]
                )
            except ConfigError as exc:
                findings.append(Finding(display, _key_line(str(exc), lines), str(exc)))
            else:
                for message in alone.untrusted:
                    top = message.split(".", 1)[0].split(":", 1)[0]
                    findings.append(Finding(display, lines.get(top, 1), message))
        known = all_metric_names(bool(data.get("new_data")))
        for message in unknown_rule_names(gates, known, source=source):
            problems[message] = ["no experiment uses this file: checked against every metric"]
    for message, labels in problems.items():
        gate, index = re.findall(re.escape(source) + r": (\w+)\[(\d+)\]", message)[0]
        line = lines.get(f"{gate}[{index}]", 1)
        findings.append(Finding(display, line, f"{message} ({', '.join(labels)})"))
    return sorted(set(findings), key=lambda f: (f.file, f.line, f.message))


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
        raise RulesCheckFailed(f"{len(findings)} error(s) in promotion rule files")


# --- plan -------------------------------------------------------------------


def fate(decision: Decision) -> str:
    """``production``, ``staging``, ``none`` (registered only) or ``not registered``."""
    if not decision.register:
        return "not registered"
    return decision.target_stage


def failed_rules(decision: Decision) -> list[dict[str, str]]:
    """The failed rules of the first gate that failed: gate, rule and values (or reason)."""
    for name, gate in decision.gates.items():
        failed = [o for o in gate.outcomes if not o.held]
        if failed:
            return [
                {
                    "gate": name,
                    "rule": " ".join(o.text.split()),
                    "detail": o.reason or f"{o.left:.4g} vs {o.right:.4g}",
                }
                for o in failed
            ]
    return []


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
    failed = [f"{f['gate']}: `{f['rule']}` ({f['detail']})" for f in side["failed"]]
    text = f"**{side['fate']}**" + (f"; failed {'; '.join(failed)}" if failed else "")
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
    rows = plan_rows(client, model_name, branch, base, args.candidates)
    text = plan_markdown(rows, model_name=model_name, rule_file=rule_file, base=base_ref, note=note)
    emit(rows, as_json=args.json, text=text)
