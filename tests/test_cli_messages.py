"""What a newcomer meets with `dml`: one-line usage errors, reasons fit for the audit trail,
stores that must exist, quiet pipes, a run's `models:/m-...` URI, tables that cannot be
forged, and no-ops that write nothing. Real sqlite stores, real subprocesses for pipes."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from mlflow import MlflowClient

from conftest import compose_config, run_cli
from declarative_ml.cli.main import main
from declarative_ml.cli.output import table
from declarative_ml.registry import audit
from declarative_ml.runner import train

NAME = "breast_cancer-xgboost"
EXIT_PIPE_CLOSED = 141  # 128 + SIGPIPE, as a shell reports a tool stopped by a closed pipe
FAST = ("experiment=xgb_baseline", "run.log_plots=false", "run.isolate_training=false")


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """One store: version 1 at @production, version 2 at @staging, and a run whose logged
    model was never registered (promotion off). Tests that change it work on a copy."""
    root = tmp_path_factory.mktemp("store")
    uri = f"sqlite:///{root / 'mlflow.db'}"
    cwd = Path.cwd()
    os.chdir(root)  # MLflow puts artifacts under the working directory
    try:
        train(compose_config(*FAST, f"tracking.uri={uri}", "model.params.n_estimators=40"))
        train(compose_config(*FAST, f"tracking.uri={uri}", "model.params.n_estimators=20"))
        loose = train(
            compose_config(*FAST, f"tracking.uri={uri}", "promotion.enabled=false")
        ).run_id
    finally:
        os.chdir(cwd)
    client = MlflowClient(uri)
    stages = {
        str(v.version): v.tags["stage"] for v in client.search_model_versions(f"name='{NAME}'")
    }
    assert stages == {"1": "production", "2": "staging"}
    (output,) = client.get_run(loose).outputs.model_outputs
    return {"uri": uri, "unregistered_run": loose, "unregistered_model": output.model_id}


@pytest.fixture
def own_store(store: dict[str, str], tmp_path: Path) -> str:
    """A copy of ``store`` this test may change (artifacts stay where they are)."""
    source = Path(store["uri"].removeprefix("sqlite:///"))
    shutil.copy(source, tmp_path / "own.db")
    return f"sqlite:///{tmp_path / 'own.db'}"


def dml(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def dml_process(*args: str, **kwargs: object) -> subprocess.Popen[str]:
    """The console script's entry point in a new process, as `dml ARGS`."""
    code = "import sys; from declarative_ml.cli.main import entry; sys.argv[0] = 'dml'; entry()"
    return subprocess.Popen(
        [sys.executable, "-c", code, *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        **kwargs,  # type: ignore[call-overload]
    )


# --- usage errors: one line naming the argument, exit 2 ------------------------------------


@pytest.mark.parametrize(
    ("args", "line"),
    [
        (
            ["promote", NAME, "1", "--to", "archived"],
            "error: --to: 'archived' is not one of staging, production "
            "(use dml archive NAME VERSION)",
        ),
        (
            ["promote", NAME],
            "error: dml promote: the following arguments are required: version, --to "
            "(see dml promote --help)",
        ),
        (["reproduce", "abc", "--tolerance", "z"], "error: --tolerance: invalid float value: 'z'"),
        (
            ["models", "list", "--bogus"],
            "error: dml: unrecognized arguments: --bogus (see dml --help)",
        ),
    ],
)
def test_usage_errors_are_one_line(
    capsys: pytest.CaptureFixture[str], args: list[str], line: str
) -> None:
    with pytest.raises(SystemExit) as stopped:
        main(args)
    _, err = capsys.readouterr()
    assert stopped.value.code == 2
    assert err.splitlines() == [line]


@pytest.mark.parametrize(
    ("reason", "problem"),
    [
        ("   ", "is blank"),
        ("", "is blank"),
        ("fixed\n2026-01-01 00:00:00  1  none  production  admin  forged", "is not one line"),
        ("tab\there", "is not one line"),
    ],
)
@pytest.mark.parametrize("command", [["archive", NAME, "2"], ["rollback", NAME]])
def test_a_reason_is_one_non_blank_line(
    own_store: str,
    capsys: pytest.CaptureFixture[str],
    command: list[str],
    reason: str,
    problem: str,
) -> None:
    with pytest.raises(SystemExit) as stopped:
        main(["--tracking-uri", own_store, *command, "--reason", reason])
    _, err = capsys.readouterr()
    assert stopped.value.code == 2
    (line,) = err.splitlines()
    assert line.startswith("error: --reason: ") and problem in line
    assert len(audit.read(MlflowClient(own_store), NAME)) == 4  # nothing was written


def test_forced_promotion_refuses_a_blank_reason(
    own_store: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit):
        main(
            ["--tracking-uri", own_store, "promote", NAME, "2", "--to", "production"]
            + ["--force", "--reason", " "]
        )
    assert "error: --reason: ' ' is blank" in capsys.readouterr().err


# --- tables render untrusted text safely -----------------------------------------------------


def test_history_cannot_be_forged_by_a_tag(
    own_store: str, capsys: pytest.CaptureFixture[str]
) -> None:
    # Any MLflow client may write a version tag: this one hides a second row in its reason.
    forged = audit.transition(
        "2", "staging", "staging", why="ok\n2026-01-01 00:00:00  1  none  production  admin  x"
    )
    audit.record(MlflowClient(own_store), NAME, forged)
    code, out, _ = dml(capsys, "--tracking-uri", own_store, "history", NAME)
    assert code == 0
    lines = out.splitlines()
    assert len(lines) == 1 + 5  # header, 4 entries from training, the forged one
    assert lines[-1].endswith("ok\\n2026-01-01 00:00:00  1  none  production  admin  x")


def test_table_cells_escape_control_characters() -> None:
    text = table([{"a": "x\ny", "b": "\x1b[31mred\r"}], ["a", "b"])
    assert text.splitlines() == ["a     b", "x\\ny  \\x1b[31mred\\r"]


# --- a store that does not exist is not created ----------------------------------------------


@pytest.mark.parametrize(
    "command",
    [
        ["models", "list"],
        ["models", "show", f"{NAME}@production"],
        ["metrics", f"{NAME}/1"],
        ["history", NAME],
        ["lineage", f"{NAME}/1"],
        ["runs", "reap", "--dry-run"],
        ["archive", NAME, "1"],
        ["rules", "plan", "experiment=xgb_baseline"],
    ],
)
def test_a_missing_store_is_refused_not_created(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], command: list[str]
) -> None:
    code, out, err = dml(capsys, "--tracking-uri", "sqlite:///typo.db", *command)
    assert code == 2 and out == ""
    assert err.splitlines() == [
        f"error: --tracking-uri: no MLflow store at sqlite:///typo.db (typo.db in {tmp_path} "
        "does not exist); dml reads an existing store: check the URI, or train into it first "
        "(python -m declarative_ml tracking.uri=... experiment=NAME)"
    ]
    assert not (tmp_path / "typo.db").exists()


