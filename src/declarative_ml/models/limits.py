"""Upper bounds on counts that libraries check only from below.

scikit-learn, XGBoost and our MLP take any positive count of trees, boosting rounds or
epochs, and then work until killed: ``n_estimators=10**20`` is a valid int to all of
them, and the run it starts never ends. A million is past every realistic setting
(boosting with early stopping stops in the thousands, forests hold hundreds of trees,
networks train for hundreds of epochs) and still finishes, so the config check refuses
only what could never be meant.
"""

from __future__ import annotations

MAX_ROUNDS = 1_000_000
