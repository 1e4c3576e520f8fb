"""Fuzzing: whatever a user writes ends in a result or one of our errors, never another exception.

Two inputs a user controls are fuzzed with hypothesis:

- promotion rules: arbitrary text and near-miss rules built from the grammar's tokens go
  through ``parse_rule``; a rule that parses is then evaluated against random metric
  dicts. Rule *files* (random YAML-ish documents) go through ``load_rule_yaml``,
  ``parse_gates`` and ``dml rules check``'s ``check_rule_file``.
- config overrides: lists of Hydra override strings (real keys and groups, typos,
  ``+``/``++``/``~`` prefixes, values of every kind) go the way the CLI takes them
  in-process: ``compose_config`` (which formats Hydra's and OmegaConf's exceptions with
  ``format_hydra_error``, as ``app.main`` does), then ``validate_config`` (as
  ``runner.train`` does first). Nothing of Hydra or OmegaConf is mocked.

Every error must be a ``DeclarativeMLError`` with a message of one line; a composition
error must also be one ``app.main`` classes as bad input (``is_config_error``), not an
unexpected failure. The default run uses ``EXAMPLES`` examples per property (set
``DML_FUZZ_EXAMPLES`` to change it); the ``slow`` tests run many more. A failure prints
a ``@reproduce_failure`` blob. Regression tests for the bugs fuzzing found are at the end.

The test suite (and so CI) draws the same examples on every run (hypothesis's
``derandomize``): it fails because of a change, never because a new input was drawn that
day. ``make fuzz`` (``DML_FUZZ=explore``) draws new random inputs, many more of them, to
find the next bug; each one found gets a regression test below.
"""

from __future__ import annotations

import functools
import json
import os
import string
import warnings
from collections.abc import Callable
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st
from hypothesis.control import currently_in_test_context
from omegaconf import OmegaConf

from declarative_ml.cli.rule_files import RuleYAMLError, load_rule_yaml, locate_rule_file
from declarative_ml.config.compose import compose_config
from declarative_ml.config.errors_hydra import format_hydra_error, is_config_error
from declarative_ml.config.resolvers import CONF_DIR
from declarative_ml.config.validate import Plan, validate_config
from declarative_ml.errors import ConfigError, DeclarativeMLError, RuleError
from declarative_ml.rules import (
    COMPARISONS,
    GATES,
    Decision,
    Rule,
    evaluate_rules,
    parse_gates,
    parse_rule,
    parse_rule_spec,
)

