"""Multirun sweeps: one MLflow parent run, a child run per trial, a summary at the end.

The parent run is created once, in the process that launches the trials, before any
worker starts (so a fresh sqlite store is created once); trials find it through
``dml_sweep.json`` in Hydra's sweep directory, never through ``MLFLOW_RUN_ID``.
"""
