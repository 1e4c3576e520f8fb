"""The MLflow pyfunc model that declarative_ml logs ("models from code").

MLflow copies this file into each logged model, so serving needs neither
declarative_ml nor pickle: the fitted preprocessing is read from a skops file
(only scikit-learn and NumPy types are trusted), the estimator from its native
format (XGBoost UBJ; for torch a state_dict read with ``weights_only=True`` and
the network's JSON config, rebuilt by ``torch_net.py`` shipped beside this file;
or skops for scikit-learn), and the column and label metadata from JSON.
``predict`` takes raw rows, as the training data had them.

Pass ``params={"predict_method": "predict_proba"}`` to get class probabilities.
"""

from __future__ import annotations

import json
from pathlib import Path

import mlflow
import pandas as pd
from mlflow.pyfunc import PythonModel

# Types a skops file may hold; anything else is refused before loading.
_TRUSTED_PREFIXES = ("sklearn.", "numpy.", "scipy.", "builtins.", "collections.")


def _load_skops(path: str):
    import skops.io as sio

    untrusted = sio.get_untrusted_types(file=path)
    refused = [t for t in untrusted if not t.startswith(_TRUSTED_PREFIXES)]
    if refused:
        raise ValueError(f"{path}: refusing to load untrusted types {refused}")
    return sio.load(path, trusted=untrusted)


def _load_estimator(artifacts: dict, meta: dict):
    path = artifacts["estimator"]
    if meta["format"] == "xgboost-ubj":
        import xgboost

        estimator = getattr(xgboost, meta["estimator_class"].rsplit(".", 1)[1])()
        estimator.load_model(path)
        return estimator
    if meta["format"] == "torch-state-dict":
        try:  # the copy logged with the model (code_paths), so it matches the weights
            import torch_net
        except ImportError:
            from declarative_ml.serving import torch_net
        return torch_net.load_predictor(path, artifacts["network"])
    return _load_skops(path)


class DeclaredModel(PythonModel):
    """Preprocessing + estimator + label decoding, loaded from safe files."""

    def load_context(self, context):
        artifacts = context.artifacts
        self.meta = json.loads(Path(artifacts["meta"]).read_text())
        preprocess = artifacts.get("preprocess")
        self.preprocess = _load_skops(preprocess) if preprocess else None
        self.estimator = _load_estimator(artifacts, self.meta)

    def _features(self, model_input):
        frame = pd.DataFrame(model_input)
        optional = set(self.meta.get("optional", []))
        for column in self.meta["features"]:  # optional columns may be left out: imputed
            if column not in frame.columns and column in optional:
                frame[column] = float("nan")
        missing = [c for c in self.meta["features"] if c not in frame.columns]
        if missing:
            raise ValueError(f"input is missing feature columns {missing}")
        frame = frame[self.meta["features"]]
        return self.preprocess.transform(frame) if self.preprocess is not None else frame

    def predict(self, context, model_input: pd.DataFrame, params: dict | None = None):
        method = (params or {}).get("predict_method", "predict")
        features = self._features(model_input)
        classes = self.meta.get("classes")
        if method == "predict_proba":
            if classes is None:
                raise ValueError("predict_proba is only available for classifiers")
            proba = self.estimator.predict_proba(features)
            return pd.DataFrame(proba, columns=[str(c) for c in classes])
        if method != "predict":
            raise ValueError(f"unknown predict_method {method!r}; use predict or predict_proba")
        predictions = self.estimator.predict(features)
        if classes is not None:
            return pd.Series([classes[int(i)] for i in predictions], name="prediction")
        return pd.Series(predictions, name="prediction")


mlflow.models.set_model(DeclaredModel())
