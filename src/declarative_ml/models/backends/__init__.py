"""One backend per model family: what differs between scikit-learn, XGBoost and torch.

A backend says which estimator classes belong to its family, checks their parameters
before a run, fits a pipeline (scoring each epoch where the estimator has epochs), saves
the fitted estimator in its library's native format, names where it trained and which
libraries its trials import up front. :func:`backend_for` picks one per run, by
``model.family``; each backend module imports its library only inside its methods, so
choosing one costs nothing. A new family (LightGBM, Lightning) is one new module here
and one line in :data:`MODULES`.
"""

from __future__ import annotations

import importlib

from declarative_ml.models.backends.base import Backend, Fitted, SavedEstimator

# model.family -> the module defining its BACKEND.
MODULES = {
    "sklearn": "declarative_ml.models.backends.sklearn",
    "xgboost": "declarative_ml.models.backends.xgboost",
    "torch": "declarative_ml.models.backends.torch",
}


def backend_for(family: str) -> Backend:
    """The backend of ``model.family`` (a schema enum, so always one of :data:`MODULES`)."""
    name = str(getattr(family, "value", family))
    backend: Backend = importlib.import_module(MODULES[name]).BACKEND
    return backend


__all__ = ["MODULES", "Backend", "Fitted", "SavedEstimator", "backend_for"]
