"""Saving a fitted pipeline in safe, native formats (no pickle); MLflow is not imported here."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

from declarative_ml.models.backends import backend_for


@dataclass(frozen=True)
class SavedModel:
    """Files of a fitted pipeline, ready to log."""

    artifacts: dict[str, str]
    size_mb: float
    requirements: list[str]
    code_paths: list[str] = field(default_factory=list)  # shipped beside the model (torch)


def _pin(*packages: str) -> list[str]:
    # A local version label (torch's "2.13.0+cpu") names no file on PyPI; "==2.13.0"
    # still matches it when installed from another index.
    return [f"{p}=={metadata.version(p).split('+')[0]}" for p in packages]


def save_pipeline(
    pipeline: Any,
    *,
    family: str,
    estimator_class: str,
    features: list[str],
    classes: list[Any] | None,
    optional: Sequence[str] = (),
    directory: Path,
) -> SavedModel:
    """Write preprocessing (skops), the estimator in its family's native format (the
    backend's: XGBoost UBJ, torch state_dict + network JSON, or skops) and metadata (JSON).

    No file is a pickle: loading never runs arbitrary code.

    Args:
        pipeline: fitted Pipeline with an optional ``preprocess`` step and an ``estimator`` step.
        family: ``xgboost``, ``torch`` or ``sklearn``.
        estimator_class: dotted class path, recorded for loading.
        features: raw input columns, in order.
        classes: original class labels (index = encoded label), None for regression.
        optional: features that had missing values in training: a request may omit them.
        directory: where to write the files.

    Returns:
        Paths by artifact key, total size and exact pip requirements.
    """
    directory.mkdir(parents=True, exist_ok=True)
    estimator = pipeline.named_steps["estimator"]
    preprocess = pipeline.named_steps.get("preprocess")
    packages = ["mlflow", "pandas", "numpy", "scikit-learn"]
    artifacts: dict[str, str] = {}
    code_paths: list[str] = []
    if preprocess is not None:
        import skops.io as sio

        artifacts["preprocess"] = str(directory / "preprocess.skops")
        sio.dump(preprocess, artifacts["preprocess"])
        packages.append("skops")
    saved = backend_for(family).save(estimator, directory)
    artifacts.update(saved.artifacts)
    packages += saved.packages
    code_paths += saved.code_paths
    fmt = saved.format
    meta = {
        "format": fmt,
        "estimator_class": estimator_class,
        "features": features,
        "optional": list(optional),
        "classes": [c.item() if hasattr(c, "item") else c for c in classes]
        if classes is not None
        else None,
    }
    artifacts["meta"] = str(directory / "meta.json")
    Path(artifacts["meta"]).write_text(json.dumps(meta, indent=2))
    size = sum(Path(p).stat().st_size for p in artifacts.values())
    return SavedModel(artifacts, size / 1e6, _pin(*dict.fromkeys(packages)), code_paths)
