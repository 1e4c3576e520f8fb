"""No secret in the record: a URI password, a ``${oc.env:..}`` value and the value of a
secret-looking key never reach MLflow (params, tags, artifacts), Hydra's output folders
(files and folder names) or the terminal; pandera's failing values stay in the terminal.

The CLI tests grep every byte and every path under the test's folder (the sqlite store,
``mlruns/``, ``outputs/``, ``multirun/``) and the captured output for the secret strings.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from omegaconf import OmegaConf

from conftest import compose_config, run_cli
from declarative_ml import secrets
from declarative_ml.errors import DataValidationError
from declarative_ml.secrets import (
    MASK,
    looks_secret,
    mask_config,
    mask_text,
    secret_values,
)

ENV_SECRET = "env-s3cret-4f9a1c"
KEY_SECRET = "key-s3cret-7b2e8d"
URI_PASSWORD = "uri-s3cret-5d1c0a"
SECRETS = (ENV_SECRET, KEY_SECRET, URI_PASSWORD)
URI = f"postgresql://dml:{URI_PASSWORD}@db.internal:5432/mlflow"
FAST = (
    "experiment=rf_iris",
    "model.params.n_estimators=5",
    "run.log_model=false",
    "run.log_plots=false",
)
SECRET_OVERRIDES = (
    "+tracking.tags.owner=${oc.env:DML_TEST_SECRET}",  # a value from the environment
    f"+tracking.tags.api_key={KEY_SECRET}",  # a secret-looking key
    f"+tracking.tags.store='{URI}'",  # a URI with a password
    "+tracking.tags.num_tokens=12345678",  # not a secret
)


def leaks(root: Path, *texts: str) -> list[str]:
    """Where under ``root`` (file contents and path names) or in ``texts`` a secret shows."""
    found = []
    for path in sorted(root.rglob("*")):
        name = str(path.relative_to(root))
        data = path.read_bytes() if path.is_file() else b""
        found += [f"name {name}: {s}" for s in SECRETS if s in name]
        found += [f"file {name}: {s}" for s in SECRETS if s.encode() in data]
    for index, text in enumerate(texts):
        found += [f"output {index}: {s}" for s in SECRETS if s in text]
    return found


def tags_of_runs(uri: str) -> list[dict[str, str]]:
    from mlflow import MlflowClient

    client = MlflowClient(tracking_uri=uri)
    experiment = client.get_experiment_by_name("iris")
    assert experiment is not None
    runs = client.search_runs([experiment.experiment_id])
    return [dict(r.data.tags) for r in runs if r.data.tags.get("dml.sweep") != "parent"]


# ---------------------------------------------------------------------------- the whole CLI


@pytest.mark.slow
def test_a_run_records_no_secret(tmp_path: Path) -> None:
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    proc = run_cli(
        *FAST,
        *SECRET_OVERRIDES,
        "hydra.run.dir=outputs/${hydra.job.override_dirname}",  # a folder named by overrides
        cwd=tmp_path,
        env={"DML_TEST_SECRET": ENV_SECRET, "MLFLOW_TRACKING_URI": uri},
    )
    assert proc.returncode == 0, proc.stderr
    (run_dir,) = (tmp_path / "outputs").iterdir()
    assert run_dir.name.startswith("+tracking.tags.num_tokens=12345678,experiment=rf_iris")
    assert (tmp_path / "mlruns").is_dir()
    assert leaks(tmp_path, proc.stdout, proc.stderr) == []
    (tags,) = tags_of_runs(uri)
    assert tags["api_key"] == MASK
    assert tags["store"] == f"postgresql://dml:{MASK}@db.internal:5432/mlflow"
    assert tags["num_tokens"] == "12345678"


def test_a_data_path_from_the_environment_is_not_recorded(
    tmp_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    # The path is masked in params and tags; it was recorded as is in the dataset inputs'
    # source (a file URI), in the sqlite store.
    import shutil

    from declarative_ml.config.resolvers import bundled_data

    secret_dir = tmp_path_factory.mktemp("data") / ENV_SECRET
    secret_dir.mkdir()
    data = secret_dir / "penguins.csv"
    shutil.copy(bundled_data("penguins.csv"), data)
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    proc = run_cli(
        "dataset=penguins",
        "promotion=multiclass",
        "model=random_forest",
        "model.params.n_estimators=5",
        "run.log_model=false",
        "run.log_plots=false",
        "dataset.path=${oc.env:DML_TEST_DATA}",
        cwd=tmp_path,
        env={"DML_TEST_DATA": str(data), "MLFLOW_TRACKING_URI": uri},
    )
    assert proc.returncode == 0, proc.stderr
    assert leaks(tmp_path, proc.stdout, proc.stderr) == []
    from mlflow import MlflowClient

    (run,) = MlflowClient(uri).search_runs(["1"])
    sources = {i.dataset.source for i in run.inputs.dataset_inputs}
    assert len(sources) == 1 and MASK in sources.pop()


@pytest.mark.slow
def test_a_sweep_records_no_secret(tmp_path: Path) -> None:
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    proc = run_cli(
        "-m",
        *FAST,
        "model.params.max_depth=2,3",
        *SECRET_OVERRIDES,
        "hydra.sweep.subdir=${hydra.job.override_dirname}",
        cwd=tmp_path,
        # The store from the environment: a URI in the overrides would nest the folders.
        env={"DML_TEST_SECRET": ENV_SECRET, "MLFLOW_TRACKING_URI": uri},
    )
    assert proc.returncode == 0, proc.stderr
    assert "Launching 2 jobs" in proc.stdout + proc.stderr  # Hydra's log of the overrides
    trial_dirs = [p.parent.name for p in (tmp_path / "multirun").rglob("dml_trial.json")]
    assert len(trial_dirs) == 2
    assert all(name.startswith("+tracking.tags.num_tokens=12345678,") for name in trial_dirs)
    assert all("model.params.max_depth=" in name for name in trial_dirs)
    assert leaks(tmp_path, proc.stdout, proc.stderr) == []
    tags = tags_of_runs(uri)
    assert [t["api_key"] for t in tags] == [MASK, MASK]


# ------------------------------------------------------------------------------ the pure core


@pytest.mark.parametrize(
    "key",
    [
        "api_key",
        "tracking.tags.api_key",
        "+model.params.db_password",
        "aws_secret_access_key",
        "hf_token",
        "HF_TOKEN",
        "apiKey",
        "private_key",
        "credentials",
        "password",
    ],
)
def test_secret_looking_keys(key: str) -> None:
    assert looks_secret(key)


@pytest.mark.parametrize(
    "key", ["num_tokens", "tokenizer", "max_new_tokens", "n_estimators", "model.params.max_depth"]
)
def test_ordinary_keys(key: str) -> None:
    assert not looks_secret(key)


def test_mask_text_masks_overrides_uris_yaml_and_known_values() -> None:
    text = (
        f"+tracking.tags.api_key={KEY_SECRET} num_tokens=12345678 {URI}\n"
        f"hf_token: '{KEY_SECRET}'\nowner: {ENV_SECRET}"
    )
    masked = mask_text(text, values=[ENV_SECRET])
    assert not [s for s in SECRETS if s in masked]
    assert "num_tokens=12345678" in masked
    assert f"api_key={MASK}" in masked and f"hf_token: {MASK}" in masked


def test_config_secrets_are_masked_and_env_values_shown_as_their_source(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("DML_TEST_SECRET", ENV_SECRET)
    cfg = compose_config(*FAST, *SECRET_OVERRIDES)
    assert {ENV_SECRET, KEY_SECRET, URI_PASSWORD} <= secret_values(cfg)
    tags = mask_config(cfg)["tracking"]["tags"]
    assert tags == {
        "owner": "${oc.env:DML_TEST_SECRET}",
        "api_key": MASK,
        "store": f"postgresql://dml:{MASK}@db.internal:5432/mlflow",
        "num_tokens": "12345678",
    }
    assert OmegaConf.create(mask_config(cfg)).tracking.tags.owner == ENV_SECRET  # reruns read it


def test_values_remembered_before_validation_resolved_them(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from declarative_ml.config.validate import validate_config

    monkeypatch.setenv("DML_TEST_SECRET", ENV_SECRET)
    cfg = compose_config(*FAST, *SECRET_OVERRIDES)
    secrets.remember_config(cfg)
    validate_config(cfg)  # resolves in place: the interpolation is gone
    assert mask_config(cfg)["tracking"]["tags"]["owner"] == MASK
    assert ENV_SECRET not in mask_text(f"value {ENV_SECRET}")


# ------------------------------------------------------------------ pandera's failing values

BAD_ROWS = pd.DataFrame({"email": ["ann@example.com", "bob@example.org"], "age": [-4, 30]})


def _schema() -> object:
    from declarative_ml.data.validate import load_schema

    return load_schema(
        {
            "schema_type": "dataframe",
            "version": "0.35.0",
            "api": "pandas",
            "columns": {
                "email": {"dtype": "str", "isin": ["carl@example.net"]},
                "age": {"dtype": "int64", "in_range": {"min_value": 0, "max_value": 120}},
            },
        }
    )


def test_failing_values_go_to_the_terminal_only() -> None:
    from declarative_ml.data.validate import validate_schema

    with pytest.raises(DataValidationError) as raised:
        validate_schema(BAD_ROWS, _schema(), where="new.csv")
    recorded, terminal = str(raised.value), raised.value.terminal_message or ""
    assert "column 'email'" in recorded and "column 'age'" in recorded
    assert "isin(" in recorded and "in 2 row(s)" in recorded
    assert "ann@example.com" not in recorded and "-4" not in recorded
    assert "'ann@example.com'" in terminal and "-4" in terminal


def test_the_dataset_may_allow_values_in_the_record() -> None:
    from declarative_ml.data.validate import validate_schema

    with pytest.raises(DataValidationError) as raised:
        validate_schema(BAD_ROWS, _schema(), where="new.csv", log_values=True)
    assert "'ann@example.com'" in str(raised.value)
    assert compose_config("dataset.log_failure_values=true").dataset.log_failure_values is True


def test_a_validation_error_after_the_run_started_records_no_values(
    tracking_uri: str, tmp_path: Path
) -> None:
    """As when ``promotion.new_data`` fails its schema while the run is open."""
    from mlflow import MlflowClient

    from declarative_ml.config.validate import validate_config
    from declarative_ml.data.prepare import prepare_data
    from declarative_ml.data.validate import validate_schema
    from declarative_ml.tracking.session import Tracker

    cfg = compose_config(*FAST)
    plan = validate_config(cfg)
    data = prepare_data(cfg.dataset, plan.task)
    client = MlflowClient(tracking_uri=tracking_uri)
    tracker = Tracker(tracking_uri, client, client.create_experiment("iris"))
    with pytest.raises(DataValidationError), tracker.run(cfg, [], plan=plan, data=data) as run:
        validate_schema(BAD_ROWS, _schema(), where="new.csv")
    logged = client.get_run(run.run_id)
    assert logged.info.status == "FAILED"
    error = logged.data.tags["dml.error"]
    assert "column 'email'" in error and "ann@example.com" not in error
    trace = Path(client.download_artifacts(run.run_id, "error.txt", str(tmp_path)))
    assert "ann@example.com" not in trace.read_text()


def test_the_sweep_state_file_masks_the_store_password(tmp_path: Path) -> None:
    from declarative_ml.sweeps.context import Sweep, read_sweep, write_sweep

    uri = "postgresql://dml:pw-S3CRET-42@db.internal:5432/mlflow"
    write_sweep(tmp_path, Sweep("parent", "1", uri, "test_roc_auc", "maximize", 4))
    assert "pw-S3CRET-42" not in (tmp_path / "dml_sweep.json").read_text()
    state = read_sweep(tmp_path)
    assert (
        state is not None and state.tracking_uri == "postgresql://dml:***@db.internal:5432/mlflow"
    )
