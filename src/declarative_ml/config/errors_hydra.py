"""One-line messages for the errors Hydra raises while parsing overrides and composing.

Hydra prints these over several lines (options list, config search path, a hint
about ``HYDRA_FULL_ERROR``). The command line prints one line instead, in the
project's format: the override, key or config file at fault, then what is allowed.
The exception objects carry what is needed (``MissingConfigException.options``, the
OmegaConf error's ``full_key`` and parent node), so little is parsed from text.
"""

from __future__ import annotations

import dataclasses
import difflib
import re
from typing import Any

from hydra.errors import (
    ConfigCompositionException,
    HydraException,
    MissingConfigException,
    OverrideParseException,
)
from omegaconf import DictConfig
from omegaconf.errors import (
    ConfigAttributeError,
    ConfigKeyError,
    OmegaConfBaseException,
    ValidationError,
)

from declarative_ml.config.error_sources import (
    group_choice_at_fault,
    output_dir_at_fault,
    override_at_fault,
)

# ConfigStore entries named base_<group> are the dataclass schemas the YAML options
# extend; Hydra lists them as options, but choosing one on its own cannot work.
_SCHEMA_PREFIX = "base_"
_IN_FILE = re.compile(r"^In '([^']+)': ")
_MERGING = re.compile(r"^Error merging override (.+)$", re.MULTILINE)
_APPEND_HINT = re.compile(r"^To append to your config use (\S.*)$", re.MULTILINE)
_ALREADY_THERE = re.compile(
    r"Could not append to config\. An item is already at '([^']+)'\..*?"
    r"Either remove \+ prefix: '([^']+)'",
    re.DOTALL,
)
_URL = re.compile(r"https?://\S+")
# OmegaConf's wording -> ours, for the validation errors a typo on the command line causes.
_REWRITES: tuple[tuple[re.Pattern[str], str], ...] = (
    (
        re.compile(r"^Value '(.*)' of type '\w+' could not be converted to Integer$"),
        "'{0}' is not a valid int",
    ),
    (
        re.compile(r"^Value '(.*)' of type '\w+' could not be converted to Float$"),
        "'{0}' is not a valid float",
    ),
    (
        re.compile(r"^Value '(.*)' is not a valid bool \(type \w+\)$"),
        "'{0}' is not a valid bool; use true or false",
    ),
    (
        re.compile(r"^Invalid value '(.*)', expected one of \[(.*)\]$"),
        "'{0}' is not valid; allowed: {1}",
    ),
    (
        re.compile(r"^Non optional field cannot be assigned None$"),
        "cannot be null",
    ),
)
_NO_DELETION = re.compile(r"\(DictConfig\) does not support deletion$")
SCHEMA_KEY_KEPT = (
    "part of the config schema, so it cannot be deleted with ~; set its values instead"
)


def one_line(text: str) -> str:
    """``text`` as one line: lines joined with ``; ``, Hydra's search-path listing dropped."""
    text = text.split("Config search path:")[0]
    lines = [" ".join(line.split()) for line in text.splitlines()]
    return "; ".join(line for line in lines if line).rstrip(".;") or "(no message)"


def _first_line(text: str) -> str:
    lines = [line.strip() for line in str(text).strip().splitlines() if line.strip()]
    return lines[0] if lines else ""


def _in_file(text: str, config_name: str) -> str:
    """`` (in dataset/mine.yaml)`` when Hydra names a config file other than the primary one."""
    match = _IN_FILE.match(text)
    if match is None or match.group(1) == config_name:
        return ""
    return f" (in {match.group(1)}.yaml)"


def _missing_config(exc: MissingConfigException, config_name: str) -> str:
    missing = exc.missing_cfg_file or ""
    where = _in_file(str(exc), config_name)
    if "/" not in missing:  # the primary config itself
        return (
            f"config '{missing or config_name}' not found in the config search path; "
            f"check --config-name and hydra.searchpath"
        )
    group, _, name = missing.rpartition("/")
    options = [o for o in exc.options or () if not o.startswith(_SCHEMA_PREFIX)]
    if not options:
        return f"{group}={name}: no such option{where}; group '{group}' has no options"
    return f"{group}={name}: no such option{where}; available: {', '.join(options)}"


def _override_parse(exc: OverrideParseException) -> str:
    url = _URL.search(exc.message)
    problem = _first_line(_URL.sub("", exc.message)) or "invalid syntax"
    see = f"; see {url.group(0)}" if url else ""
    return f"{exc.override}: cannot parse this override ({problem}){see}"


def _omegaconf_cause(exc: BaseException) -> OmegaConfBaseException | None:
    # Hydra chains with ``from`` for overrides and raises inside ``except`` for files.
    for inner in (exc.__cause__, exc.__context__):
        if isinstance(inner, OmegaConfBaseException):
            return inner
    return None


def _valid_keys(node: Any) -> list[str]:
    if not isinstance(node, DictConfig) or node._is_none() or node._is_missing():
        return []
    return [str(k) for k in node if k != "hydra"]


def _unknown_key(key: str, inner: OmegaConfBaseException, outer: str, where: str) -> str:
    parent = getattr(inner, "parent_node", None)
    valid = _valid_keys(parent)
    prefix, _, name = key.rpartition(".")
    if not _is_schema(inner):  # a free-form mapping such as model.params: adding a key needs '+'
        guess = difflib.get_close_matches(name, valid, n=1)
        if guess:  # most likely a typo of a key that is there
            return (
                f"{key}: no such key{where}; did you mean '{prefix}.{guess[0]}'? "
                f"(a new key is added with +{key}=VALUE)"
            )
        hint = _APPEND_HINT.search(outer)
        add = hint.group(1) if hint else f"+{key}=VALUE"
        return f"{key}: no such key yet{where}; add it with {add}"
    under = f"under {prefix}" if prefix else "at the top level"
    guess = difflib.get_close_matches(name, valid, n=1)
    did_you_mean = f"did you mean '{guess[0]}'? " if guess else ""
    return f"{key}: unknown key{where}; {did_you_mean}valid keys {under}: {', '.join(valid)}"


