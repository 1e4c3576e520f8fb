"""The red-team corpus (``tests/redteam/*.yaml``): a config file from a stranger's pull
request must not run code, write where it likes, reach secrets or exhaust the machine.

Each case is run in-process through the checks the CLI runs, in the CLI's order (Hydra's
loader and ``config/guard.py`` as ``app.preflight`` does, then composition, validation,
building the estimator and reading the data as a run does), and, marked slow, through the
real command line. See ``tests/redteam/README.md`` for the format.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from conftest import run_cli
from declarative_ml.app import project_module
from declarative_ml.config.compose import ConfigLocation, compose_config, load_config
from declarative_ml.config.errors_hydra import format_hydra_error
from declarative_ml.config.guard import check_config
from declarative_ml.config.trust import Trust, value_override_keys
from declarative_ml.config.validate import validate_config
from declarative_ml.errors import DeclarativeMLError

CORPUS = Path(__file__).parent / "redteam"
CASES = sorted(CORPUS.glob("*.yaml"))
# Controls run to the end: tiny and quick.
QUICK = (
    "run.log_model=false",
    "run.log_plots=false",
    "promotion.enabled=false",
)


def _case(path: Path) -> dict[str, Any]:
    data = yaml.safe_load(path.read_text())
    assert isinstance(data, dict) and {"why", "file", "args"} <= set(data), path.name
    return data


def _materialise(case: dict[str, Any], root: Path) -> tuple[ConfigLocation, Path]:
    """Write the case's config file (and data files) under ``root``; returns the location
    with ``root/conf`` on the search path, and the marker a payload that ran would create."""
    marker = root / "PWNED"
    text = case["raw"] if "raw" in case else yaml.safe_dump(case["content"], sort_keys=False)
    text = text.replace("@MARKER@", str(marker)).replace("@DIR@", str(root))
    if case.get("global"):
        text = "# @package _global_\n" + text
    target = root / "conf" / case["file"]
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(text)
    for name, content in (case.get("files") or {}).items():
        (root / name).write_text(content)
    return ConfigLocation(searchpath=(f"file://{root / 'conf'}",)), marker


def _outcome(args: list[str], location: ConfigLocation) -> str | None:
    """What the CLI's checks say, in its order: None when everything passes."""
    from declarative_ml.data.prepare import prepare_data
    from declarative_ml.models.build import build_estimator

    try:
        cfg = load_config(args, location=location, multirun=True, from_shell=True)
        groups = list(cfg.hydra.runtime.choices.keys())
        keys = value_override_keys(args, groups)
        trust = Trust.from_environment(keys, environ={}, in_project=project_module)
        verdict = check_config(cfg, trust)
        if verdict.problems:
            return verdict.problems[0]
        cfg = compose_config(args, location=location)
        plan = validate_config(cfg, location=location)
        build_estimator(cfg.model, plan.task)
        prepare_data(cfg.dataset, plan.task)
    except DeclarativeMLError as exc:
        return str(exc)
    except Exception as exc:  # Hydra's and OmegaConf's, formatted as the CLI does
        return format_hydra_error(exc)
    return None


@pytest.mark.parametrize("path", CASES, ids=[p.stem for p in CASES])
def test_the_checks_refuse_each_attack(
    path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    case = _case(path)
    for name, value in (case.get("env") or {}).items():
        monkeypatch.setenv(name, value)
    location, marker = _materialise(case, tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))  # the working directory, as `python -m` has it
    outcome = _outcome(list(case["args"]), location)
    if case.get("stage") == "ok":
        assert outcome is None, outcome
    else:
        assert outcome is not None, f"{path.name}: accepted ({case['why']})"
        refused = case["refused"].replace("@MARKER@", str(marker))
        assert refused in outcome, outcome
    assert not marker.exists(), f"{path.name}: the payload ran"


@pytest.mark.slow
@pytest.mark.parametrize("path", CASES, ids=[p.stem for p in CASES])
def test_the_command_line_refuses_each_attack(path: Path, tmp_path: Path) -> None:
    case = _case(path)
    _, marker = _materialise(case, tmp_path)
    args = [f"hydra.searchpath=[file://{tmp_path / 'conf'}]", *case["args"]]
    control = case.get("stage") == "ok"
    proc = run_cli(
        *args, *(QUICK if control else ()), cwd=tmp_path, env=dict(case.get("env") or {})
    )
    assert not marker.exists(), f"{path.name}: the payload ran"
    if control:
        assert proc.returncode == 0, proc.stderr
        return
    assert proc.returncode == 2, (proc.returncode, proc.stderr)
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), proc.stderr
    assert case["refused"].replace("@MARKER@", str(marker)) in lines[0]
    store = tmp_path / "mlflow.db"
    if store.exists():  # nothing was logged
        from mlflow import MlflowClient

        client = MlflowClient(f"sqlite:///{store}")
        ids = [e.experiment_id for e in client.search_experiments()]
        assert client.search_runs(ids) == []


def test_the_corpus_is_larger_than_the_issues_examples() -> None:
    cases = [_case(p) for p in CASES]
    attacks = [c for c in cases if c.get("stage") != "ok"]
    assert len(attacks) >= 25 and len(cases) > len(attacks)  # attacks and controls
    assert all(c["why"].strip() for c in cases)