EXAMPLES = int(os.environ.get("DML_FUZZ_EXAMPLES", "150"))
SLOW_EXAMPLES = 2000
SLOW_FILE_EXAMPLES = 500
EXPLORE = os.environ.get("DML_FUZZ") == "explore"
_COMMON = {
    "derandomize": not EXPLORE,
    "deadline": None,
    "print_blob": True,
    "suppress_health_check": [HealthCheck.too_slow, HealthCheck.data_too_large],
}
FUZZ = settings(max_examples=EXAMPLES, **_COMMON)  # type: ignore[arg-type]
FUZZ_SLOW = settings(max_examples=SLOW_EXAMPLES, **_COMMON)  # type: ignore[arg-type]
# Composing takes ~60 ms, so the config properties run fewer examples than the parser's.
FUZZ_CONFIG = settings(max_examples=max(EXAMPLES // 2, 1), **_COMMON)  # type: ignore[arg-type]
FUZZ_CONFIG_SLOW = settings(max_examples=SLOW_EXAMPLES // 4, **_COMMON)  # type: ignore[arg-type]

DEBUG_FALLBACK = "(set DML_DEBUG=1 for the traceback)"


def assert_our_error(error: BaseException) -> str:
    """``error`` is one of ours and its message is one non-empty line; returns the message."""
    assert isinstance(error, DeclarativeMLError), f"{type(error).__name__}: {error}"
    message = str(error)
    if currently_in_test_context():
        note(f"message: {message!r}")
    assert message.strip(), "empty message"
    assert len(message.splitlines()) == 1, f"not one line: {message!r}"
    assert "Traceback" not in message
    assert not message.endswith(DEBUG_FALLBACK), f"an unexpected exception: {message!r}"
    return message


# --- rules: text --------------------------------------------------------------

METRIC_NAMES = ["test_roc_auc", "val_rmse", "model_size_mb", "a", "x_1", "_", "champion"]
NUMBERS = [
    "0", "1", "0.5", ".5", "5.", "1e3", "1E-3", "1e999", "1e-999", "9" * 400, "0" * 50 + "1",
    "nan", "inf", "-inf", "NaN", "Infinity", "-1", "--1", "+1", "0x10", "1_000", "1e", "1e+",
    "1.2.3", "1..2", "١٢", "１", "½", "1,5",
]  # fmt: skip
SYMBOLS = [
    "<", "<=", ">", ">=", "==", "!=", "=", "!", "=<", "=>", "<>", "===", "+", "-", "*", "/",
    "**", "//", "%", "^", "(", ")", "((", "))", "()", ".", "..", ",", ";", ":", "&&", "||",
    "and", "or", "not", "'x'", '"x"', "`", "$", "${x}", "{", "}", "[", "]", "#", "@", "\\",
    "champion.", "champion.a", "champion.champion", "f(", "abs(",
]  # fmt: skip
ODD = [
    " ", "  ", "\t", "\n", "\r\n", "\x00", "\x0b", "\x0c", "\x1c", "\x85", "\u2028", "\u00a0",
    "\u200b", "é", "ｔｅｓｔ", "𝟙", "\U0001f600", "\ufeff", "\ud800",
]  # fmt: skip

identifiers = st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,12}", fullmatch=True)
rule_tokens = st.one_of(
    st.sampled_from(METRIC_NAMES),
    st.sampled_from(NUMBERS),
    st.sampled_from(SYMBOLS),
    st.sampled_from(ODD),
    identifiers,
    identifiers.map(lambda name: f"champion.{name}"),
    st.floats().map(repr),
    st.integers().map(str),
    st.text(max_size=3),
)


@st.composite
def near_miss_rules(draw: st.DrawFn) -> str:
    """Grammar-shaped text: operands and comparisons recombined, then maybe mutated."""
    operand = st.one_of(st.sampled_from(METRIC_NAMES), st.sampled_from(NUMBERS), identifiers)
    parts = [draw(operand)]
    for _ in range(draw(st.integers(0, 6))):
        parts += [draw(st.sampled_from(["+", "-", "*", "/"])), draw(operand)]
    if draw(st.booleans()):
        at = draw(st.integers(0, len(parts) - 1))
        parts.insert(at, "(" * draw(st.integers(1, 40)))
        parts.append(")" * draw(st.integers(0, 40)))
    parts.insert(draw(st.integers(0, len(parts))), draw(st.sampled_from([*COMPARISONS, "="])))
    for _ in range(draw(st.integers(0, 3))):  # insert, delete or replace a token
        action = draw(st.sampled_from(["insert", "delete", "replace"]))
        at = draw(st.integers(0, len(parts)))
        if action == "insert":
            parts.insert(at, draw(rule_tokens))
        elif parts and at < len(parts):
            if action == "delete":
                del parts[at]
            else:
                parts[at] = draw(rule_tokens)
    separator = draw(st.sampled_from(["", " ", "\n", "\t"]))
    return separator.join(parts)


rule_texts = st.one_of(
    st.just(""),
    st.text(),
    st.text(alphabet=string.printable),
    st.lists(rule_tokens, max_size=30).map(" ".join),
    st.lists(rule_tokens, max_size=30).map("".join),
    near_miss_rules(),
    st.integers(1, 300).map(lambda n: "(" * n + "a" + ")" * n + " > 1"),
    st.integers(1, 300).map(lambda n: "-" * n + "a > 1"),
    st.integers(1, 300).map(lambda n: " + ".join(["a"] * n) + " > 1"),
)

metric_values = st.one_of(
    st.floats(),
    st.integers(),
    st.integers(min_value=10**300, max_value=10**400),
    st.booleans(),
    st.none(),
    st.text(max_size=5),
    st.fractions(),
    st.just(Fraction(10**400, 3)),
    st.decimals(allow_nan=True),
    st.lists(st.floats(), max_size=2),
)


def metric_dicts(names: list[str]) -> st.SearchStrategy[dict[str, Any]]:
    """Metrics by name: the rule's own names (each maybe left out) plus random ones."""
    return st.dictionaries(
        st.one_of(st.sampled_from(names or ["a"]), identifiers), metric_values, max_size=8
    )


def check_rule_text(text: str, data: st.DataObject) -> None:
    """Parse ``text``; a rule is then evaluated against random metrics, alone and in gates."""
    where = "conf/promotion/fuzz.yaml: production[0]"
    try:
        rule = parse_rule(text, where=where)
    except DeclarativeMLError as error:
        assert isinstance(error, RuleError)
        assert assert_our_error(error).startswith(where)
        return
    assert isinstance(rule, Rule)
    assert rule.op in COMPARISONS
    assert parse_rule(rule.render()) == rule
    names = [name for _, name in rule.names()]
    candidate = data.draw(metric_dicts(names), label="candidate")
    champion = data.draw(st.none() | metric_dicts(names), label="champion")
    outcome = rule.evaluate(candidate, champion)
    assert isinstance(outcome.held, bool)
    assert outcome.reason is None or len(outcome.reason.splitlines()) == 1
    gate = data.draw(st.sampled_from(GATES), label="gate")
    decision = evaluate_rules({gate: [rule, rule]}, candidate, champion)
    check_decision(decision)


def check_decision(decision: Decision) -> None:
    """A decision's renderings: strict JSON, markdown, a one-line summary."""
    assert decision.target_stage in ("none", "staging", "production")
    json.dumps(decision.to_dict(), allow_nan=False)
    assert isinstance(decision.to_markdown("fuzz\nmodel"), str)
    summary = decision.summary()
    assert len(summary.splitlines()) == 1, summary


@FUZZ
@given(text=rule_texts, data=st.data())
def test_fuzz_rule_text_parses_or_raises_rule_error(text: str, data: st.DataObject) -> None:
    check_rule_text(text, data)


@pytest.mark.slow
@FUZZ_SLOW
@given(text=rule_texts, data=st.data())
def test_fuzz_rule_text_many(text: str, data: st.DataObject) -> None:
    check_rule_text(text, data)


# --- rules: specs, gates and files ----------------------------------------------

yaml_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(),
    st.text(max_size=10),
    rule_texts,
)
yaml_values = st.recursive(
    yaml_scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(
            st.one_of(st.sampled_from(["rule", "why", "confidence"]), st.text(max_size=6)),
            children,
        ),
    ),
    max_leaves=12,
)
confidences = st.one_of(yaml_scalars, st.floats(0.4, 1.1), st.sampled_from([0.5, 0.95, 1]))
rule_specs = st.one_of(
    rule_texts,
    st.fixed_dictionaries(
        {"rule": rule_texts}, optional={"why": yaml_scalars, "confidence": confidences}
    ),
    st.dictionaries(
        st.one_of(st.sampled_from(["rule", "why", "confidence"]), st.text()), yaml_values
    ),
    yaml_values,
)
promotion_mappings = st.dictionaries(
    st.one_of(
        st.sampled_from([*GATES, "model_name", "new_data", "enabled", "defaults", "registr"]),
        st.text(max_size=8),
    ),
    st.one_of(st.lists(rule_specs, max_size=4), yaml_values),
    max_size=5,
)


