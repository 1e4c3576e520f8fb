"""Estimator builders: the allowlist, preprocessing and per-family construction."""
