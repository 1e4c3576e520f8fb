"""`dml rules check` and `dml rules plan` on real rule files, a real sqlite store and a
real git repository made in the test's folder; and the example CI workflow's steps."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from conftest import REPO, compose_config
from declarative_ml.cli.main import main
from declarative_ml.config.resolvers import CONF_DIR
from declarative_ml.runner import train

NAME = "breast_cancer-xgboost"
WORKFLOW = REPO / "examples" / "ci" / "promotion-rules.yml"

STRICT = """\
# Stricter rules for the breast cancer models.
defaults:
  - base_promotion

register:
  - test_roc_auc >= 0.80
staging:
  - test_roc_auc >= 0.90
production:
  - rule: test_roc_auc >= champion.test_roc_auc + 0.002
    why: a new champion must beat the old one
  - model_size_mb <= 50
"""
MINE = """\
# @package _global_
defaults:
  - override /dataset: breast_cancer
  - override /model: xgboost
  - override /promotion: strict
"""


def git(repo: Path, *args: str) -> str:
    """Run git in ``repo`` without the user's global config."""
    env = {**os.environ, "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1"}
    identity = ["-c", "user.name=dml tests", "-c", "user.email=dml@example.com"]
    proc = subprocess.run(
        ["git", *identity, *args], cwd=repo, env=env, capture_output=True, text=True, check=True
    )
    return proc.stdout


