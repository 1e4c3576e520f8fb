"""A process that runs trials imports their libraries once and freezes them for the GC once;
a single run does neither (its training overlaps MLflow's import in a child)."""

from __future__ import annotations

import subprocess
import sys

from declarative_ml.sweeps.warmup import COMMON_MODULES, trial_modules

# Run in a fresh interpreter: freezing the test process would outlive the test.
PROBE = """
import gc, sys
from omegaconf import OmegaConf
from declarative_ml.sweeps.callback import SweepCallback
from declarative_ml.sweeps import warmup

def job(mode):
    return OmegaConf.create({"hydra": {"mode": mode}, "model": {"family": "sklearn"},
                             "run": {"log_plots": False}})

callback = SweepCallback()
callback.on_job_start(job("RunMode.RUN"), task_function=None)
callback.on_job_end(job("RunMode.RUN"), job_return=None)
print("single run:", "mlflow" in sys.modules, gc.get_freeze_count() > 0)
callback.on_job_start(job("RunMode.MULTIRUN"), task_function=None)
print("before first trial:", "mlflow" in sys.modules, gc.get_freeze_count() > 0)
callback.on_job_end(job("RunMode.MULTIRUN"), job_return=None)
frozen = gc.get_freeze_count()
print("after first trial:", frozen > 0)
callback.on_job_end(job("RunMode.MULTIRUN"), job_return=None)
print("once:", gc.get_freeze_count() == frozen, warmup.prepare_process("sklearn", plots=False))
"""


def test_trial_modules_follow_family_and_plots() -> None:
    assert trial_modules("xgboost", plots=True)[-3:] == (
        "xgboost",
        "matplotlib.backends.backend_agg",
        "matplotlib.figure",
    )
    assert trial_modules("sklearn", plots=False) == COMMON_MODULES
    assert trial_modules("unknown", plots=False) == COMMON_MODULES  # never imports a config name


def test_a_trial_process_is_prepared_and_frozen_once() -> None:
    proc = subprocess.run(
        [sys.executable, "-c", PROBE], capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines() == [
        "single run: False False",
        "before first trial: True False",
        "after first trial: True",
        "once: True False",
    ]