def check_gates(promotion: Any) -> None:
    try:
        gates = parse_gates(promotion, source="promotion/fuzz.yaml")
    except DeclarativeMLError as error:
        assert isinstance(error, RuleError)
        assert_our_error(error)
        return
    assert list(gates) == list(GATES)
    check_decision(evaluate_rules(gates, {}, None))


@FUZZ
@given(item=rule_specs)
def test_fuzz_rule_spec(item: Any) -> None:
    try:
        rule = parse_rule_spec(item, where="promotion/fuzz.yaml: register[0]")
    except DeclarativeMLError as error:
        assert isinstance(error, RuleError)
        assert_our_error(error)
        return
    assert isinstance(rule, Rule)


@FUZZ
@given(promotion=st.one_of(promotion_mappings, yaml_values))
def test_fuzz_parse_gates(promotion: Any) -> None:
    check_gates(promotion)


YAML_FRAGMENTS = [
    "register:", "staging:", "production:", "model_name: x", "new_data: iris", "defaults:",
    "  - base_promotion", "  - _self_", "  - test_roc_auc >= 0.9", "  - rule: a > 1",
    "    why: because", "  - {rule: 'a > 1', why: x}", "  -", "- a > 1", "  - [a > 1]",
    "    confidence: 0.95", "  - {rule: 'test_a > champion.test_a', confidence: 0.9}",
    "  - a >= champion.a + 0.002", "  - a > > 1", "  - ${x}", "  - !!binary aGk=",
    "  - !!python/object:os.system x", "  - &anchor a > 1", "  - *anchor", "  - *nope",
    "<<: {register: []}", "? register", ": [a > 1]", "---", "...", "%YAML 1.1", "#comment",
    "\t- a > 1", "register: [a > 1", "register: {a: 1}", "register: 'a > 1'", "  - |",
    "    a >", "    1", "  - >-", "key: 2001-12-14", "key: 0x1F", "key: .nan", "key: ~",
    "\x00", "\ufeff", "[" * 50, "]" * 50, "{" * 50,
]  # fmt: skip


