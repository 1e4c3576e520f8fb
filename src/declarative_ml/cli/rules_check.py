"""``dml rules check``: validate promotion rule files, with no store.

It reads YAML, parses every rule, checks its names against what the experiments using
the file log, and reports what the trust checks (``config/guard.py``) would refuse in
each of those experiments. Each error is one ``path:line: message`` line (or a GitHub
annotation); the command exits 1 on any.
"""

from __future__ import annotations

import difflib
import re
from argparse import Namespace
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

from declarative_ml.cli.output import emit
from declarative_ml.cli.rule_files import (
    RuleFile,
    RuleYAMLError,
    display_path,
    load_rule_yaml,
    locate_rule_file,
    package_rule_files,
)
from declarative_ml.cli.rule_uses import (
    all_metric_names,
    compose_with_sources,
    experiments_using,
    searchpath_overrides,
)
from declarative_ml.errors import RuleError
from declarative_ml.rules import (
    GATES,
    Rule,
    parse_gates,
    parse_rule,
    parse_rule_spec,
    unknown_rule_names,
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
    findings += [at("bootstrap", message) for message in _bootstrap_problems(data, source)]
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


def _bootstrap_problems(data: Mapping[str, Any], source: str) -> list[str]:
    """``bootstrap:`` settings out of range (the types are the schema's, at composition)."""
    from types import SimpleNamespace

    from declarative_ml.config.checks import check_bootstrap
    from declarative_ml.errors import ConfigError

    settings = data.get("bootstrap")
    if not isinstance(settings, Mapping):
        return []
    # ${seed} and other interpolations are resolved by composition; integers are checked here.
    values = {
        key: value if isinstance(value, int) and not isinstance(value, bool) else default
        for key, default in (("resamples", 2000), ("seed", 0))
        for value in [settings.get(key, default)]
    }
    try:
        check_bootstrap(SimpleNamespace(**values))
    except ConfigError as exc:
        return [f"{source}: {exc}"]
    return []


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
