"""Which classes a config may name, checked before anything is imported.

YAML can arrive in a pull request; naming ``os.system`` or ``builtins.open`` as an
estimator must not run it. Only classes under the modules below may be named,
plus modules a user lists explicitly in ``model.trusted_modules``.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Iterable

from declarative_ml.errors import ConfigError

ALLOWED_MODULES = ("sklearn", "xgboost", "declarative_ml.models.torch")

_DOTTED = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)+$")


def _under(module: str, prefix: str) -> bool:
    return module == prefix or module.startswith(prefix + ".")


def check_class_path(path: object, *, key: str, trusted_modules: Iterable[str] = ()) -> str:
    """Check that ``path`` names a class under an allowed module, without importing it.

    Args:
        path: the dotted class path from the config, e.g. ``xgboost.XGBClassifier``.
        key: the config key it came from, for the error message.
        trusted_modules: extra module prefixes the user opted in to.

    Returns:
        The path, unchanged.

    Raises:
        ConfigError: if the path is malformed, private, or outside the allowlist.
    """
    if not isinstance(path, str) or not _DOTTED.match(path):
        raise ConfigError(
            f"{key}: {path!r} is not a dotted class path like 'xgboost.XGBClassifier'"
        )
    module, _, name = path.rpartition(".")
    allowed = (*ALLOWED_MODULES, *trusted_modules)
    if not any(_under(module, prefix) for prefix in allowed) or name.startswith("_"):
        raise ConfigError(
            f"{key}: '{path}' is not allowed (not in the estimator allowlist): "
            f"estimators must come from "
            f"{', '.join(ALLOWED_MODULES)} (opt in to your own module with "
            f"model.trusted_modules=[your_module])"
        )
    return path


def import_class(path: str, *, key: str, trusted_modules: Iterable[str] = ()) -> type:
    """Import a class already accepted by :func:`check_class_path`.

    The class itself must also be defined under an allowed module and be an
    estimator (have ``fit``): an allowed module may re-export anything it imported
    (``sklearn.datasets._base.Path`` is ``pathlib.Path``).

    Raises:
        ConfigError: if the module or class does not exist, is not a class, is
            defined outside the allowlist, or is not an estimator.
    """
    module_name, _, name = path.rpartition(".")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise ConfigError(f"{key}: cannot import module '{module_name}' ({exc})") from None
    cls = getattr(module, name, None)
    if not isinstance(cls, type):
        raise ConfigError(f"{key}: '{module_name}' has no class '{name}'")
    home = cls.__module__
    if not any(_under(home, prefix) for prefix in (*ALLOWED_MODULES, *trusted_modules)):
        raise ConfigError(
            f"{key}: '{path}' is not allowed: it is {home}.{cls.__qualname__}, re-exported; "
            f"estimators must be defined in {', '.join(ALLOWED_MODULES)}"
        )
    if not callable(getattr(cls, "fit", None)):
        raise ConfigError(f"{key}: '{path}' is not an estimator (it has no fit method)")
    return cls
