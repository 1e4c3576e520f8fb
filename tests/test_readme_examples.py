"""The README's own-config examples, run as written on a copy of `examples/`: the files it
shows are the files shipped, and its commands train, check and plan as it says."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest

from conftest import REPO, run_cli
from declarative_ml.cli.main import main

README = (REPO / "README.md").read_text()
CONFIGS = "examples/my_configs"
TRAIN = "python -m declarative_ml 'hydra.searchpath=[file://examples/my_configs]'"


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A folder holding a copy of the repository's ``examples/``, as the working directory."""
    shutil.copytree(REPO / "examples", tmp_path / "examples")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _without_comment_lines(text: str) -> list[str]:
    keep = [line for line in text.splitlines() if not line.startswith("# ") or "@package" in line]
    return [line for line in keep if line.strip()]


@pytest.mark.parametrize(
    "name", ["dataset/churn.yaml", "experiment/mine.yaml", "promotion/strict.yaml"]
)
def test_the_readme_shows_the_shipped_files(name: str) -> None:
    block = re.search(rf"```yaml\n# {CONFIGS}/{name}\n(.*?)```", README, re.DOTALL)
    assert block is not None, f"README shows no {name}"
    shipped = (REPO / CONFIGS / name).read_text()
    assert _without_comment_lines(block.group(1)) == _without_comment_lines(shipped)


def _readme_lines_after(prompt: str) -> list[str]:
    """The output the README shows after ``$ prompt``, up to the next prompt."""
    after = README.split(f"$ {prompt}\n", 1)[1]
    return after.split("\n$ ", 1)[0].split("\n```", 1)[0].splitlines()


def _dml(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    code = main(list(args))
    return code, capsys.readouterr().out


def test_rules_check_as_the_readme_shows(project: Path, capsys: pytest.CaptureFixture[str]):
    strict = f"{CONFIGS}/promotion/strict.yaml"
    code, out = _dml(capsys, "rules", "check", strict)
    assert code == 0 and out.splitlines() == _readme_lines_after(f"dml rules check {strict}")

    # "after a typo (test_auc) and a stray '=' in its staging rules, and a broken.yaml"
    path = project / strict
    path.write_text(
        path.read_text().replace(
            "  - test_roc_auc >= 0.98\n", "  - test_auc >= 0.98\n  - test_f1 >= = 0.5\n"
        )
    )
    (project / "broken.yaml").write_text("register:\n  - test_roc_auc >= 0.9\n staging: []\n")
    code, out = _dml(capsys, "rules", "check", strict, "broken.yaml")
    shown = _readme_lines_after(f"dml rules check {strict} broken.yaml")
    assert code == 1 and out.splitlines() == shown[:-1]  # the last: the error line (stderr)
    assert shown[-1] == "error: 3 error(s) in promotion rule files"


def _git(cwd: Path, *args: str) -> None:
    env = {**os.environ, "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1"}
    identity = ["-c", "user.name=dml tests", "-c", "user.email=dml@example.com"]
    subprocess.run(["git", *identity, *args], cwd=cwd, env=env, capture_output=True, check=True)


@pytest.mark.parametrize(
    ("command", "promoted"),
    [
        (f"{TRAIN} dataset=churn model=xgboost", "churn-xgboost version 1 -> staging"),
        (f"{TRAIN} experiment=mine", "breast_cancer-xgboost version 1 -> production"),
    ],
)
def test_the_readme_training_commands_run(
    project: Path, capsys: pytest.CaptureFixture[str], command: str, promoted: str
) -> None:
    assert command in README
    uri = f"sqlite:///{project / 'mlflow.db'}"
    done = run_cli(*shlex.split(command)[3:], f"tracking.uri={uri}", cwd=project)
    assert done.returncode == 0, done.stderr
    assert promoted in done.stdout
    if "experiment=mine" not in command:
        return
    # The plan of a rules change, as the README runs it (the rules at main: these same ones).
    _git(project, "init", "-q", "-b", "main")
    _git(project, "add", "examples")
    _git(project, "commit", "-q", "-m", "examples")
    plan = f'dml rules plan "hydra.searchpath=[file://$PWD/{CONFIGS}]" experiment=mine --base main'
    assert f"$ {plan}" in README
    args = shlex.split(plan.replace("$PWD", str(project)))[1:]
    code, out = _dml(capsys, "--tracking-uri", uri, *args)
    assert code == 0
    assert "| 1 | production @production | **production** | **production** |  |" in out
    assert out.rstrip().endswith("**0 of 1 versions change fate.**")


def test_the_command_table_lists_every_dml_command() -> None:
    import argparse

    from declarative_ml.cli.main import build_parser

    def commands(parser: argparse.ArgumentParser, prefix: str) -> list[str]:
        found = []
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for name, sub in action.choices.items():
                    found += commands(sub, f"{prefix} {name}") or [f"{prefix} {name}"]
        return found

    table = [line for line in README.splitlines() if line.startswith("| `dml ")]
    for command in commands(build_parser(), "dml"):
        assert any(row.startswith(f"| `{command}") for row in table), command


@pytest.mark.parametrize("group", ["dataset", "model", "experiment", "promotion", "sweep"])
def test_the_config_tree_names_every_option(group: str) -> None:
    tree = README.split("## The config tree", 1)[1].split("```", 2)[1]
    listed = {w.strip(",()`") for w in tree.split()}
    folder = REPO / "src" / "declarative_ml" / "conf" / group
    for option in sorted(p.stem for p in folder.glob("*.yaml")):
        assert option in listed, f"{group}/{option}.yaml is not in the README's config tree"
