"""A Hydra callback that keeps secrets out of Hydra's output folders and logs.

Hydra writes ``.hydra/config.yaml``, ``hydra.yaml`` and ``overrides.yaml`` before the
task function runs, ``multirun.yaml`` before the first job of a sweep, and may name
folders after ``hydra.job.override_dirname``. So, in Hydra 1.3's order of events:

- ``on_run_start`` / ``on_multirun_start`` (before any folder exists): remember the
  config's secrets, mask log records, and keep secret keys out of
  ``override_dirname`` (directly for a run; for a sweep, through
  ``hydra.job.config.override_dirname.exclude_keys``, as each job's config is
  composed again from the overrides);
- ``on_job_start`` (after Hydra wrote the job's files): rewrite them masked, and the
  sweep's ``multirun.yaml``;
- ``on_multirun_end``: rewrite the sweep folder's own files (``multirun.yaml``, the
  Optuna sweeper's results).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml
from hydra.experimental.callback import Callback
from omegaconf import DictConfig, OmegaConf, open_dict, read_write

from declarative_ml.config.hydra_node import in_multirun
from declarative_ml.secrets import (
    dump_yaml,
    env_references,
    install_log_masking,
    looks_secret,
    mask_tree,
    remember_config,
    unresolved_strings,
    uri_passwords,
)

_HYDRA_FILES = ("config.yaml", "hydra.yaml", "overrides.yaml")


def _task_part(config: DictConfig) -> DictConfig:
    # Unresolved: ``${oc.env:..}`` must still show, and an unset variable is not ours to report.
    return OmegaConf.masked_copy(config, [str(k) for k in config if k != "hydra"])


def task_overrides(config: DictConfig) -> list[str]:
    """The command-line overrides as typed (iterating the node would resolve ``${..}``)."""
    return unresolved_strings(config.hydra.overrides.task)


def _remember(config: DictConfig) -> None:
    remember_config(_task_part(config), task_overrides(config))
    remember_config(OmegaConf.create({"hydra": config.hydra}), [])


def secret_override_keys(overrides: Iterable[str]) -> set[str]:
    """Keys of overrides whose value is secret: a secret-looking key, a URI password or
    ``${oc.env:..}`` (a folder name resolves it)."""
    from hydra.core.override_parser.overrides_parser import OverridesParser

    keys = set()
    for override in OverridesParser.create().parse_overrides(list(overrides)):
        line = override.input_line or ""
        if looks_secret(override.key_or_group) or uri_passwords(line) or env_references(line):
            keys.add(override.key_or_group)
    return keys


def override_dirname(config: DictConfig, exclude: set[str]) -> str:
    """``hydra.job.override_dirname`` as Hydra builds it, without the ``exclude`` keys."""
    from hydra.core.override_parser.overrides_parser import OverridesParser

    settings = config.hydra.job.config.override_dirname
    skip = set(settings.exclude_keys) | exclude
    parsed = OverridesParser.create().parse_overrides(task_overrides(config))
    lines = sorted(o.input_line or "" for o in parsed if o.key_or_group not in skip)
    return re.sub("=", settings.kv_sep, settings.item_sep.join(lines))


def scrub_yaml_file(path: Path) -> None:
    """Rewrite a YAML file Hydra wrote with its secrets masked (untouched if none)."""
    if not path.is_file():
        return
    data = yaml.safe_load(path.read_text())
    masked = mask_tree(data)
    if masked != data:
        path.write_text(dump_yaml(masked))


class SecretsCallback(Callback):
    """Masks secrets in Hydra's output folders (files and names) and in log records."""

    def on_run_start(self, config: DictConfig, **kwargs: Any) -> None:
        _remember(config)
        install_log_masking()
        exclude = secret_override_keys(task_overrides(config))
        if exclude:  # the run folder may be named after it (hydra.run.dir)
            with read_write(config.hydra), open_dict(config.hydra):
                config.hydra.job.override_dirname = override_dirname(config, exclude)

    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        _remember(config)
        install_log_masking()
        keys = secret_override_keys(task_overrides(config))
        keys |= {str(k) for k in (config.hydra.sweeper.get("params") or {}) if looks_secret(str(k))}
        if not keys:
            return
        excluded = sorted(keys | set(config.hydra.job.config.override_dirname.exclude_keys))
        quoted = ",".join("'" + k.replace("'", "\\'") + "'" for k in excluded)
        with read_write(config.hydra), open_dict(config.hydra):
            # Each job's config is composed again from these overrides (load_sweep_config).
            config.hydra.overrides.hydra.append(
                f"hydra.job.config.override_dirname.exclude_keys=[{quoted}]"
            )
            config.hydra.job.override_dirname = override_dirname(config, keys)

    def on_job_start(self, config: DictConfig, **kwargs: Any) -> None:
        _remember(config)  # again: a joblib worker process starts here
        install_log_masking()
        if config.hydra.output_subdir is not None:
            folder = Path(config.hydra.runtime.output_dir) / str(config.hydra.output_subdir)
            for name in _HYDRA_FILES:
                scrub_yaml_file(folder / name)
        if in_multirun(config.hydra):
            scrub_yaml_file(Path(config.hydra.sweep.dir) / "multirun.yaml")

    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        for path in sorted(Path(config.hydra.sweep.dir).glob("*.yaml")):
            scrub_yaml_file(path)