@st.composite
def yaml_documents(draw: st.DrawFn) -> str:
    """Rule files: dumped mappings, lines of rule-file YAML recombined, or any text."""
    kind = draw(st.sampled_from(["dump", "lines", "text", "deep"]))
    if kind == "dump":
        try:
            text = yaml.safe_dump(draw(promotion_mappings), allow_unicode=True)
        except yaml.YAMLError:  # e.g. a surrogate the emitter refuses
            text = ""
    elif kind == "lines":
        lines = draw(st.lists(st.one_of(st.sampled_from(YAML_FRAGMENTS), st.text()), max_size=12))
        text = "\n".join(lines)
    elif kind == "deep":
        depth = draw(st.integers(1, 3000))
        text = draw(st.sampled_from(["register: ", "", "- "])) + draw(
            st.sampled_from(["[" * depth, "{a: " * depth, "- " * depth])
        )
    else:
        text = draw(st.text())
    if text and draw(st.booleans()):  # one random edit
        at = draw(st.integers(0, len(text)))
        text = text[:at] + draw(st.text(max_size=3)) + text[at + draw(st.integers(0, 3)) :]
    return text


def check_rule_document(text: str, folder: Path) -> None:
    """``text`` as a rule file: YAML, gates, then ``dml rules check``'s whole check."""
    from declarative_ml.cli.rules_check import check_rule_file

    try:
        data, lines = load_rule_yaml(text)
    except DeclarativeMLError as error:
        assert isinstance(error, RuleYAMLError)
        assert_our_error(error)
        assert isinstance(error.line, int) and error.line >= 1
    else:
        assert all(isinstance(line, int) and line >= 1 for line in lines.values())
        check_gates(data)
    path = folder / "fuzz.yaml"
    try:
        path.write_text(text, encoding="utf-8")
    except UnicodeEncodeError:  # a lone surrogate cannot be written as a file
        return
    # Not in a promotion/ folder: checked on its own, nothing is composed.
    findings = check_rule_file(locate_rule_file(path))
    for finding in findings:
        assert finding.line >= 1
        assert len(finding.message.splitlines()) == 1, finding.message
        assert len(finding.render(github=True).splitlines()) == 1


