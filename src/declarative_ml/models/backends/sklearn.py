"""scikit-learn estimators: the defaults of :class:`~.base.Backend`."""

from __future__ import annotations

from declarative_ml.models.backends.base import Backend

BACKEND = Backend()
