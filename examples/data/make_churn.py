"""Writes churn.csv: 600 synthetic customers (seeded, so the file is reproducible).

Not real data: churn is drawn from a logistic model of support calls, tenure, monthly
charges and plan, with a few missing charges and regions, so the README's dataset
example (``examples/my_configs/dataset/churn.yaml``) has something to learn and impute.
Run from the repository root: ``python examples/data/make_churn.py``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

ROWS = 600


def make_churn(rows: int = ROWS, seed: int = 7) -> pd.DataFrame:
    """The synthetic customers, one row each."""
    rng = np.random.default_rng(seed)
    tenure = rng.integers(1, 73, rows)
    charges = np.round(rng.uniform(20, 120, rows), 2)
    calls = rng.poisson(2.0, rows).clip(0, 20)
    plan = rng.choice(["basic", "standard", "premium"], rows, p=[0.5, 0.3, 0.2])
    region = rng.choice(["north", "south", "east", "west"], rows).astype(object)
    logit = -1.0 + 1.0 * calls - 0.09 * tenure + 0.04 * (charges - 70) + 1.5 * (plan == "basic")
    churned = (rng.uniform(size=rows) < 1 / (1 + np.exp(-logit))).astype(int)
    frame = pd.DataFrame(
        {
            "tenure_months": tenure,
            "monthly_charges": charges,
            "support_calls": calls,
            "plan": plan,
            "region": region,
            "churned": churned,
        }
    )
    frame.loc[rng.choice(rows, 12, replace=False), "monthly_charges"] = np.nan
    frame.loc[rng.choice(rows, 9, replace=False), "region"] = None
    return frame


if __name__ == "__main__":
    make_churn().to_csv(Path(__file__).with_name("churn.csv"), index=False)
