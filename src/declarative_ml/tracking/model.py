"""Logging a saved pipeline as an MLflow pyfunc model ("models from code")."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

from declarative_ml.models.persist import SavedModel
from declarative_ml.tracking.verify import record_digest

SERVING_CODE = Path(__file__).resolve().parents[1] / "serving" / "pyfunc_model.py"


def log_saved_model(
    client: Any,
    run_id: str,
    experiment_id: str,
    saved: SavedModel,
    *,
    signature_rows: Any,
    input_example: Any,
    predictions: Any,
) -> str:
    """Log the saved files as a pyfunc model (from code) on ``run_id``.

    Returns:
        The model URI (``models:/<model_id>``).
    """
    from mlflow.models import infer_signature

    with warnings.catch_warnings():
        # MLflow hints that integer columns cannot hold missing values and that predict
        # lacks type hints; the signature is inferred from real rows and declared here.
        warnings.simplefilter("ignore", UserWarning)
        signature = infer_signature(
            signature_rows, predictions, params={"predict_method": "predict"}
        )
        # Created here so it lands in the run's experiment: Model.log alone would put it
        # in the process's active experiment, where `runs:/<id>/model` cannot find it.
        logged = client.create_logged_model(
            experiment_id, name="model", source_run_id=run_id, model_type="declarative_ml"
        )
        info = _log(run_id, logged.model_id, saved, signature, input_example)
    # Read back from the store before the run may finish: registered means loadable.
    record_digest(client, run_id, logged, expected=[Path(p).name for p in saved.artifacts.values()])
    return str(info.model_uri)


class _Pyfunc:
    """``mlflow.pyfunc`` as a flavor for ``Model.log``, minus the serving-input check.

    ``Model.log`` honours ``validate_serving_input=False`` but forwards it to the
    flavor's ``save_model``, which pyfunc rejects; this shim drops it there. The
    check would load the model in this process (importing XGBoost and
    scikit-learn here, about a second); the training process has just used the
    same estimator, and the tests load every kind of logged model.
    """

    __name__ = "mlflow.pyfunc"

    @staticmethod
    def save_model(*, validate_serving_input: bool = False, **kwargs: Any) -> Any:
        import mlflow.pyfunc

        return mlflow.pyfunc.save_model(**kwargs)


def _log(run_id: str, model_id: str, saved: SavedModel, signature: Any, input_example: Any) -> Any:
    from mlflow.models import Model

    return Model.log(
        artifact_path=None,
        name="model",
        flavor=_Pyfunc,
        validate_serving_input=False,
        run_id=run_id,
        model_id=model_id,
        python_model=str(SERVING_CODE),
        artifacts=saved.artifacts,
        signature=signature,
        input_example=input_example,
        pip_requirements=saved.requirements,
        code_paths=saved.code_paths or None,
    )
