"""Floor: the xgb_baseline job with no tracking at all.

Imports, load, split, fit, evaluate, save the model to a temporary directory.
No MLflow import, so this is the least any tool can cost for the same job.

Usage: python benchmarks/no_tracking.py
"""

import tempfile
from pathlib import Path

from sklearn.datasets import load_breast_cancer
from sklearn.metrics import accuracy_score, f1_score, roc_auc_score
from sklearn.model_selection import train_test_split
from xgboost import XGBClassifier

X, y = load_breast_cancer(as_frame=True, return_X_y=True)
X_train, X_test, y_train, y_test = train_test_split(
    X, y, test_size=0.2, stratify=y, random_state=42
)
model = XGBClassifier(n_estimators=100, max_depth=6, learning_rate=0.3, random_state=42)
model.fit(X_train, y_train)

preds = model.predict(X_test)
proba = model.predict_proba(X_test)[:, 1]
print(
    f"accuracy={accuracy_score(y_test, preds):.4f} "
    f"roc_auc={roc_auc_score(y_test, proba):.4f} f1={f1_score(y_test, preds):.4f}"
)

with tempfile.TemporaryDirectory() as tmpdir:
    model.save_model(Path(tmpdir) / "model.ubj")
