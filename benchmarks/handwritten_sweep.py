"""The hand-written equivalent of a declarative_ml grid sweep: one process, a loop.

A parent MLflow run, then for each max_depth a nested child run with params, train
and test metrics and ``mlflow.xgboost.log_model`` (signature, input example, pip
requirements left to MLflow, as users write it). Prints the summed fit seconds.

    python benchmarks/handwritten_sweep.py --tracking-uri sqlite:///mlflow.db --trials 8
"""

from __future__ import annotations

import argparse
import time

import mlflow
from mlflow.models import infer_signature
from sklearn.datasets import load_breast_cancer
from sklearn.metrics import accuracy_score, f1_score, roc_auc_score
from sklearn.model_selection import train_test_split
from xgboost import XGBClassifier


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tracking-uri", required=True)
    parser.add_argument("--trials", type=int, default=8)
    parser.add_argument("--estimators", type=int, default=200)
    args = parser.parse_args()
    mlflow.set_tracking_uri(args.tracking_uri)
    mlflow.set_experiment("bench-handwritten-sweep")
    X, y = load_breast_cancer(return_X_y=True, as_frame=True)
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.2, stratify=y, random_state=42
    )
    fit_seconds = 0.0
    with mlflow.start_run(run_name="sweep"):
        for depth in range(2, 2 + args.trials):
            with mlflow.start_run(nested=True):
                params = {
                    "n_estimators": args.estimators,
                    "max_depth": depth,
                    "learning_rate": 0.3,
                    "random_state": 42,
                }
                mlflow.log_params(params)
                model = XGBClassifier(**params)
                start = time.perf_counter()
                model.fit(X_train, y_train)
                fit_seconds += time.perf_counter() - start
                metrics = {}
                for split, (X_s, y_s) in {
                    "train": (X_train, y_train),
                    "test": (X_test, y_test),
                }.items():
                    proba = model.predict_proba(X_s)[:, 1]
                    pred = model.predict(X_s)
                    metrics[f"{split}_roc_auc"] = roc_auc_score(y_s, proba)
                    metrics[f"{split}_accuracy"] = accuracy_score(y_s, pred)
                    metrics[f"{split}_f1"] = f1_score(y_s, pred)
                mlflow.log_metrics(metrics)
                mlflow.xgboost.log_model(
                    model,
                    name="model",
                    input_example=X_test.head(5),
                    signature=infer_signature(X_test, model.predict(X_test)),
                )
    print(f"fit_seconds={fit_seconds:.3f}")


if __name__ == "__main__":
    main()
