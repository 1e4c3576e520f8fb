"""PyTorch models as scikit-learn estimators (``model=mlp``).

Importing this package does not import torch; fitting does, and a missing
torch is reported as one line that says how to install it.
"""

from declarative_ml.models.torch.mlp import MLPClassifier, MLPRegressor

__all__ = ["MLPClassifier", "MLPRegressor"]
