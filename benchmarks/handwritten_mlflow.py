"""Hand-written baseline: the xgb_baseline experiment written with plain MLflow.

This is what a data scientist typically writes without our tool: the fluent
MLflow API, a signature and input example, a registered model, and MLflow's
default (inferred) pip requirements. It does the same job as
``python -m declarative_ml experiment=xgb_baseline``.

Usage: python benchmarks/handwritten_mlflow.py [--tracking-uri URI]
(defaults to $MLFLOW_TRACKING_URI).
"""

import argparse
import os

import mlflow
import mlflow.xgboost
from mlflow.models import infer_signature
from sklearn.datasets import load_breast_cancer
from sklearn.metrics import accuracy_score, f1_score, roc_auc_score
from sklearn.model_selection import train_test_split
from xgboost import XGBClassifier

PARAMS = {"n_estimators": 100, "max_depth": 6, "learning_rate": 0.3, "random_state": 42}
SPLIT = {"test_size": 0.2, "stratify": True, "split_seed": 42}


def metrics(model, X, y, prefix):
    preds = model.predict(X)
    proba = model.predict_proba(X)[:, 1]
    return {
        f"{prefix}_accuracy": accuracy_score(y, preds),
        f"{prefix}_roc_auc": roc_auc_score(y, proba),
        f"{prefix}_f1": f1_score(y, preds),
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tracking-uri", default=os.environ.get("MLFLOW_TRACKING_URI"))
    args = parser.parse_args()
    if args.tracking_uri:
        mlflow.set_tracking_uri(args.tracking_uri)
    mlflow.set_experiment("bench-handwritten")

    X, y = load_breast_cancer(as_frame=True, return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=SPLIT["test_size"], stratify=y, random_state=SPLIT["split_seed"]
    )

    with mlflow.start_run() as run:
        mlflow.log_params({**PARAMS, **SPLIT})
        model = XGBClassifier(**PARAMS).fit(X_train, y_train)
        mlflow.log_metrics(metrics(model, X_test, y_test, "test"))
        mlflow.log_metrics(metrics(model, X_train, y_train, "train"))
        preds = model.predict(X_test)
        mlflow.xgboost.log_model(
            model,
            name="model",
            signature=infer_signature(X_test, preds),
            input_example=X_test.head(5),
            registered_model_name="bench-handwritten",
        )
    print(run.info.run_id)


if __name__ == "__main__":
    main()
