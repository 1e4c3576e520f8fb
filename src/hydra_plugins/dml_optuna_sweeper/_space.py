"""The search space: ``hydra.sweeper.params`` (and sweep overrides) -> Optuna distributions.

One entry per override key, declared as data (no mini-language):

- ``{type: int, low: 2, high: 10}`` (optional ``step``, ``log``);
- ``{type: float, low: 0.01, high: 0.3, log: true}`` (optional ``step``);
- ``{type: categorical, choices: [gbtree, dart]}``, or just the list ``[gbtree, dart]``;
- a plain scalar: a fixed value, passed to every trial.

A key may start with ``+`` or ``++`` to say how its override is written; without one,
the sweeper decides from the config. Command-line sweeps (``a=1,2``, ``a=range(2,8)``,
``a=tag(log,interval(0.01,1))``) become distributions too.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.core.override_parser.types import IntervalSweep, Override, QuotedString, RangeSweep
from optuna.distributions import (
    BaseDistribution,
    CategoricalDistribution,
    FloatDistribution,
    IntDistribution,
)

from declarative_ml.errors import ConfigError

TYPES = ("int", "float", "categorical")
_FIELDS = {
    "int": ("type", "low", "high", "step", "log"),
    "float": ("type", "low", "high", "step", "log"),
    "categorical": ("type", "choices"),
}
_SPEC_KEYS = {"type", "low", "high", "step", "log", "choices"}
_SCALARS = (str, int, float, bool, type(None))
_PREFIXES = ("++", "+")


@dataclass
class SearchSpace:
    """What a trial samples, what it fixes, and how each key's override is written."""

    distributions: dict[str, BaseDistribution] = field(default_factory=dict)
    fixed: dict[str, Any] = field(default_factory=dict)
    prefixes: dict[str, str] = field(default_factory=dict)  # key -> '+' | '++' when declared

    def keys(self) -> list[str]:
        """Every key the space sets, sampled or fixed."""
        return [*self.distributions, *self.fixed]

    def drop(self, key: str) -> bool:
        """Remove ``key`` (pinned by a command-line override); whether it was there."""
        found = key in self.distributions or key in self.fixed
        self.distributions.pop(key, None)
        self.fixed.pop(key, None)
        return found


def _where(key: str) -> str:
    return f"hydra.sweeper.params.{key}"


def _split_prefix(raw: str) -> tuple[str, str | None]:
    for prefix in _PREFIXES:
        if raw.startswith(prefix):
            return raw[len(prefix) :], prefix
    return raw, None


def parse_search_space(params: Mapping[str, Any] | None) -> SearchSpace:
    """Turn ``hydra.sweeper.params`` (a plain mapping) into a :class:`SearchSpace`.

    Raises:
        ConfigError: naming the key whose entry is invalid and what is allowed.
    """
    space = SearchSpace()
    for raw_key, spec in (params or {}).items():
        key, prefix = _split_prefix(str(raw_key))
        if prefix is not None:
            space.prefixes[key] = prefix
        if isinstance(spec, Mapping):
            space.distributions[key] = distribution_from_spec(key, spec)
        elif isinstance(spec, list | tuple):
            space.distributions[key] = _categorical(key, list(spec))
        elif isinstance(spec, str) and _is_sweep_text(spec):
            raise ConfigError(
                f"{_where(key)}: {spec!r} is a sweep written as text (hydra-optuna-sweeper's "
                f"format), which this sweeper does not read; declare it as data: "
                f"{{type: int|float, low: .., high: ..}} or a list of choices, or sweep it on "
                f"the command line ({key}={spec.replace(' ', '')})"
            )
        elif isinstance(spec, _SCALARS):
            space.fixed[key] = spec
        else:
            raise ConfigError(f"{_where(key)}: {spec!r} is not a search space or a fixed value")
    return space


