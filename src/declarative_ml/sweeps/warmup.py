"""A process that runs many trials: libraries imported once, then kept out of the GC's way.

A joblib worker starts bare, and its trials train in the worker itself (``runner._isolate``
keeps sweep trials in-process), so what one trial imports stays for the next. But loky runs
a full garbage collection after every task: with MLflow, SQLAlchemy, pandas, scikit-learn
and matplotlib loaded that walks some 400,000 long-lived objects, about 0.2 s of CPU per
trial.

So a trial process imports what every trial needs before its first trial
(:func:`prepare_process`), and after its first trial, when everything a trial loads
lazily (the tracking store, its ORM) is loaded too, moves what is alive into the GC's
permanent generation (:func:`freeze_process`): later collections walk only what the
trials themselves create, a few milliseconds.
"""

from __future__ import annotations

import gc
import importlib
import logging

logger = logging.getLogger(__name__)

# What every trial needs whatever the model: tracking and model logging (MLflow), data,
# preprocessing and metrics (pandas, scikit-learn), and our own training path.
COMMON_MODULES = (
    "mlflow",
    "mlflow.data.pandas_dataset",
    "mlflow.models",
    "mlflow.pyfunc",
    "sklearn.compose",
    "sklearn.metrics",
    "sklearn.model_selection",
    "sklearn.pipeline",
    "sklearn.preprocessing",
    "declarative_ml.runner",
    "declarative_ml.tracking.model",
    "declarative_ml.tracking.session",
)
PLOT_MODULES = ("matplotlib.backends.backend_agg", "matplotlib.figure")

_prepared = False
_frozen = False


def trial_modules(family: str | None, plots: bool) -> tuple[str, ...]:
    """The modules a trial of ``family`` imports (matplotlib only when it plots)."""
    from declarative_ml.models.backends import MODULES, backend_for

    # The family's own library, as its backend names it (nothing is read from a config).
    family_modules = backend_for(family).modules if family in MODULES else ()
    return COMMON_MODULES + family_modules + (PLOT_MODULES if plots else ())


def prepare_process(family: str | None, *, plots: bool) -> bool:
    """Import a trial's libraries, once per process, before its first trial.

    A module that fails to import is skipped: the trial itself reports the error.

    Args:
        family: ``model.family`` of the sweep (``sklearn``, ``xgboost``, ``torch``).
        plots: whether trials write plots (``run.log_plots``).

    Returns:
        True if this call imported them, False if the process was prepared already.
    """
    global _prepared
    if _prepared:
        return False
    _prepared = True
    for name in trial_modules(family, plots):
        try:
            importlib.import_module(name)
        except Exception:  # a missing optional library, a broken install: the trial says why
            logger.debug("could not import %s ahead of the trials", name, exc_info=True)
    return True


def freeze_process() -> bool:
    """After a process's first trial: collect garbage, then freeze what is left, once.

    What is frozen is never collected again. What a first trial leaves alive is nearly
    all module and library state; the rest (that trial's Hydra job state) is a one-off,
    a few hundred objects.

    Returns:
        True if this call froze, False if the process was frozen already.
    """
    global _frozen
    if _frozen:
        return False
    _frozen = True
    gc.collect()  # what is garbage now is freed, not frozen
    gc.freeze()
    return True
