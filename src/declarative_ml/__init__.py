"""declarative_ml: ML experiments declared in YAML, tracked in MLflow.

Importing the package is cheap: MLflow, XGBoost and torch are imported only by
the code paths that need them.
"""

__version__ = "0.1.0"