def distribution_from_spec(key: str, spec: Mapping[str, Any]) -> BaseDistribution:
    """One ``{type: ..., ...}`` entry as an Optuna distribution.

    Raises:
        ConfigError: for an unknown type, a missing or misspelt field, or bad bounds.
    """
    kind = spec.get("type")
    if kind is None:
        known = sorted(set(spec) & _SPEC_KEYS)
        what = "missing 'type'" if known else "not a search space (no 'type')"
        raise ConfigError(f"{_where(key)}: {what}; use type: int, float or categorical")
    if kind not in TYPES:
        raise ConfigError(f"{_where(key)}: unknown type {kind!r}; allowed: {', '.join(TYPES)}")
    unknown = [str(f) for f in spec if f not in _FIELDS[kind]]
    if unknown:
        raise ConfigError(
            f"{_where(key)}: unknown field {unknown[0]!r} for type {kind}; "
            f"allowed: {', '.join(_FIELDS[kind])}"
        )
    if kind == "categorical":
        choices = spec.get("choices")
        if not isinstance(choices, list | tuple):
            raise ConfigError(f"{_where(key)}: type categorical needs 'choices: [a, b, ...]'")
        return _categorical(key, list(choices))
    low, high = (_bound(key, spec, name, kind) for name in ("low", "high"))
    log = spec.get("log", False)
    if not isinstance(log, bool):
        raise ConfigError(f"{_where(key)}.log: {log!r} is not true or false")
    step = spec.get("step")
    if step is not None and (_not_a(kind, step) or step <= 0):
        raise ConfigError(f"{_where(key)}.step: {step!r} is not a positive {kind}")
    try:
        if kind == "int":
            return IntDistribution(int(low), int(high), log=log, step=int(step or 1))
        return FloatDistribution(float(low), float(high), log=log, step=step)
    except ValueError as exc:  # Optuna's checks: low <= high, log needs low > 0, log xor step
        raise ConfigError(f"{_where(key)}: {_one_line(str(exc))}") from None


def _not_a(kind: str, value: Any) -> bool:
    """Whether ``value`` is not a valid ``kind`` (int, or float which also takes ints)."""
    number = int if kind == "int" else (int, float)
    return isinstance(value, bool) or not isinstance(value, number)


def _bound(key: str, spec: Mapping[str, Any], name: str, kind: str) -> int | float:
    if name not in spec:
        raise ConfigError(f"{_where(key)}: type {kind} needs 'low' and 'high'; '{name}' is missing")
    value = spec[name]
    if _not_a(kind, value):
        raise ConfigError(f"{_where(key)}.{name}: {value!r} is not a valid {kind}")
    return value


def _categorical(key: str, choices: list[Any]) -> CategoricalDistribution:
    if not choices:
        raise ConfigError(f"{_where(key)}: no choices; list at least one value")
    for choice in choices:
        if not isinstance(choice, _SCALARS):
            raise ConfigError(
                f"{_where(key)}: choice {choice!r} is not a number, string, bool or null"
            )
    return CategoricalDistribution(choices)


def distribution_from_override(override: Override) -> BaseDistribution:
    """A command-line sweep as a distribution.

    ``a=x,y`` / ``choice(...)``: categorical; ``range(2,8)``: int (stop excluded, as in
    Hydra); ``interval(a,b)``: float, ``tag(log, ...)`` for a log scale and
    ``tag(int, ...)`` for integers.

    Raises:
        ConfigError: for a sweep that cannot be searched (empty, non-scalar choices).
    """
    value = override.value()
    if isinstance(value, IntervalSweep):
        assert value.start is not None and value.end is not None
        log = "log" in value.tags
        try:
            if "int" in value.tags:
                return IntDistribution(int(value.start), int(value.end), log=log)
            return FloatDistribution(float(value.start), float(value.end), log=log)
        except ValueError as exc:
            raise ConfigError(f"{override.input_line}: {_one_line(str(exc))}") from None
    if isinstance(value, RangeSweep):
        numbers = value.range()
        if isinstance(numbers, range) and len(numbers) and numbers.step > 0:
            return IntDistribution(numbers[0], numbers[-1], step=numbers.step)
    choices: list[Any] = [
        v.text if isinstance(v, QuotedString) else v for v in override.sweep_iterator()
    ]
    if not choices:
        raise ConfigError(f"{override.input_line}: the sweep has no values")
    for choice in choices:
        if not isinstance(choice, _SCALARS):
            raise ConfigError(
                f"{override.input_line}: choice {choice!r} is not a number, string, bool or null"
            )
    return CategoricalDistribution(choices)


_parser = OverridesParser.create()


def format_value(value: Any) -> str:
    """``value`` as the right-hand side of a Hydra override that parses back to ``value``."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    text = str(value)
    if _parses_back(text, text):
        return text
    for quote in ("'", '"'):
        if quote not in text:
            return f"{quote}{text}{quote}"
    return "'" + text.replace("'", "\\'") + "'"


def _is_sweep_text(text: str) -> bool:
    """Whether a fixed value is Hydra sweep syntax (``range(2,8)``, ``interval(0,1)``,
    ``choice(a,b)``, ``a,b``): a search space in another sweeper's format, not a value."""
    try:
        return bool(_parser.parse_override(f"k={text}").is_sweep_override())
    except Exception:  # not an override at all: a plain string value
        return False


def _parses_back(text: str, expected: str) -> bool:
    try:
        parsed = _parser.parse_override(f"k={text}")
    except Exception:  # any parse error: quote the value
        return False
    return not parsed.is_sweep_override() and parsed.value() == expected


def _one_line(text: str) -> str:
    return " ".join(text.split())