def dml(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def user_configs(root: Path, rules: str = STRICT) -> Path:
    """``root/my_configs`` with promotion/strict.yaml and experiment/mine.yaml."""
    configs = root / "my_configs"
    (configs / "promotion").mkdir(parents=True)
    (configs / "experiment").mkdir()
    (configs / "promotion" / "strict.yaml").write_text(rules)
    (configs / "experiment" / "mine.yaml").write_text(MINE)
    return configs


@pytest.fixture
def repo(tmp_path: Path, tracking_uri: str, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A git repository whose committed rules trained four versions (champion: v2); on
    the working tree the staging threshold is raised from 0.90 to 0.98, uncommitted."""
    repo = tmp_path / "repo"
    configs = user_configs(repo)
    git(repo, "init", "-q", "-b", "main")
    git(repo, "add", ".")
    git(repo, "commit", "-q", "-m", "strict rules")
    fast = (
        f"hydra.searchpath=[file://{configs}]",
        "experiment=mine",
        f"tracking.uri={tracking_uri}",
        "run.log_plots=false",
        "run.isolate_training=false",
    )
    for params in (
        ("model.params.n_estimators=3", "model.params.max_depth=2"),
        (),
        ("model.params.learning_rate=0.01", "model.params.n_estimators=20"),
        ("model.params.n_estimators=2", "model.params.max_depth=1"),
    ):
        train(compose_config(*fast, *params))
    rules = configs / "promotion" / "strict.yaml"
    rules.write_text(STRICT.replace("test_roc_auc >= 0.90", "test_roc_auc >= 0.98"))
    monkeypatch.chdir(repo)
    return repo


def plan_args(repo: Path) -> list[str]:
    return ["rules", "plan", f"hydra.searchpath=[file://{repo / 'my_configs'}]", "experiment=mine"]


def expected_changes(tracking_uri: str) -> set[str]:
    """Versions whose fate the threshold change should flip: staging at 0.90, not at 0.98."""
    from mlflow import MlflowClient

    client = MlflowClient(tracking_uri)
    champion = client.get_model_version_by_alias(NAME, "production").version
    changes = set()
    for version in client.search_model_versions(f"name = '{NAME}'"):
        auc = client.get_run(version.run_id).data.metrics["test_roc_auc"]
        if version.version != champion and 0.90 <= auc < 0.98:
            changes.add(str(version.version))
    return changes


def snapshot(tracking_uri: str, root: Path) -> tuple[object, ...]:
    """Everything plan could write: the registry, runs, experiments, the store's bytes."""
    from mlflow import MlflowClient

    client = MlflowClient(tracking_uri)
    models = [
        (m.name, m.tags, m.aliases, m.description, m.last_updated_timestamp)
        for m in client.search_registered_models()
    ]
    versions = sorted(
        (v.name, v.version, v.tags, v.aliases, v.description, v.last_updated_timestamp)
        for v in client.search_model_versions()
    )
    experiments = client.search_experiments()
    runs = client.search_runs([e.experiment_id for e in experiments])
    digest = hashlib.sha256((root / "mlflow.db").read_bytes()).hexdigest()
    files = (
        sorted(str(p) for p in (root / "mlruns").rglob("*")) if (root / "mlruns").exists() else []
    )
    return models, versions, [(r.info, r.data.tags, r.data.metrics) for r in runs], digest, files


# --- rules check -------------------------------------------------------------


def test_check_packaged_rules_is_clean(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = dml(capsys, "rules", "check")
    count = len(list((CONF_DIR / "promotion").glob("*.yaml")))
    assert (code, err) == (0, "")
    assert out.strip() == f"{count} file(s) checked, 0 error(s)"


def test_check_reports_each_error_with_its_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = STRICT.replace("  - test_roc_auc >= 0.90", "  - test_auc >= 0.90\n  - test_f1 >= = 0.5")
    user_configs(tmp_path, bad)
    (tmp_path / "broken.yaml").write_text("register:\n  - test_roc_auc >= 0.9\n staging: [\n")
    code, out, err = dml(
        capsys, "rules", "check", "my_configs/promotion/strict.yaml", "broken.yaml"
    )
    lines = out.strip().splitlines()
    assert code == 1
    assert err.strip() == "error: 3 error(s) in promotion rule files"
    assert lines[-1] == "2 file(s) checked, 3 error(s)"
    # staging[0] (line 8) reads an unknown name, checked against what experiment=mine logs
    assert lines[0].startswith(
        "my_configs/promotion/strict.yaml:8: unknown metric 'test_auc' in "
        "promotion/strict.yaml: staging[0]; did you mean 'test_roc_auc'? known: "
    )
    assert lines[0].endswith("(experiment=mine)") and "test_rmse" not in lines[0]
    assert lines[1].startswith(
        "my_configs/promotion/strict.yaml:9: promotion/strict.yaml: staging[1], column 12: "
        "unexpected character '=' (did you mean '=='?)"
    )
    assert lines[2].startswith("broken.yaml:3: broken.yaml: invalid YAML: expected <block end>")


def test_check_github_annotations_and_json(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    user_configs(tmp_path, STRICT.replace("production:", "productoin:"))
    code, out, _ = dml(capsys, "rules", "check", "--github", "my_configs/promotion/strict.yaml")
    first, summary = out.strip().splitlines()
    assert code == 1 and summary == "1 file(s) checked, 1 error(s)"
    # the schema rejects the key when experiment=mine composes, at the key's line
    assert first.startswith("::error file=my_configs/promotion/strict.yaml,line=9::")
    assert "promotion.productoin: unknown key" in first and "did you mean 'production'" in first

    code, out, _ = dml(capsys, "--json", "rules", "check", "my_configs/promotion/strict.yaml")
    report = json.loads(out)
    assert code == 1 and report["files"] == ["my_configs/promotion/strict.yaml"]
    assert [(e["file"], e["line"]) for e in report["errors"]] == [
        ("my_configs/promotion/strict.yaml", 9)
    ]


def test_check_file_no_experiment_uses(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Checked against every metric any task logs: a regression name passes, a typo does not."""
    (tmp_path / "loose.yaml").write_text(
        "register:\n  - test_rmse <= 60\nstaging:\n  - val_acuracy >= 0.9\nprodution: []\n"
    )
    code, out, _ = dml(capsys, "rules", "check", "loose.yaml")
    lines = out.strip().splitlines()
    assert code == 1 and len(lines) == 3
    assert lines[0].startswith("loose.yaml:4: unknown metric 'val_acuracy'")
    assert "did you mean 'val_accuracy'?" in lines[0]
    assert lines[0].endswith("(no experiment uses this file: checked against every metric)")
    assert lines[1].startswith("loose.yaml:5: loose.yaml: unknown key 'prodution'")


def test_check_reports_a_file_that_is_not_utf8_and_goes_on(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "latin1.yaml").write_bytes(
        "register:\n  - test_roc_auc >= 0.9\n# café\n".encode("latin-1")
    )
    (tmp_path / "typo.yaml").write_text("register:\n  - test_auc >= 0.9\n")
    code, out, _ = dml(capsys, "rules", "check", "latin1.yaml", "typo.yaml")
    lines = out.strip().splitlines()
    assert code == 1
    assert lines[0] == (
        "latin1.yaml:3: latin1.yaml: not UTF-8 text: byte 0xe9 at offset 39; save the file as UTF-8"
    )
    assert lines[1].startswith("typo.yaml:2: unknown metric 'test_auc'")
    assert lines[2] == "2 file(s) checked, 2 error(s)"


# --- rules plan ----------------------------------------------------------------


def test_plan_shows_which_versions_change_fate(
    repo: Path, tracking_uri: str, capsys: pytest.CaptureFixture[str]
) -> None:
    changes = expected_changes(tracking_uri)
    assert changes  # the scenario must flip at least one version
    code, out, err = dml(capsys, "--tracking-uri", tracking_uri, "--json", *plan_args(repo))
    assert (code, err) == (0, "")
    rows = {row["version"]: row for row in json.loads(out)}
    assert sorted(rows) == ["1", "2", "3", "4"]
    assert {v for v, row in rows.items() if row["changed"]} == changes
    assert rows["2"]["aliases"] == ["production"] and rows["2"]["compared_with"] is None
    assert rows["2"]["base"]["fate"] == rows["2"]["branch"]["fate"] == "production"
    for version in changes:
        row = rows[version]
        assert row["compared_with"] == "2"
        assert (row["base"]["fate"], row["branch"]["fate"]) == ("staging", "none")
        assert row["branch"]["failed"][0]["rule"] == "test_roc_auc >= 0.98"

    code, out, _ = dml(capsys, "--tracking-uri", tracking_uri, *plan_args(repo), "--base", "HEAD")
    assert code == 0
    assert out.startswith(f"### Promotion rules plan: `{NAME}`\n")
    assert "`promotion/strict.yaml` (`my_configs/promotion/strict.yaml`)" in out
    assert (
        "| version | current stage | decision at `HEAD` | decision on this branch | changed |"
        in out
    )
    table = {
        line.split(" | ")[0][2:]: line
        for line in out.splitlines()
        if line.startswith("| ") and line[2:3].isdigit()
    }
    assert sorted(table) == ["1", "2", "3", "4"]
    assert {v for v, line in table.items() if line.endswith("| **yes** |")} == changes
    assert table["2"].startswith("| 2 | production @production | **production** | **production** |")
    assert f"**{len(changes)} of 4 versions change fate.**" in out


def test_plan_changes_nothing_in_the_store(
    repo: Path, tracking_uri: str, capsys: pytest.CaptureFixture[str]
) -> None:
    before = snapshot(tracking_uri, repo.parent)
    code, _, _ = dml(capsys, "--tracking-uri", tracking_uri, *plan_args(repo))
    assert code == 0
    assert snapshot(tracking_uri, repo.parent) == before


def test_plan_against_a_branch_a_new_file_and_a_bad_ref(
    repo: Path, tracking_uri: str, capsys: pytest.CaptureFixture[str]
) -> None:
    # committed on a branch, compared with main: the same versions change fate
    git(repo, "checkout", "-q", "-b", "stricter")
    git(repo, "commit", "-q", "-am", "raise the staging threshold")
    code, out, _ = dml(
        capsys, "--tracking-uri", tracking_uri, "--json", *plan_args(repo), "--base", "main"
    )
    assert code == 0
    assert {r["version"] for r in json.loads(out) if r["changed"]} == expected_changes(tracking_uri)
    code, out, _ = dml(capsys, "--tracking-uri", tracking_uri, "--json", *plan_args(repo))
    assert not any(r["changed"] for r in json.loads(out))  # HEAD is this branch now
    code, out, _ = dml(
        capsys, "--tracking-uri", tracking_uri, "--json", *plan_args(repo), "--candidates", "1"
    )
    assert [r["version"] for r in json.loads(out)] == ["2", "4"]  # the champion and the latest

    fresh = repo / "my_configs" / "promotion" / "fresh.yaml"
    fresh.write_text(STRICT)
    code, out, _ = dml(capsys, "--tracking-uri", tracking_uri, *plan_args(repo), "promotion=fresh")
    assert code == 0
    assert "| 2 | production @production | (not there (a new file)) | **production** |  |" in out
    assert out.strip().endswith("`promotion/fresh.yaml` is not there (a new file).")

    code, out, err = dml(
        capsys, "--tracking-uri", tracking_uri, *plan_args(repo), "--base", "no-such-ref"
    )
    assert code == 2 and out == ""
    assert err.startswith("error: --base no-such-ref: not a commit in the git repository ")
    assert len(err.strip().splitlines()) == 1


# --- the example workflow ----------------------------------------------------------


def test_workflow_runs_check_and_plan(repo: Path, tracking_uri: str) -> None:
    """The workflow's `dml` steps, run as written, in the scenario's repository (the
    install and the PR comment steps need the network and GitHub, so they are not run)."""
    workflow = yaml.safe_load(WORKFLOW.read_text())
    assert set(workflow[True]) == {"pull_request"}  # YAML 1.1 reads the key `on` as True
    job = workflow["jobs"]["rules"]
    steps = {step.get("name"): step["run"] for step in job["steps"] if "run" in step}
    check = steps["Check the rule files"]
    plan = steps["Plan the rule change"]
    assert "dml rules check --github" in check and "dml rules plan" in plan

    git(repo, "update-ref", "refs/remotes/origin/main", "HEAD")  # what checkout fetched
    summary = repo.parent / "summary.md"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MLFLOW_", "DML_"))}
    env.update({k: v for k, v in job["env"].items() if "${{" not in v})
    env.update(
        MLFLOW_TRACKING_URI=tracking_uri,
        GITHUB_BASE_REF="main",
        GITHUB_STEP_SUMMARY=str(summary),
        PATH=f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}",
    )
    outputs = []
    for script in (check, plan):
        proc = subprocess.run(
            ["bash", "-e", "-c", script], cwd=repo, env=env, capture_output=True, text=True
        )
        assert proc.returncode == 0, proc.stdout + proc.stderr
        outputs.append(proc.stdout)
    assert outputs[0] == "1 file(s) checked, 0 error(s)\n"
    text = summary.read_text()
    assert text.startswith(f"### Promotion rules plan: `{NAME}`")
    assert "decision at `origin/main`" in text
    assert f"**{len(expected_changes(tracking_uri))} of 4 versions change fate.**" in text

    # a bad rule fails the check step with an annotation on its line
    rules = repo / "my_configs" / "promotion" / "strict.yaml"
    rules.write_text(rules.read_text().replace("test_roc_auc >= 0.98", "test_roc_auc >> 0.98"))
    proc = subprocess.run(
        ["bash", "-e", "-c", check], cwd=repo, env=env, capture_output=True, text=True
    )
    assert proc.returncode == 1
    assert proc.stdout.startswith("::error file=my_configs/promotion/strict.yaml,line=8::")
