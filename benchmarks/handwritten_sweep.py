"""The hand-written equivalent of a declarative_ml grid sweep: one process, a loop.

The sweep that ``sweep_throughput.py`` times: scikit-learn's digits (1,797 rows, 64
features, 10 classes), a stratified split with seed 42, ``XGBClassifier`` with
``n_jobs=1`` (as ``conf/model/xgboost.yaml``), a grid over ``max_depth`` and
``learning_rate``. A parent MLflow run, then for each grid point a nested child run with
params, train and test metrics (accuracy, macro F1, log loss) and
``mlflow.xgboost.log_model`` (signature, input example, pip requirements left to
MLflow, as users write it). Prints the summed fit seconds.

    python benchmarks/handwritten_sweep.py --tracking-uri sqlite:///mlflow.db \
        --depths 3,4 --rates 0.1,0.3 --estimators 500
"""

from __future__ import annotations

import argparse
import itertools
import time

import mlflow
from mlflow.models import infer_signature
from sklearn.datasets import load_digits
from sklearn.metrics import accuracy_score, f1_score, log_loss
from sklearn.model_selection import train_test_split
from xgboost import XGBClassifier


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tracking-uri", required=True)
    parser.add_argument("--depths", default="3,4,5,6", help="max_depth values, comma-separated")
    parser.add_argument("--rates", default="0.1,0.3", help="learning_rate values")
    parser.add_argument("--estimators", type=int, default=500, help="boosting rounds per fit")
    args = parser.parse_args()
    mlflow.set_tracking_uri(args.tracking_uri)
    mlflow.set_experiment("bench-handwritten-sweep")
    X, y = load_digits(return_X_y=True, as_frame=True)
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.2, stratify=y, random_state=42
    )
    grid = itertools.product(
        [int(d) for d in args.depths.split(",")], [float(r) for r in args.rates.split(",")]
    )
    fit_seconds = 0.0
    with mlflow.start_run(run_name="sweep"):
        for depth, rate in grid:
            with mlflow.start_run(nested=True):
                params = {
                    "n_estimators": args.estimators,
                    "max_depth": depth,
                    "learning_rate": rate,
                    "n_jobs": 1,
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
                    proba = model.predict_proba(X_s)
                    pred = model.predict(X_s)
                    metrics[f"{split}_accuracy"] = accuracy_score(y_s, pred)
                    metrics[f"{split}_f1_macro"] = f1_score(y_s, pred, average="macro")
                    metrics[f"{split}_log_loss"] = log_loss(y_s, proba)
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
