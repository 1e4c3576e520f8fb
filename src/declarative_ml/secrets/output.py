"""Writing masked output: YAML records and the process's log records."""

from __future__ import annotations

import logging
from typing import Any

import yaml

from declarative_ml.secrets.book import BOOK


def dump_yaml(node: Any) -> str:
    """A plain (already masked) mapping or list as YAML that ``OmegaConf.load`` reads back.

    ``${oc.env:...}`` stays an interpolation there, so a rerun reads the variable again.
    """
    return yaml.safe_dump(node, default_flow_style=False, allow_unicode=True, sort_keys=False)


def install_log_masking() -> None:
    """Mask every log record this process creates from now on (idempotent).

    Hydra's launchers log each job's overrides, and a library may log a URI; a
    record factory sees them all, whatever handlers logging is reconfigured with.
    """
    current = logging.getLogRecordFactory()
    if getattr(current, "dml_masking", False):
        return

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = current(*args, **kwargs)
        try:
            message = record.getMessage()
        except Exception:  # a malformed record is logging's to report
            return record
        masked = BOOK.mask_text(message)
        if masked != message:
            record.msg, record.args = masked, None
        return record

    factory.dml_masking = True  # type: ignore[attr-defined]
    logging.setLogRecordFactory(factory)
