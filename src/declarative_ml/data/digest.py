"""Content digests of DataFrames: the same rows give the same digest on any machine."""

from __future__ import annotations

import hashlib
from typing import Any


def frame_digest(frame: Any) -> str:
    """A sha256 over column names, dtypes and row values (order-sensitive); 16 hex chars."""
    import pandas as pd

    h = hashlib.sha256()
    h.update("\x1f".join(f"{c}:{t}" for c, t in frame.dtypes.astype(str).items()).encode())
    h.update(pd.util.hash_pandas_object(frame, index=False).to_numpy().tobytes())
    return h.hexdigest()[:16]
