"""Where a torch model trains: ``device: auto | cpu | cuda`` resolved, and named for the record."""

from __future__ import annotations

import sys
from typing import Any


def resolve_device(requested: str, torch: Any) -> str:
    """``auto`` is CUDA when present, else the CPU; ``cuda`` without CUDA is an error.

    Raises:
        ValueError: ``cuda`` was asked for and CUDA is not available.
    """
    if requested == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if requested == "cuda" and not torch.cuda.is_available():
        raise ValueError("device='cuda' but CUDA is not available; use device='auto' or 'cpu'")
    return str(requested)


def device_label(device: str) -> str:
    """``cpu``, or ``cuda (NVIDIA H100 80GB HBM3)``: what the run records as ``dml.device``."""
    if not device.startswith("cuda") or "torch" not in sys.modules:
        return device
    torch = sys.modules["torch"]
    return f"{device} ({torch.cuda.get_device_name(torch.device(device))})"
