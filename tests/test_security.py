"""The security issue's classes beyond the red-team corpus (``test_redteam.py``): what the
command line may vouch for, git's environment, estimator parameters that write, secrets
by provenance, stores and promotions that are never half made, the audit trail's
timing settings, and ``dml rules check`` reporting what a run would refuse."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from mlflow import MlflowClient

from conftest import REPO, compose_config, run_cli, start_cli
from declarative_ml import secrets
from declarative_ml.config.guard import check_config
from declarative_ml.config.trust import Trust
from declarative_ml.secrets import MASK, mask_config, mask_text

QUICK = (
    "experiment=rf_iris",
    "model.params.n_estimators=5",
    "run.log_model=false",
    "run.log_plots=false",
)


def _hydra_config(*overrides: str) -> object:
    from declarative_ml.config.compose import load_config

    return load_config(list(overrides), multirun=True)


# ------------------------------------------------------------ what the command line vouches


def test_the_command_line_may_change_our_callbacks_loudly(tmp_path: Path) -> None:
    override = (
        "hydra.callbacks.dml_sweep._target_=hydra.experimental.callbacks.LogJobReturnCallback"
    )
    cfg = _hydra_config(override)
    verdict = check_config(cfg, Trust(command_line=("hydra.callbacks.dml_sweep._target_",)))
    assert verdict.problems == []
    assert "hydra.callbacks.dml_sweep: changed on the command line" in verdict.notices[0]
    proc = run_cli(*QUICK, "promotion.enabled=false", override, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "warning: hydra.callbacks.dml_sweep: changed on the command line" in proc.stderr


def test_a_target_named_on_the_command_line_or_in_the_environment_is_trusted() -> None:
    cfg = _hydra_config("+hydra.callbacks.mine._target_=collections.OrderedDict")
    refused = check_config(cfg, Trust())
    assert refused.problems and "hydra.callbacks.mine._target_" in refused.problems[0]
    by_line = check_config(cfg, Trust(command_line=("hydra.callbacks.mine._target_",)))
    assert by_line.problems == [] and "trusted as you asked" in by_line.notices[0]
    by_env = check_config(
        cfg, Trust.from_environment(environ={"DML_TRUSTED_TARGETS": "collections."})
    )
    assert by_env.problems == [] and "DML_TRUSTED_TARGETS" in by_env.notices[0]


def test_environment_variables_set_on_the_command_line_are_trusted(tmp_path: Path) -> None:
    marker = tmp_path / "fsmonitor-ran"
    proc = run_cli(
        *QUICK, "promotion.enabled=false", "+hydra.job.env_set.DML_EXAMPLE=1", cwd=tmp_path
    )
    assert proc.returncode == 0, proc.stderr
    assert "hydra.job.env_set.DML_EXAMPLE: variable DML_EXAMPLE, set on the command line" in (
        proc.stderr
    )
    assert not marker.exists()


# -------------------------------------------------------------------------------------- git


def test_git_ignores_configuration_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from declarative_ml.tracking.record import git_state

    marker = tmp_path / "fsmonitor-ran"
    monkeypatch.setenv("GIT_CONFIG_COUNT", "1")
    monkeypatch.setenv("GIT_CONFIG_KEY_0", "core.fsmonitor")
    # git appends arguments (a version and a token) to the program: `true` takes them
    monkeypatch.setenv("GIT_CONFIG_VALUE_0", f"touch {marker}; true")
    state = git_state(REPO)
    assert len(state["git.commit"]) == 40 and state["git.dirty"] in ("true", "false")
    assert not marker.exists()
    # The same environment makes plain git run the program (what the fix is about).
    subprocess.run(["git", "-C", str(REPO), "status", "--porcelain"], capture_output=True)
    assert marker.exists()


# ------------------------------------------------------------------- estimator parameters


def test_every_scikit_learn_parameter_that_takes_a_cache_folder_is_refused() -> None:
    from sklearn.utils import all_estimators
    from sklearn.utils._param_validation import HasMethods

    from declarative_ml.models.build import PATH_PARAMS

    takes_folder = set()
    for _, cls in all_estimators():
        for name, constraints in getattr(cls, "_parameter_constraints", {}).items():
            for constraint in constraints:
                if isinstance(constraint, HasMethods) and "cache" in constraint.methods:
                    takes_folder.add(name)
    assert takes_folder and takes_folder <= PATH_PARAMS


# ------------------------------------------------------------------ secrets by provenance


def test_short_secrets_are_masked_where_they_sit_and_copies_follow(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("DML_SHORT", "k3y9")
    cfg = compose_config(
        *QUICK,
        "+tracking.tags.owner=${oc.env:DML_SHORT}",
        "+tracking.tags.api_key=zq7",
        "+tracking.tags.copy=${tracking.tags.api_key}",
        "+tracking.tags.also=${.owner}",
    )
    secrets.remember_config(cfg)
    tags = mask_config(cfg)["tracking"]["tags"]
    assert tags == {
        "owner": "${oc.env:DML_SHORT}",
        "api_key": MASK,
        "copy": MASK,
        "also": MASK,
    }
    # Free text: masked where a value stands, never inside words.
    assert mask_text("model.params.x=k3y9, got 'zq7'") == f"model.params.x={MASK}, got '{MASK}'"
    assert mask_text("no such key yet: k3y9zq7") == "no such key yet: k3y9zq7"


def test_masking_does_not_garble_messages(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DML_FLAG", "no")
    secrets.remember_config(compose_config(*QUICK, "+tracking.tags.flag=${oc.env:DML_FLAG}"))
    for text in (
        "+tracking.tags.token: no such key yet",
        "error: a secret: write it out",
        "no such key yet",
    ):
        assert mask_text(text) == text


@pytest.mark.slow
def test_short_secrets_reach_no_record(tmp_path: Path) -> None:
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    proc = run_cli(
        *QUICK,
        "promotion.enabled=false",
        "+tracking.tags.owner=${oc.env:DML_SHORT}",
        "+tracking.tags.api_key=zq7w",
        "+tracking.tags.copy=${tracking.tags.api_key}",
        "+model.params.criterion=${oc.env:DML_CRITERION}",
        cwd=tmp_path,
        env={"DML_SHORT": "k3y9", "DML_CRITERION": "entropy", "MLFLOW_TRACKING_URI": uri},
    )
    assert proc.returncode == 0, proc.stderr
    found = []
    for path in sorted(tmp_path.rglob("*")):
        data = path.read_bytes() if path.is_file() else b""
        found += [f"{path.name}: {s}" for s in (b"k3y9", b"zq7w") if s in data]
    found += [s for s in ("k3y9", "zq7w") if s in proc.stdout + proc.stderr]
    assert found == []
    (run,) = MlflowClient(uri).search_runs(["1"])
    assert run.data.tags["copy"] == MASK and run.data.tags["api_key"] == MASK
    assert run.data.params["model.params.criterion"] == "${oc.env:DML_CRITERION}"


# ------------------------------------------------------------- nothing half made, nothing forged


def _wait_for(path_glob: Path, pattern: str, proc: subprocess.Popen[str], timeout: float) -> bool:
    deadline = time.time() + timeout
    while time.time() < deadline and proc.poll() is None:
        if list(path_glob.glob(pattern)):
            return True
        time.sleep(0.02)
    return False


@pytest.mark.slow
def test_ctrl_c_while_a_store_is_created_leaves_no_store_or_a_whole_one(tmp_path: Path) -> None:
    store = tmp_path / "new" / "mlflow.db"
    uri = f"sqlite:///{store}"
    proc = start_cli(*QUICK, "promotion.enabled=false", f"tracking.uri={uri}", cwd=tmp_path)
    assert _wait_for(tmp_path / "new", ".mlflow.db.creating-*", proc, 120), proc.communicate()
    time.sleep(0.3)  # in the middle of MLflow's migrations
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert not list((tmp_path / "new").glob(".mlflow.db.creating-*"))  # cleaned up
    if store.exists():
        assert MlflowClient(uri).search_experiments()  # whole
    again = run_cli(*QUICK, "promotion.enabled=false", f"tracking.uri={uri}", cwd=tmp_path)
    assert again.returncode == 0, again.stderr


def _finished_run(uri: str) -> object:
    from declarative_ml.runner import train

    cfg = compose_config(
        "experiment=xgb_baseline",
        "run.log_plots=false",
        "run.isolate_training=false",
        "promotion.enabled=false",
        f"tracking.uri={uri}",
    )
    return train(cfg)


def _promote(result: object, uri: str) -> object:
    from declarative_ml.config.validate import validate_config
    from declarative_ml.promotion import promote_run

    cfg = compose_config("experiment=xgb_baseline", "promotion.production=['test_roc_auc > 2']")
    plan = validate_config(cfg)
    return promote_run(
        MlflowClient(uri),
        gates=plan.gates,
        model_name="m",
        run_id=result.run_id,  # type: ignore[attr-defined]
        metrics=result.metrics,  # type: ignore[attr-defined]
        model_uri=result.model_uri,  # type: ignore[attr-defined]
    )


def test_ctrl_c_during_a_promotion_waits_until_it_is_whole(
    tracking_uri: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from declarative_ml.registry import audit

    result = _finished_run(tracking_uri)
    record = audit.record
    calls = []

    def interrupted_record(*args: object, **kwargs: object) -> None:
        calls.append(args)
        if len(calls) == 1:  # Ctrl-C right after the version was created
            signal.raise_signal(signal.SIGINT)
        record(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(audit, "record", interrupted_record)
    with pytest.raises(KeyboardInterrupt):
        _promote(result, tracking_uri)
    client = MlflowClient(tracking_uri)
    version = client.get_model_version("m", "1")
    assert version.tags["stage"] == "staging"
    assert str(client.get_model_version_by_alias("m", "staging").version) == "1"
    assert "Target stage: staging" in version.description
    assert [t.to_stage for t in audit.read(client, "m")] == ["none", "staging"]
    run = client.get_run(result.run_id)
    assert run.data.tags["dml.promotion"] == "staging"
    decision = client.download_artifacts(result.run_id, "promotion/decision.json", str(tmp_path))
    assert '"target_stage": "staging"' in Path(decision).read_text()


def test_ctrl_c_before_deciding_changes_nothing_and_says_so(
    tracking_uri: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from declarative_ml import promotion

    result = _finished_run(tracking_uri)

    def interrupted(*args: object, **kwargs: object) -> None:
        signal.raise_signal(signal.SIGINT)

    monkeypatch.setattr(promotion, "find_champion", interrupted)
    with pytest.raises(KeyboardInterrupt):
        _promote(result, tracking_uri)
    client = MlflowClient(tracking_uri)
    assert client.search_registered_models() == []
    assert client.get_run(result.run_id).data.tags["dml.promotion"] == promotion.INTERRUPTED


# ---------------------------------------------------------------------- heartbeat and reaping


def test_a_late_beat_of_a_live_process_is_never_reaped(tracking_uri: str) -> None:
    from declarative_ml.tracking.heartbeat import (
        BEAT_TAG,
        INTERVAL_TAG,
        PROCESS_TAG,
        find_stale,
        process_identity,
    )

    client = MlflowClient(tracking_uri)
    experiment = client.create_experiment("late")
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    host = process_identity().split("/")[0]
    owners = {"alive": process_identity(), "dead": f"{host}/{dead.pid}/1"}
    runs = {}
    for name, owner in owners.items():
        tags = {INTERVAL_TAG: "1", PROCESS_TAG: owner, BEAT_TAG: str(int(time.time()) - 600)}
        runs[name] = client.create_run(experiment, run_name=name, tags=tags).info.run_id
    stale = {s.run_id for s in find_stale(client, [experiment])}
    assert runs["dead"] in stale and runs["alive"] not in stale


def test_a_run_reaped_by_mistake_finishes_without_the_reapers_error(tracking_uri: str) -> None:
    from declarative_ml.tracking.heartbeat import StaleRun, reap
    from declarative_ml.tracking.lifecycle import tracked_run

    client = MlflowClient(tracking_uri)
    experiment = client.create_experiment("reaped")
    with tracked_run(client, experiment, run_name="r", tags={}, heartbeat_s=60) as run_id:
        reap(client, [StaleRun(run_id, experiment, "r", time.time() - 600, 600)], by="a test")
        assert client.get_run(run_id).info.status == "KILLED"
    run = client.get_run(run_id)
    assert run.info.status == "FINISHED" and "dml.error" not in run.data.tags


# --------------------------------------------------------------------------- dml rules check


def test_rules_check_reports_what_a_run_would_refuse(tmp_path: Path) -> None:
    rules = tmp_path / "conf" / "promotion" / "evil.yaml"
    rules.parent.mkdir(parents=True)
    rules.write_text(
        "# @package _global_\n"
        "promotion:\n"
        "  register: [test_roc_auc >= 0.9]\n"
        "hydra:\n"
        "  job:\n"
        "    env_set: {GIT_CONFIG_COUNT: '1'}\n"
        "  callbacks:\n"
        "    pwn: {_target_: subprocess.getoutput, cmd: 'touch x'}\n"
    )
    proc = subprocess.run(
        [str(Path(sys.executable).parent / "dml"), "rules", "check", str(rules)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert proc.returncode == 1, proc.stderr
    assert "evil.yaml:4: hydra.callbacks.pwn._target_: 'subprocess.getoutput'" in proc.stdout
    assert "hydra.job.env_set.GIT_CONFIG_COUNT" in proc.stdout
    assert not (tmp_path / "x").exists()
