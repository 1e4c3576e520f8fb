"""Importing the package, printing the config and failing on a bad config stay cheap: no
torch, XGBoost, MLflow or scikit-learn in a fresh interpreter (hydra-zen's
``test_no_numpy_import``)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from conftest import run_cli

HEAVY = ("torch", "xgboost", "mlflow", "sklearn")

IMPORT_SCRIPT = """
import json, sys
import declarative_ml, declarative_ml.app, declarative_ml.runner, declarative_ml.config.validate
print(json.dumps(sorted(m for m in sys.modules if m.split(".")[0] in {heavy!r})))
"""


def imported_heavy(importtime_stderr: str) -> set[str]:
    """Top-level heavy packages named in ``-X importtime`` output."""
    names = set()
    for line in importtime_stderr.splitlines():
        match = re.match(r"import time:\s+\d+ \|\s+\d+ \|\s+(\S+)", line)
        if match and match.group(1).split(".")[0] in HEAVY:
            names.add(match.group(1).split(".")[0])
    return names


def test_importing_the_package_and_entry_points_stays_light(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-c", IMPORT_SCRIPT.format(heavy=set(HEAVY))],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout) == []


def test_the_importtime_parser_sees_heavy_imports(tmp_path: Path) -> None:
    # Guards the assertions below: the same parsing does find a heavy import.
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", "import sklearn"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert imported_heavy(proc.stderr) == {"sklearn"}


def test_cfg_job_prints_the_config_without_heavy_imports(tmp_path: Path) -> None:
    proc = run_cli(
        "experiment=xgb_baseline",
        "--cfg",
        "job",
        cwd=tmp_path,
        env={"PYTHONPROFILEIMPORTTIME": "1"},
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    printed = yaml.safe_load(proc.stdout)
    assert printed["dataset"]["name"] == "breast_cancer"
    assert printed["model"]["estimator"]["classification"] == "xgboost.XGBClassifier"
    assert printed["metrics"] == ["roc_auc", "f1", "accuracy", "log_loss"]
    assert "import time:" in proc.stderr  # the profile did run
    assert imported_heavy(proc.stderr) == set()
    assert sorted(p.name for p in tmp_path.iterdir()) == []  # no store, no outputs/ folder


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (("dataset.bogus=1",), 2, "bogus"),  # Hydra composition error: bad input, exit 2
        (("metrics=[test_auc]",), 2, "metrics[0]: 'test_auc'"),  # our validation
        (("model.estimator.classification=os.system",), 2, "'os.system' is not allowed"),
    ],
    ids=["unknown_key", "unknown_metric", "disallowed_estimator"],
)
def test_config_errors_fail_before_heavy_imports(
    args: tuple[str, ...], code: int, message: str, tmp_path: Path
) -> None:
    proc = run_cli(
        "experiment=xgb_baseline",
        *args,
        cwd=tmp_path,
        env={"PYTHONPROFILEIMPORTTIME": "1"},
        timeout=60,
    )
    assert proc.returncode == code, proc.stderr
    assert message in proc.stderr
    assert imported_heavy(proc.stderr) == set()
    assert not (tmp_path / "mlflow.db").exists()


@pytest.mark.slow
def test_training_xgb_baseline_never_imports_torch(tmp_path: Path) -> None:
    # In-process training, so every import of the run shows in one -X importtime log.
    proc = run_cli(
        "experiment=xgb_baseline",
        "model.params.n_estimators=10",
        "run.isolate_training=false",
        "run.log_plots=false",
        cwd=tmp_path,
        env={"PYTHONPROFILEIMPORTTIME": "1"},
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert {"xgboost", "mlflow", "sklearn"} <= imported_heavy(proc.stderr)  # it did train
    assert "torch" not in imported_heavy(proc.stderr)


DML_HEAVY = ("hydra", "omegaconf", *HEAVY)


@pytest.mark.parametrize("args", [["--help"], ["models", "--help"], ["rules", "check", "--help"]])
def test_dml_help_imports_neither_hydra_nor_mlflow(args: list[str], tmp_path: Path) -> None:
    script = (
        "import json, sys\n"
        "from declarative_ml.cli.main import main\n"
        "try:\n"
        f"    main({args!r})\n"
        "except SystemExit:\n"
        "    pass\n"
        "loaded = {m.split('.')[0] for m in sys.modules}\n"
        f"print(json.dumps(sorted(loaded & {set(DML_HEAVY)!r})))\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", script], cwd=tmp_path, capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 0, proc.stderr
    assert "usage: dml" in proc.stdout
    assert json.loads(proc.stdout.strip().splitlines()[-1]) == []
