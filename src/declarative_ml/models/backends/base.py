"""The interface every model family implements, with scikit-learn's behaviour as default.

Methods take plain arrays and frames, not declarative_ml's data classes, so ``models``
stays below ``data`` and ``training``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from numbers import Integral
from pathlib import Path
from typing import Any

from declarative_ml.errors import ConfigError


@dataclass(frozen=True)
class Fitted:
    """A fitted pipeline and, for an estimator with epochs, its per-epoch history and the
    index of the epoch it holds."""

    pipeline: Any
    history: list[dict[str, float]] | None = None
    best_epoch: int | None = None


@dataclass(frozen=True)
class SavedEstimator:
    """The files of a saved estimator (artifact key -> path), their format's name, the
    packages loading them needs and code that travels with them."""

    artifacts: dict[str, str]
    format: str
    packages: list[str]
    code_paths: list[str] = field(default_factory=list)


_SKLEARN_PARAM_ERROR = re.compile(
    r"The '(\w+)' parameter of \w+ must be (.*)\. Got (.*) instead\.?$", re.DOTALL
)
_SET = re.compile(r"\{([^{}]*)\}")  # scikit-learn prints options as a set: sorted here


def param_message(text: str, path: str) -> str:
    """``model.params.KEY: must be ...; got VALUE (CLASS)`` from scikit-learn's message."""
    match = _SKLEARN_PARAM_ERROR.match(text)
    if match is None:
        return f"model.params: {path} rejected a value: {flat(text)}"
    key, allowed, got = match.groups()
    allowed = _SET.sub(lambda m: "{" + ", ".join(sorted(m.group(1).split(", "))) + "}", allowed)
    return f"model.params.{key}: must be {flat(allowed)}; got {flat(got)} ({path})"


def flat(text: str) -> str:
    """``text`` on one line, runs of whitespace as one space."""
    return " ".join(text.split())


class Backend:
    """A model family. The defaults are scikit-learn's: parameters checked by the
    estimator's declared constraints, ``Pipeline.fit``, skops files."""

    family = "sklearn"
    modules: tuple[str, ...] = ()  # libraries every trial of this family imports

    def owns(self, path: str) -> bool:
        """Whether estimator class ``path`` belongs to this family (checked before import)."""
        return not path.startswith(("xgboost.", "declarative_ml.models.torch."))

    def check_params(self, estimator: Any, path: str) -> None:
        """Refuse a parameter value now, not at fit time after the run started.

        Raises:
            ConfigError: naming ``model.params.KEY``, what is allowed and the value.
        """
        from sklearn.utils._param_validation import InvalidParameterError

        if hasattr(estimator, "_parameter_constraints") and hasattr(estimator, "_validate_params"):
            try:
                estimator._validate_params()
            except InvalidParameterError as exc:
                raise ConfigError(param_message(str(exc), path)) from None
        check_round_counts(estimator, path)

    def fit(
        self, pipeline: Any, X: Any, y: Any, *, validation: tuple[Any, Any] | None, metrics: Any
    ) -> Fitted:
        """Fit preprocessing and estimator on the training rows."""
        pipeline.fit(X, y)
        return Fitted(pipeline)

    def save(self, estimator: Any, directory: Path) -> SavedEstimator:
        """Write the fitted estimator with skops (no pickle; types checked on load)."""
        import skops.io as sio

        path = str(directory / "estimator.skops")
        sio.dump(estimator, path)
        return SavedEstimator({"estimator": path}, "skops", ["skops"])

    def device(self, estimator: Any) -> str | None:
        """Where the estimator trained, when that is worth recording (a GPU)."""
        return None


def check_round_counts(estimator: Any, path: str) -> None:
    """Refuse a count of trees or boosting rounds no fit would finish (``models/limits.py``);
    scikit-learn's own constraints bound them only from below."""
    from declarative_ml.models.limits import MAX_ROUNDS

    if not hasattr(estimator, "get_params"):
        return
    params = estimator.get_params(deep=False)
    names = ["n_estimators"]
    if type(estimator).__name__.startswith("HistGradientBoosting"):
        names.append("max_iter")  # its boosting rounds; early stopping is off on small data
    for name in names:
        value = params.get(name)
        if isinstance(value, Integral) and not isinstance(value, bool) and int(value) > MAX_ROUNDS:
            raise ConfigError(
                f"model.params.{name}: must be at most {MAX_ROUNDS} (a larger count would "
                f"run until killed); got {value} ({path})"
            )