@pytest.fixture(scope="module")
def rules_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder not named ``promotion``: a rule file there is checked without composing."""
    return tmp_path_factory.mktemp("rules")


@FUZZ
@given(text=yaml_documents())
def test_fuzz_rule_files(text: str, rules_dir: Path) -> None:
    check_rule_document(text, rules_dir)


@pytest.mark.slow
@settings(FUZZ_SLOW, max_examples=SLOW_FILE_EXAMPLES)
@given(text=yaml_documents())
def test_fuzz_rule_files_many(text: str, rules_dir: Path) -> None:
    check_rule_document(text, rules_dir)


# --- config overrides -------------------------------------------------------------

HYDRA_GROUPS = {
    "hydra/launcher": ["basic", "joblib"],
    "hydra/sweeper": ["basic", "optuna"],
    "hydra/help": ["dml", "default"],
    "hydra/job_logging": ["default", "disabled", "none"],
}


@functools.cache
def config_groups() -> dict[str, list[str]]:
    """Every config group with its real options (the package's and Hydra's)."""
    groups = {
        folder.name: sorted(p.stem for p in folder.glob("*.yaml"))
        for folder in sorted(CONF_DIR.iterdir())
        if folder.is_dir() and folder.name != "hydra"
    }
    return {**groups, **HYDRA_GROUPS}


def _key_paths(node: Any, prefix: str = "") -> list[str]:
    paths = [prefix] if prefix else []
    if isinstance(node, dict):
        for key, child in node.items():
            paths += _key_paths(child, f"{prefix}.{key}" if prefix else str(key))
    elif isinstance(node, list):
        for index, child in enumerate(node):
            paths += _key_paths(child, f"{prefix}.{index}")
    return paths


@functools.cache
def real_keys() -> list[str]:
    """Every key path of the composed config, for the root config and each experiment."""
    keys: set[str] = {"hydra.searchpath", "hydra.job.chdir", "hydra.run.dir", "hydra.verbose"}
    for experiment in [None, *config_groups()["experiment"]]:
        overrides = [f"experiment={experiment}"] if experiment else []
        container = OmegaConf.to_container(compose_config(overrides), resolve=False)
        keys.update(_key_paths(container))
    return sorted(keys)


@st.composite
def typos(draw: st.DrawFn, word: str) -> str:
    """``word`` with one character dropped, doubled, swapped or replaced."""
    if not word:
        return draw(identifiers)
    at = draw(st.integers(0, len(word) - 1))
    action = draw(st.sampled_from(["drop", "double", "swap", "replace"]))
    if action == "drop":
        return word[:at] + word[at + 1 :]
    if action == "double":
        return word[:at] + word[at] + word[at:]
    if action == "swap" and at + 1 < len(word):
        return word[:at] + word[at + 1] + word[at] + word[at + 2 :]
    return word[:at] + draw(st.sampled_from(string.ascii_lowercase + "._-/")) + word[at + 1 :]


@st.composite
def override_keys(draw: st.DrawFn) -> str:
    real = draw(st.sampled_from(real_keys()))
    return draw(
        st.one_of(
            st.just(real),
            typos(real),
            st.just(f"{real}.{draw(identifiers)}"),
            st.just(f"{real}.{draw(st.integers(-2, 12))}"),
            identifiers,
            st.text(max_size=8),
        )
    )


def _quoted(text: str) -> str:
    quote = "'" if "'" not in text or '"' in text else '"'
    return quote + text.replace("\\", "\\\\").replace(quote, "\\" + quote) + quote


@st.composite
def interpolations(draw: st.DrawFn) -> str:
    key = draw(st.sampled_from(real_keys()))
    return draw(
        st.sampled_from(
            [
                f"${{{key}}}",
                f"${{{key}.nope}}",
                "${nope}",
                "${seed}",
                "${.seed}",
                "${..x}",
                "${oc.env:HOME}",
                "${oc.env:DML_FUZZ_NOT_SET}",
                "${oc.env:DML_FUZZ_NOT_SET,fallback}",
                "${oc.decode:'[1'}",
                "${oc.decode:'{a: 1}'}",
                "${oc.create:'x'}",
                f"${{oc.select:{key},x}}",
                f"${{oc.dict.keys:{key}}}",
                f"${{oc.dict.values:{key}}}",
                "${oc.deprecated:seed}",
                "${dml_data:penguins.csv}",
                "${dml_data:}",
                "${now:%Y}",
                "${hydra:runtime.cwd}",
                "${nope:1}",
                "${${seed}}",
                "${}",
                "${",
                "$",
                "pre_${seed}_post",
                "\\${seed}",
            ]
        )
    )


scalar_values = st.one_of(
    st.integers().map(str),
    st.integers(min_value=10**20, max_value=10**400).map(str),
    st.floats().map(repr),
    st.sampled_from(["nan", "inf", "-inf", "+inf", "1e999", "-0.0", "1_000", "0x10", "1e-999"]),
    st.sampled_from(["true", "false", "True", "FALSE", "yes", "null", "NULL", "None", "~", "???"]),
    identifiers,
    st.text(max_size=12).map(_quoted),
    st.text(alphabet=" []{}(),:='\"\\$%*?<>|&!#@^`~", max_size=8),
    st.text(max_size=10),
    interpolations(),
    st.sampled_from(["accuracy", "roc_auc", "rmse", "binary", "csv", "sklearn", "best", "each"]),
    st.sampled_from(["maximize", "minimize", "test_roc_auc", "val_accuracy", "a > 1"]),
    st.sampled_from(["xgboost.XGBClassifier", "sklearn.linear_model.Ridge", "os.system"]),
)
override_values = st.recursive(
    scalar_values,
    lambda children: st.one_of(
        st.lists(children, max_size=4).map(lambda items: "[" + ",".join(items) + "]"),
        st.lists(
            st.tuples(st.one_of(identifiers, st.sampled_from(["rule", "why"])), children),
            max_size=3,
        ).map(lambda pairs: "{" + ",".join(f"{k}:{v}" for k, v in pairs) + "}"),
        st.tuples(
            st.sampled_from(["choice", "range", "interval", "glob", "sort", "shuffle", "tag"]),
            st.lists(children, max_size=3),
        ).map(lambda call: f"{call[0]}({','.join(call[1])})"),
        st.tuples(st.sampled_from(["int", "float", "str", "bool", "json_str"]), children).map(
            lambda call: f"{call[0]}({call[1]})"
        ),
        st.lists(children, min_size=2, max_size=3).map(",".join),  # a sweep, needs -m
    ),
    max_leaves=8,
)


@st.composite
def group_overrides(draw: st.DrawFn) -> str:
    groups = config_groups()
    group = draw(st.sampled_from(sorted(groups)))
    options = groups[group] or ["x"]
    option = draw(
        st.one_of(
            st.sampled_from(options),
            st.sampled_from(options).flatmap(typos),
            st.sampled_from(["null", "base_" + group.split("/")[-1], "''", "[]", "???"]),
            st.lists(st.sampled_from(options), min_size=1, max_size=3).map(
                lambda items: "[" + ",".join(items) + "]"
            ),
            identifiers,
        )
    )
    name = draw(st.one_of(st.just(group), typos(group), st.just(f"{group}@{draw(identifiers)}")))
    prefix = draw(st.sampled_from(["", "", "", "+", "++", "~", "override "]))
    if prefix == "~" and draw(st.booleans()):
        return f"~{name}"
    return f"{prefix}{name}={option}"


@st.composite
def key_overrides(draw: st.DrawFn) -> str:
    key = draw(override_keys())
    prefix = draw(st.sampled_from(["", "", "", "+", "++", "~"]))
    if prefix == "~" and draw(st.booleans()):
        return f"~{key}"
    separator = draw(st.sampled_from(["=", "=", "=", "==", ":", " = "]))
    return f"{prefix}{key}{separator}{draw(override_values)}"


override_lists = st.lists(
    st.one_of(key_overrides(), key_overrides(), group_overrides(), st.text(max_size=20)),
    max_size=5,
)


def run_like_cli(overrides: list[str]) -> Plan | DeclarativeMLError:
    """Compose and validate as ``python -m declarative_ml OVERRIDES`` does, in-process.

    ``compose_config`` turns any composition exception into a ``ConfigError`` with
    ``format_hydra_error``, the formatter ``app.main`` uses; the original exception is
    kept as the error's ``__context__`` so that ``is_config_error`` (how ``app.main``
    tells bad input from a failure) can be checked on it too.
    """
    note(f"overrides: {overrides!r}")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # e.g. a hydra.searchpath folder that does not exist
            cfg = compose_config(overrides)
    except DeclarativeMLError as error:
        assert isinstance(error, ConfigError)
        original = error.__context__
        note(f"composition raised {type(original).__name__}: {original}")
        assert original is not None
        assert is_config_error(original), f"app.main would exit 1: {type(original).__name__}"
        assert str(error) == format_hydra_error(original)
        assert_our_error(error)
        return error
    try:
        return validate_config(cfg)
    except DeclarativeMLError as error:
        assert_our_error(error)
        return error


def check_overrides(overrides: list[str]) -> None:
    result = run_like_cli(overrides)
    assert isinstance(result, Plan | DeclarativeMLError)


@FUZZ_CONFIG
@given(overrides=override_lists)
def test_fuzz_config_overrides(overrides: list[str]) -> None:
    check_overrides(overrides)


@FUZZ_CONFIG
@given(
    experiment=st.sampled_from(["", "rf_iris", "ridge_diabetes", "logreg_wine"]),
    override=key_overrides(),
)
def test_fuzz_one_override_on_an_experiment(experiment: str, override: str) -> None:
    check_overrides([f"experiment={experiment}", override] if experiment else [override])


@pytest.mark.slow
@FUZZ_CONFIG_SLOW
@given(overrides=override_lists)
def test_fuzz_config_overrides_many(overrides: list[str]) -> None:
    check_overrides(overrides)


# --- regressions: bugs the fuzzing found --------------------------------------------


def _our_error(call: Callable[[], object]) -> str:
    with pytest.raises(DeclarativeMLError) as info:
        call()
    return assert_our_error(info.value)


def test_rule_whose_parenthesised_form_is_too_deep_is_an_error() -> None:
    # Parsed, but rendered as (-(-(...))) past MAX_NESTING: render() did not parse back.
    assert "nested too deeply" in _our_error(lambda: parse_rule("0 < " + "-" * 40 + "a"))
    assert "nested too deeply" in _our_error(lambda: parse_rule(" + ".join(["a"] * 40) + " > 1"))
    rule = parse_rule(" + ".join(["a"] * 30) + " > 1")
    assert parse_rule(rule.render()) == rule


def test_unknown_rule_key_with_a_line_break_is_one_line() -> None:
    message = _our_error(lambda: parse_rule_spec({"rule": "a > 1", "b\nc": 1}, where="w"))
    assert "'b c'" in message


def test_decision_summary_of_a_multi_line_rule_is_one_line() -> None:
    rule = parse_rule("a >\n 1")
    decision = evaluate_rules({"register": [rule]}, {"a": 0.0}, None)
    assert decision.summary() == "target stage: none; register: failed (a > 1), " + (
        "staging: passed, production: passed"
    )


@pytest.mark.parametrize("text", ["[" * 3000, "register: " + "{a: " * 3000, "- " * 3000])
def test_deeply_nested_rule_file_is_a_yaml_error(text: str) -> None:
    assert "nested too deeply" in _our_error(lambda: load_rule_yaml(text))


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        (["~dataset"], "dataset: no option chosen; choose one with dataset=NAME"),
        (["~model"], "model: no option chosen; choose one with model=NAME"),
        (["dataset.name=???"], "dataset.name: missing mandatory value"),
        (["metrics=[]", "promotion.enabled=false"], "metrics: the list is empty"),
        (["seed=${foo}"], "seed: Interpolation key 'foo' not found"),
        (["promotion.register=[${foo}]"], "promotion.register[0]: Interpolation key 'foo'"),
    ],
)
def test_validate_errors_found_by_fuzzing(overrides: list[str], expected: str) -> None:
    # Before: MissingMandatoryValue / IndexError escaped validate_config, or the key was
    # given as "config".
    cfg = compose_config(overrides)
    assert _our_error(lambda: validate_config(cfg)).startswith(expected)


@pytest.mark.parametrize(
    ("override", "expected"),
    [
        ("metrics.0=accuracy", "metrics.0=accuracy: cannot apply this override"),  # AssertionError
        ("dataset=null", "dataset=null: cannot apply this override"),  # ValueError, no override
        ("promotion.register.x=1", "promotion.register.x=1: cannot apply this override"),
        ("model.params.x=" + "[" * 3000 + "]" * 3000, "model.params.x=[[["),  # RecursionError
        ("dataset=[0]", "dataset=[0]: a config group option must be a name"),  # TypeError
        ("+dataset=[0]", "+dataset=[0]: a config group option must be a name"),
        ("+dataset=[[]]", "+dataset=[[]]: a config group option must be a name"),
        ("dataset=${oc.create:'x'}", "dataset=${oc.create:'x'}: a config group option"),
        ("dataset=\x1e", "dataset=\\x1e: cannot parse this override"),  # a line break
    ],
)
def test_composition_errors_found_by_fuzzing(override: str, expected: str) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(ConfigError) as info:
            compose_config([override])
    assert info.value.__context__ is not None
    assert is_config_error(info.value.__context__)  # app.main: exit 2, not "unexpected"
    assert assert_our_error(info.value).startswith(expected)


def test_estimator_error_with_a_multi_line_model_name_is_one_line() -> None:
    from declarative_ml.models.build import resolve_estimator_path

    model = OmegaConf.create(
        {
            "name": "two\nlines",
            "estimator": {"classification": "sklearn.linear_model.LogisticRegression"},
            "trusted_modules": [],
        }
    )
    message = _our_error(lambda: resolve_estimator_path(model, "regression"))
    assert "model 'two\\nlines' has no regression estimator" in message


@pytest.mark.parametrize(
    "overrides",
    [["~run"], ["~objective"], ["experiment=xgb_baseline", "~metrics"], ["~run.log_model"]],
)
def test_deleting_a_schema_key_is_an_error(overrides: list[str]) -> None:
    # ~run deleted the root key and validation then raised ConfigAttributeError.
    key = overrides[-1].removeprefix("~")
    message = _our_error(lambda: validate_config(compose_config(overrides)))
    assert message.startswith(f"{key}: part of the config schema, so it cannot be deleted")
