"""A Hydra sweeper on current Optuna: TPE search over a space declared in YAML.

Select it with ``override /hydra/sweeper: dml_optuna`` (see ``conf/sweep/xgb_optuna.yaml``).
Hydra imports every public module of this package when it scans for plugins, so
those modules stay light; Optuna is imported only when a sweep starts.
"""