def _is_schema(inner: OmegaConfBaseException) -> bool:
    """Whether the key's parent is a dataclass schema (not a ``dict[str, Any]`` field)."""
    object_type = getattr(inner, "object_type", None)
    return isinstance(object_type, type) and dataclasses.is_dataclass(object_type)


def _omegaconf_error(outer: str, inner: OmegaConfBaseException, config_name: str) -> str:
    key = getattr(inner, "full_key", None) or getattr(inner, "key", None) or "config"
    where = _in_file(outer, config_name)
    message = _first_line(getattr(inner, "msg", None) or str(inner))
    if isinstance(inner, (ConfigAttributeError, ConfigKeyError)) and (
        " not in " in message or "is not in struct" in message
    ):
        return _unknown_key(str(key), inner, outer, where)
    if _NO_DELETION.search(message):
        return f"{key}: {SCHEMA_KEY_KEPT}{where}"
    if isinstance(inner, ValidationError):
        for pattern, template in _REWRITES:
            match = pattern.match(message)
            if match:
                message = template.format(*match.groups())
                break
    merging = _MERGING.search(outer)
    source = f" (override {merging.group(1)})" if merging and "=" in merging.group(1) else ""
    return f"{key}: {message}{where}{source}"


def _composition(exc: ConfigCompositionException) -> str:
    text = str(exc)
    already = _ALREADY_THERE.search(text)
    if already:
        key, override = already.groups()
        return (
            f"+{override}: {key} already exists, so '+' cannot add it; "
            f"set it with {override} (or add-or-set with ++{override})"
        )
    return one_line(text)


def _yaml_error(exc: Any) -> str:
    mark = getattr(exc, "problem_mark", None)
    where = f"{mark.name}:{mark.line + 1}:{mark.column + 1}" if mark is not None else "config"
    problem = " ".join(str(p) for p in (exc.context, exc.problem) if p) or type(exc).__name__
    return f"{where}: not valid YAML ({problem})"


def _output_dir_error(key: str, exc: OSError) -> str:
    where = exc.filename if exc.filename is not None else "its folder"
    problem = exc.strerror or type(exc).__name__
    return f"{key}: cannot create or write {where} ({problem}); set {key} to a folder you can write"


def _unwrapped(exc: BaseException) -> bool:
    return not isinstance(exc, (HydraException, OmegaConfBaseException))


def is_config_error(exc: BaseException) -> bool:
    """Whether ``exc`` is bad input (an override, a config file) rather than a failure."""
    import yaml

    config_errors = (HydraException, OmegaConfBaseException, yaml.YAMLError, ValueError)
    if isinstance(exc, config_errors) or output_dir_at_fault(exc) is not None:
        return True
    return override_at_fault(exc) is not None or group_choice_at_fault(exc) is not None


def _printable(text: str) -> str:
    """``text`` on one printable line: control and line-break characters escaped."""
    return "".join(
        c if c.isprintable() or c == " " else c.encode("unicode_escape").decode("ascii")
        for c in text
    )


def format_hydra_error(exc: BaseException, *, config_name: str = "config") -> str:
    """The one-line message for an error raised before or while Hydra composes the config.

    Args:
        exc: what ``hydra.main`` raised (with ``HYDRA_FULL_ERROR=1`` it re-raises).
        config_name: the primary config, not worth naming as the file at fault.

    Returns:
        One line without the ``error:`` prefix, naming the override, key or file;
        characters of the user's input that would break the line are escaped.
    """
    return _printable(_format(exc, config_name))


def _format(exc: BaseException, config_name: str) -> str:
    import yaml

    if isinstance(exc, MissingConfigException):
        return _missing_config(exc, config_name)
    if isinstance(exc, OverrideParseException):
        return _override_parse(exc)
    if isinstance(exc, ConfigCompositionException):
        inner = _omegaconf_cause(exc)
        if inner is not None:
            return _omegaconf_error(str(exc), inner, config_name)
        return _composition(exc)
    if isinstance(exc, OmegaConfBaseException):
        return _omegaconf_error("", exc, config_name)
    if isinstance(exc, yaml.MarkedYAMLError):
        return _yaml_error(exc)
    output_key = output_dir_at_fault(exc)
    if output_key is not None:
        assert isinstance(exc, OSError)
        return _output_dir_error(output_key, exc)
    override = override_at_fault(exc) if _unwrapped(exc) else None
    if override is not None:
        problem = "nested too deeply" if isinstance(exc, RecursionError) else one_line(str(exc))
        return f"{override}: cannot apply this override ({problem})"
    choice = group_choice_at_fault(exc) if _unwrapped(exc) else None
    if choice is not None:
        problem = type(exc).__name__ + (f": {one_line(str(exc))}" if str(exc).strip() else "")
        return f"{choice}: a config group option must be a name or a list of names ({problem})"
    if isinstance(exc, (HydraException, ValueError)):
        return one_line(str(exc))
    return f"{type(exc).__name__}: {one_line(str(exc))} (set DML_DEBUG=1 for the traceback)"
