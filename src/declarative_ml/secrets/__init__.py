"""Keeping secrets out of the record: which values are secret (``detect``), the process's
book of them and masking (``book``), masked YAML and log records (``output``).

The ground floor: no MLflow, no Hydra, nothing of declarative_ml above it. What is written
to MLflow, to Hydra's output folders, to the terminal or to logs passes through
:func:`mask_text`, :func:`mask_config` or :func:`mask_tree` first.
"""

from declarative_ml.secrets.book import (
    BOOK,
    MIN_TEXT_SECRET,
    SecretBook,
    mask_config,
    mask_overrides,
    mask_text,
    mask_tree,
    remember_config,
)
from declarative_ml.secrets.detect import (
    MASK,
    KeyPath,
    dotted,
    env_references,
    looks_secret,
    redact_uri,
    secret_origins,
    secret_values,
    unresolved_strings,
    uri_passwords,
)
from declarative_ml.secrets.output import dump_yaml, install_log_masking

__all__ = [
    "BOOK",
    "MASK",
    "MIN_TEXT_SECRET",
    "KeyPath",
    "SecretBook",
    "dotted",
    "dump_yaml",
    "env_references",
    "install_log_masking",
    "looks_secret",
    "mask_config",
    "mask_overrides",
    "mask_text",
    "mask_tree",
    "redact_uri",
    "remember_config",
    "secret_origins",
    "secret_values",
    "unresolved_strings",
    "uri_passwords",
]
