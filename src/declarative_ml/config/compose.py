"""Composing configs the way a run does: the same folders, the same order, the same loader.

A run's config comes from the primary config folder (the package's ``conf/``, or
``--config-path``), an extra folder given with ``--config-dir``, and the folders in
``hydra.searchpath`` (on the command line or in the primary config). Everything
that composes a *second* config for a run (``promotion.new_data``, ``dml rules plan``,
``dml reproduce``, ``dml evaluate ... dataset=NAME``, a sweep's best-trial promotion)
must look in the same folders, or a user's own options go missing. A
:class:`ConfigLocation` says where those folders are; :func:`load_config` composes
with Hydra's own config loader (``ConfigLoaderImpl``, what ``hydra.main`` uses), without
touching Hydra's global state, so it also works inside a running Hydra app.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from omegaconf import DictConfig

from declarative_ml.config.resolvers import CONF_DIR, register_resolvers
from declarative_ml.config.store import register_configs

CONFIG_NAME = "config"
_PROVIDER_MAIN = "main"
_PROVIDER_CONFIG_DIR = "command-line"  # how Hydra names the source --config-dir adds


@dataclass(frozen=True)
class ConfigLocation:
    """Where a run's configs come from.

    Attributes:
        primary: the source of the primary config, ``file://DIR`` or ``pkg://MODULE``
            (``--config-path``; default the package's ``conf/``).
        name: the primary config's name (``--config-name``).
        config_dir: the folder ``--config-dir`` added, absolute, or None.
        searchpath: the run's ``hydra.searchpath`` entries (``file://`` paths absolute).
    """

    primary: str = f"file://{CONF_DIR}"
    name: str = CONFIG_NAME
    config_dir: str | None = None
    searchpath: tuple[str, ...] = ()

    def overrides(self) -> list[str]:
        """The override that gives a composition this location's ``hydra.searchpath``."""
        if not self.searchpath:
            return []
        quoted = ",".join("'" + entry.replace("'", "\\'") + "'" for entry in self.searchpath)
        return [f"hydra.searchpath=[{quoted}]"]

    def to_dict(self) -> dict[str, Any]:
        """A JSON-safe form (stored with a run, read back by :meth:`from_dict`)."""
        return {
            "primary": self.primary,
            "name": self.name,
            "config_dir": self.config_dir,
            "searchpath": list(self.searchpath),
        }

    @classmethod
    def from_dict(cls, data: Any) -> ConfigLocation:
        """The location :meth:`to_dict` wrote (the packaged one for anything else)."""
        if not isinstance(data, dict):
            return cls()
        return cls(
            primary=str(data.get("primary") or f"file://{CONF_DIR}"),
            name=str(data.get("name") or CONFIG_NAME),
            config_dir=data.get("config_dir") or None,
            searchpath=tuple(str(s) for s in data.get("searchpath") or ()),
        )

    @classmethod
    def from_hydra(cls, hydra: Any | None) -> ConfigLocation:
        """The location a run was composed from, read off Hydra's own config (the ``hydra``
        node); the packaged location when there is none."""
        if hydra is None:
            return cls()
        from omegaconf import OmegaConf

        runtime = OmegaConf.select(hydra, "runtime", default=None)
        cwd = str(OmegaConf.select(hydra, "runtime.cwd", default=None) or os.getcwd())
        sources = (runtime.get("config_sources") if runtime is not None else None) or []
        primary, config_dir = f"file://{CONF_DIR}", None
        for source in sources:
            schema, path = source.get("schema"), str(source.get("path"))
            if schema == "file":
                path = os.path.join(cwd, path)
            if source.get("provider") == _PROVIDER_MAIN and schema in ("file", "pkg"):
                primary = f"{schema}://{path}"
            elif source.get("provider") == _PROVIDER_CONFIG_DIR and schema == "file":
                config_dir = path
        entries = OmegaConf.select(hydra, "searchpath", default=None) or []
        name = OmegaConf.select(hydra, "job.config_name", default=None) or CONFIG_NAME
        return cls(
            primary=primary,
            name=str(name),
            config_dir=config_dir,
            searchpath=tuple(_absolute(str(e), cwd) for e in entries),
        )


PACKAGED = ConfigLocation()


def _absolute(entry: str, cwd: str) -> str:
    """A ``file://`` search path entry made absolute against ``cwd`` (others unchanged)."""
    prefix = "file://"
    if entry.startswith(prefix) and not os.path.isabs(entry[len(prefix) :]):
        return prefix + os.path.normpath(os.path.join(cwd, entry[len(prefix) :]))
    return entry


def search_path(location: ConfigLocation) -> Any:
    """Hydra's search path for ``location``, built as ``hydra.main`` builds it."""
    from hydra._internal.utils import create_config_search_path
    from hydra.core.config_search_path import SearchPathQuery

    path = create_config_search_path(location.primary)
    if location.config_dir is not None:
        path.prepend(
            provider=_PROVIDER_CONFIG_DIR,
            path=f"file://{location.config_dir}",
            anchor=SearchPathQuery(provider="schema"),
        )
    return path


def _search_folders(location: ConfigLocation, overrides: Sequence[str]) -> list[str]:
    """The folders a composition at ``location`` with ``overrides`` reads YAML from, besides
    the package's own: ``--config-path``, ``--config-dir``, and ``hydra.searchpath`` (the
    location's, the command line's and the primary config's)."""
    from declarative_ml.config.yaml_bounds import check_yaml

    entries = [location.primary, *location.searchpath]
    if location.config_dir:
        entries.append(f"file://{location.config_dir}")
    for override in overrides:
        key, _, value = override.partition("=")
        if key.lstrip("+") == "hydra.searchpath":
            entries += [e.strip(" '\"") for e in value.strip("[] ").split(",")]
    primary = location.primary.removeprefix("file://")
    primary_file = os.path.join(primary, f"{location.name}.yaml")
    if location.primary.startswith("file://") and os.path.isfile(primary_file):
        import yaml

        with open(primary_file, encoding="utf-8", errors="replace") as handle:
            text = handle.read()
        check_yaml(text, where=primary_file)
        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError:
            data = None  # Hydra reports it
        listed = data.get("hydra", {}).get("searchpath") if isinstance(data, dict) else None
        if isinstance(listed, list):
            entries += [str(e) for e in listed]
    package = str(CONF_DIR)
    folders = []
    for entry in entries:
        if entry.startswith("file://"):
            folder = os.path.abspath(entry.removeprefix("file://"))
            if folder != package and folder not in folders:
                folders.append(folder)
    return folders


def load_config(
    overrides: Sequence[str] = (),
    *,
    location: ConfigLocation = PACKAGED,
    multirun: bool = False,
    from_shell: bool = False,
) -> DictConfig:
    """Compose the config (``hydra`` node included) with Hydra's own loader.

    Nothing is instantiated, no logging is configured and Hydra's global state is left
    alone. In multirun mode sweep overrides (``key=a,b``) are left to the sweeper, as
    Hydra does when it first reads the config of a command line.

    Raises:
        ConfigError: for a YAML file beyond :mod:`yaml_bounds`' limits (checked first).
        Whatever Hydra and OmegaConf raise for a bad override or config file.
    """
    from pathlib import Path

    from hydra._internal.config_loader_impl import ConfigLoaderImpl
    from hydra.types import RunMode

    from declarative_ml.config.yaml_bounds import check_yaml_files

    for folder in _search_folders(location, overrides):
        check_yaml_files(Path(folder))
    register_configs()
    register_resolvers()
    loader = ConfigLoaderImpl(config_search_path=search_path(location))
    return loader.load_configuration(
        config_name=location.name,
        overrides=[*location.overrides(), *overrides],
        run_mode=RunMode.MULTIRUN if multirun else RunMode.RUN,
        from_shell=from_shell,
        validate_sweep_overrides=not multirun,
    )


def compose_config(
    overrides: Sequence[str] = (), *, location: ConfigLocation = PACKAGED, hydra: bool = False
) -> DictConfig:
    """The config ``python -m declarative_ml OVERRIDES`` would run, composed in-process.

    Args:
        overrides: command-line style overrides.
        location: where the configs are (default: the package's).
        hydra: keep the ``hydra`` node (Hydra's choices, sources and settings).

    Raises:
        ConfigError: one line, as the CLI prints it, for any composition failure.
    """
    from omegaconf import open_dict

    from declarative_ml.config.errors_hydra import format_hydra_error
    from declarative_ml.errors import ConfigError

    try:
        cfg = load_config(overrides, location=location)
    except Exception as exc:  # Hydra and OmegaConf raise many types; all are config errors
        raise ConfigError(format_hydra_error(exc)) from None
    if not hydra:
        with open_dict(cfg):
            del cfg["hydra"]
    return cfg


def compose_dataset(name: str, *, location: ConfigLocation = PACKAGED) -> DictConfig:
    """The ``dataset`` node of option ``name`` (e.g. for ``promotion.new_data``), looked up
    in the folders of ``location`` (the run's own, so a user's options are found).

    Raises:
        ConfigError: when ``name`` is not a dataset option (listing the options).
    """
    from declarative_ml.errors import ConfigError

    try:
        return compose_config([f"dataset={name}"], location=location).dataset
    except ConfigError as exc:
        raise ConfigError(f"promotion.new_data: {exc}") from None