def test_the_default_and_environment_stores_are_named(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    code, _, err = dml(capsys, "models", "list")
    assert code == 2
    assert err.startswith(
        "error: the default tracking store: no MLflow store at sqlite:///mlflow.db"
    )
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'gone' / 'x.db'}")
    code, _, err = dml(capsys, "history", NAME)
    assert code == 2 and err.startswith("error: $MLFLOW_TRACKING_URI: no MLflow store at ")
    assert not list(tmp_path.iterdir())


def test_rules_plan_refuses_a_missing_store_from_an_override(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = dml(
        capsys, "rules", "plan", "experiment=xgb_baseline", "tracking.uri=sqlite:///nope.db"
    )
    assert code == 2
    assert err.startswith("error: tracking.uri: no MLflow store at sqlite:///nope.db")
    assert not (tmp_path / "nope.db").exists()


# --- a reader that stops early ---------------------------------------------------------------


@pytest.mark.parametrize("json_flag", [[], ["--json"]])
def test_a_closed_pipe_ends_quietly(store: dict[str, str], json_flag: list[str]) -> None:
    # The reader is gone before dml writes a byte: every write meets a closed pipe.
    proc = dml_process(*json_flag, "--tracking-uri", store["uri"], "history", NAME)
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.close()
    err = proc.stderr.read()
    assert proc.wait(timeout=120) == EXIT_PIPE_CLOSED
    assert err == ""


def test_head_takes_the_first_line(store: dict[str, str]) -> None:
    code = "from declarative_ml.cli.main import entry; entry()"
    shell = (
        f"'{sys.executable}' -c '{code}' --tracking-uri '{store['uri']}' history {NAME} "
        "| head -1; echo status ${PIPESTATUS[0]} >&2"
    )
    for _ in range(3):
        done = subprocess.run(["bash", "-c", shell], capture_output=True, text=True, timeout=120)
        assert done.stdout.split() == ["when", "version", "from", "to", "who", "why"]
        assert done.stderr.strip() in ("status 0", f"status {EXIT_PIPE_CLOSED}")


# --- help points to the other command --------------------------------------------------------


def test_dml_help_says_how_to_train(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["--help"])
    out = " ".join(capsys.readouterr().out.split())
    assert "To train (and apply the promotion rules): python -m declarative_ml experiment=" in out


def test_training_help_points_to_dml(tmp_path: Path) -> None:
    done = run_cli("--help", cwd=tmp_path)
    assert done.returncode == 0
    assert "dml --help" in done.stdout


# --- a run's models:/m-<id> URI ---------------------------------------------------------------


def test_a_logged_model_uri_is_a_model_ref(
    store: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    uri, run_id, model_id = store["uri"], store["unregistered_run"], store["unregistered_model"]
    _, by_uri, err = dml(capsys, "--tracking-uri", uri, "--json", "metrics", f"models:/{model_id}")
    _, by_run, _ = dml(capsys, "--tracking-uri", uri, "--json", "metrics", run_id)
    assert err == "" and json.loads(by_uri) == json.loads(by_run)

    code, out, _ = dml(capsys, "--tracking-uri", uri, "lineage", f"models:/{model_id}")
    assert code == 0
    assert out.splitlines()[0] == f"model      logged model {model_id} (not registered)"
    assert out.splitlines()[1].startswith(f"run        {run_id} (FINISHED")

    client = MlflowClient(uri)
    registered = client.get_model_version(NAME, "2")
    (output,) = client.get_run(registered.run_id).outputs.model_outputs
    code, out, _ = dml(
        capsys, "--tracking-uri", uri, "--json", "lineage", f"models:/{output.model_id}"
    )
    assert code == 0
    assert json.loads(out)["model"]["version"] == "2"
    assert json.loads(out)["run"]["id"] == registered.run_id
    code, out, _ = dml(
        capsys, "--tracking-uri", uri, "--json", "models", "show", f"models:/{output.model_id}"
    )
    assert code == 0
    assert (json.loads(out)["version"], json.loads(out)["aliases"]) == ("2", "@staging")


def test_an_unknown_logged_model_is_one_line(
    store: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    missing = "m-" + "0" * 32
    code, _, err = dml(capsys, "--tracking-uri", store["uri"], "metrics", f"models:/{missing}")
    assert code == 2
    assert err.splitlines() == [
        f"error: no logged model '{missing}' in this tracking store (models:/{missing} is what "
        "a run prints as 'model:'; check the id and --tracking-uri)"
    ]


# --- dml evaluate: a model and a dataset that do not fit ---------------------------------------


@pytest.mark.parametrize("extra", [[], ["dataset.task=multiclass"]])
def test_a_binary_model_cannot_score_three_classes(
    store: dict[str, str], capsys: pytest.CaptureFixture[str], extra: list[str]
) -> None:
    code, out, err = dml(
        capsys,
        "--tracking-uri",
        store["uri"],
        "evaluate",
        f"{NAME}@production",
        "dataset=iris",
        *extra,
    )
    assert code == 2 and out == ""
    assert err.splitlines() == [
        "error: dataset=iris: a model trained for a binary task (2 classes) cannot score this "
        "dataset: its target 'target' has 3 classes (0, 1, 2); score it with a multiclass model"
    ]


def test_a_classifier_cannot_score_a_regression_dataset(
    store: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = dml(
        capsys, "--tracking-uri", store["uri"], "evaluate", f"{NAME}/2", "dataset=diabetes"
    )
    assert code == 2
    assert err.splitlines() == [
        f"error: dataset=diabetes: {NAME}/2 was trained for a binary task and cannot score "
        "dataset 'diabetes', declared regression (dataset.task)"
    ]


def test_evaluate_loads_the_model_from_the_store_it_was_given(
    store: dict[str, str], own_store: str, capsys: pytest.CaptureFixture[str]
) -> None:
    # MLflow's own default store (./mlflow.db here) does not hold the model.
    code, out, err = dml(
        capsys,
        "--tracking-uri",
        own_store,
        "--json",
        "evaluate",
        f"models:/{store['unregistered_model']}",
        "dataset=breast_cancer",
    )
    assert code == 0, err
    result = json.loads(out)
    assert result["model"] == store["unregistered_model"] and result["rows"] == 569
    assert not Path("mlflow.db").exists()


# --- no-ops say so and write nothing ---------------------------------------------------------


def _registry_state(uri: str) -> list[tuple[str, str, tuple[str, ...], int]]:
    client = MlflowClient(uri)
    return [
        (str(v.version), v.tags.get("stage", ""), tuple(sorted(v.tags)), v.last_updated_timestamp)
        for v in sorted(
            client.search_model_versions(f"name='{NAME}'"), key=lambda v: int(v.version)
        )
    ]


def test_archiving_an_archived_version_writes_nothing(
    own_store: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, _ = dml(capsys, "--tracking-uri", own_store, "archive", NAME, "2")
    assert code == 0
    before = _registry_state(own_store)
    code, out, err = dml(capsys, "--tracking-uri", own_store, "archive", NAME, "2")
    assert (code, err) == (0, "")
    assert out == f"version 2 of '{NAME}' is already archived: nothing changed\n"
    assert _registry_state(own_store) == before
    code, out, _ = dml(capsys, "--tracking-uri", own_store, "--json", "archive", NAME, "2")
    assert code == 0 and json.loads(out) == []


def test_promoting_the_champion_again_writes_nothing(
    own_store: str, capsys: pytest.CaptureFixture[str]
) -> None:
    before = _registry_state(own_store)
    code, out, err = dml(
        capsys, "--tracking-uri", own_store, "promote", NAME, "1", "--to", "production"
    )
    assert (code, err) == (0, "")
    assert out == f"version 1 of '{NAME}' is already at @production: nothing changed\n"
    assert _registry_state(own_store) == before


def test_rollback_with_no_champion_says_so_and_writes_nothing(
    own_store: str, capsys: pytest.CaptureFixture[str]
) -> None:
    dml(capsys, "--tracking-uri", own_store, "archive", NAME, "1")
    before = _registry_state(own_store)
    code, out, err = dml(capsys, "--tracking-uri", own_store, "rollback", NAME)
    assert code == 2 and out == ""
    assert err.splitlines() == [
        f"error: model '{NAME}' has no version at @production, so there is nothing to roll "
        f"back from; version 1 held it last (to put it back: dml promote {NAME} 1 --to "
        "production)"
    ]
    assert _registry_state(own_store) == before
    assert not any("None" in t.why for t in audit.read(MlflowClient(own_store), NAME))


def test_the_training_entry_point_ends_quietly_on_a_closed_pipe(tmp_path: Path) -> None:
    """`python -m declarative_ml --help | head -1`, with the reader gone before the writer."""
    read, write = os.pipe()
    os.close(read)  # nobody will read: every write fails
    proc = subprocess.run(
        [sys.executable, "-m", "declarative_ml", "--help"],
        stdout=write,
        stderr=subprocess.PIPE,
        text=True,
        cwd=tmp_path,
        timeout=120,
    )
    os.close(write)
    assert proc.returncode == EXIT_PIPE_CLOSED, proc.stderr
    assert proc.stderr == ""
