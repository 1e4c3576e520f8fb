"""Which configs use a promotion rule file: the experiments whose composed config selects
it, each composed as a run would compose it, with the metric names its runs log and what
the trust checks refuse in it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from declarative_ml.cli.rule_files import GROUP, RuleFile, locate_rule_file
from declarative_ml.config.resolvers import CONF_DIR
from declarative_ml.errors import ConfigError, RuleError


@dataclass
class Composed:
    """A config composed in-process (``cfg``, unresolved, without ``hydra``), the option
    Hydra chose per group (``choices``), the folders it searched, in its order, and what
    the trust checks (``config/guard.py``) refuse in it (``untrusted``)."""

    cfg: Any
    choices: dict[str, str]
    search_dirs: list[Path] = field(default_factory=list)
    untrusted: list[str] = field(default_factory=list)

    def rule_file(self) -> RuleFile:
        """The file the composed ``promotion`` came from (the first folder that has it).

        Raises:
            RuleError: When no searched folder holds ``promotion/<choice>.yaml``.
        """
        choice = self.choices.get(GROUP)
        for folder in self.search_dirs:
            candidate = folder / GROUP / f"{choice}.yaml"
            if candidate.is_file():
                return locate_rule_file(candidate)
        searched = ", ".join(str(d) for d in self.search_dirs)
        raise RuleError(f"promotion={choice}: no {GROUP}/{choice}.yaml in {searched}")


def compose_with_sources(overrides: Sequence[str], *, location: Any = None) -> Composed:
    """Compose the packaged config as ``compose_config`` does, keeping Hydra's choices and
    the trust checks' verdict on the whole config (``hydra`` node included).

    Raises:
        ConfigError: One line for any composition failure.
    """
    from omegaconf import OmegaConf, open_dict

    from declarative_ml.config.compose import PACKAGED, compose_config
    from declarative_ml.config.guard import check_config
    from declarative_ml.config.trust import Trust, value_override_keys

    cfg = compose_config(overrides, hydra=True, location=location or PACKAGED)
    runtime = cfg.hydra.runtime
    choices = {str(k): str(v) for k, v in OmegaConf.to_container(runtime.choices).items()}  # type: ignore[union-attr]
    dirs = [Path(s.path).resolve() for s in runtime.config_sources if s.schema == "file"]
    trust = Trust(command_line=tuple(value_override_keys(overrides, list(choices))))
    untrusted = check_config(cfg, trust).problems
    with open_dict(cfg):
        del cfg["hydra"]
    return Composed(cfg, choices, dirs, untrusted)


@dataclass(frozen=True)
class Use:
    """A config that selects a rule file: its ``experiment`` option and ``path`` (None for
    the root config alone), the metric names its runs log (``known``) or why it did
    not compose (``error``)."""

    experiment: str | None
    path: Path | None
    known: tuple[str, ...] = ()
    error: str | None = None
    untrusted: tuple[str, ...] = ()

    @property
    def label(self) -> str:
        """``experiment=NAME``, or ``(no experiment)`` for the root config."""
        return f"experiment={self.experiment}" if self.experiment else "(no experiment)"


def _declared_promotion(path: Path) -> str | None:
    """The promotion option a config file's defaults list selects (read, not composed)."""
    import yaml

    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return None
    defaults = data.get("defaults") if isinstance(data, dict) else None
    for item in defaults if isinstance(defaults, list) else []:
        if isinstance(item, dict) and len(item) == 1:
            ((key, value),) = item.items()
            if re.sub(r"^override\s+", "", str(key)).lstrip("/") == GROUP:
                return str(value)
    return None


def known_metric_names(cfg: Any) -> tuple[str, ...]:
    """Every metric name the runs of a composed config log (``new_data_*`` included
    when ``promotion.new_data`` is set).

    Raises:
        ConfigError: When ``metrics`` names a metric unfit for the task.
    """
    from declarative_ml.metrics import metric_names, resolve_metrics

    task = str(getattr(cfg.dataset.task, "value", cfg.dataset.task))
    metrics = resolve_metrics(list(cfg.metrics) if cfg.metrics is not None else None, task)
    names = metric_names(metrics)
    if cfg.promotion.get("new_data"):
        names += [f"new_data_{m}" for m in metrics]
    return tuple(names)


def all_metric_names(new_data: bool) -> tuple[str, ...]:
    """Every metric name a run of any task can log (for a file no experiment uses)."""
    from declarative_ml.metrics import METRICS, metric_names

    names = metric_names(METRICS)
    if new_data:
        names += [f"new_data_{m}" for m in METRICS]
    return tuple(names)


def searchpath_overrides(rule_file: RuleFile) -> list[str]:
    """The overrides that put a user's config root on Hydra's search path."""
    if rule_file.root is None or rule_file.packaged:
        return []
    return [f"hydra.searchpath=[file://{rule_file.root.as_posix()}]"]


def experiments_using(
    rule_file: RuleFile, cache: dict[tuple[str, ...], Composed | ConfigError] | None = None
) -> list[Use]:
    """The experiments (and the root config alone) whose composed config uses ``rule_file``.

    Experiments are the ``experiment/*.yaml`` files of the rule file's own config root,
    composed with that root on the search path, so the package's rule files are
    matched with the package's experiments and a user's with the user's. A config
    uses the file when it selects ``promotion=<option>`` and no folder earlier on
    Hydra's search path has a file of that name. An experiment that does not
    compose is returned with its error when its defaults list names the option.

    ``cache`` (compositions by overrides) may be shared across the files of one check.
    Returns the uses, the root config first, then experiments by name.
    """
    cache = {} if cache is None else cache
    if rule_file.root is None:
        return []
    base = searchpath_overrides(rule_file)
    root_choice = _declared_promotion(CONF_DIR / "config.yaml")
    configs: list[tuple[str | None, Path | None]] = [(None, None)]
    configs += [(p.stem, p) for p in sorted((rule_file.root / "experiment").glob("*.yaml"))]
    uses = []
    for name, path in configs:
        overrides = tuple(base + ([f"experiment={name}"] if name else []))
        if overrides not in cache:
            try:
                cache[overrides] = compose_with_sources(overrides)
            except ConfigError as exc:
                cache[overrides] = exc
        try:
            composed = cache[overrides]
            if isinstance(composed, ConfigError):
                raise composed
            if composed.choices.get(GROUP) != rule_file.option:
                continue
            if composed.rule_file().path != rule_file.path:
                continue  # an earlier folder on the search path shadows this file
            known = known_metric_names(composed.cfg)
        except ConfigError as exc:
            declared = (_declared_promotion(path) if path else None) or root_choice
            if declared == rule_file.option:
                uses.append(Use(name, path, error=str(exc)))
            continue
        uses.append(Use(name, path, known, untrusted=tuple(composed.untrusted)))
    return uses
