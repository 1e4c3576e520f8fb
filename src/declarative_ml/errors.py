"""The exceptions declarative_ml raises on bad input.

Every error a user can cause is one of these. Each also subclasses the matching
builtin, so callers that catch ``ValueError`` or ``LookupError`` keep working.
The command line prints ``str(error)`` on one line and exits non-zero; the
message therefore names the file, key or column at fault and what is allowed.
"""

from __future__ import annotations


class DeclarativeMLError(Exception):
    """Base class of every error caused by a user's config, data or store."""

    exit_code = 2
    # A fuller message for the terminal only, when ``str(error)`` (what may be recorded
    # in MLflow: an error tag, a sweep's trial table) must leave something out, such as
    # the data values that failed a check.
    terminal_message: str | None = None


class ConfigError(DeclarativeMLError, ValueError):
    """A config key, value or option is invalid (raised before any data is loaded)."""


class DataValidationError(DeclarativeMLError, ValueError):
    """The data does not exist, cannot be read, or breaks its declared schema."""


class RuleError(DeclarativeMLError, ValueError):
    """A promotion rule cannot be parsed or names an unknown metric."""


class RegistryError(DeclarativeMLError, LookupError):
    """A registered model, version or alias is missing or cannot be changed."""


class TrackingError(DeclarativeMLError, ConnectionError):
    """The MLflow tracking store cannot be reached or refused a write."""


class SweepError(DeclarativeMLError, RuntimeError):
    """A sweep could not record every trial (or none finished); the sweep exits non-zero."""

    exit_code = 1
