"""``model=mlp``: the torch MLP estimators, their per-epoch tracking, determinism and serving."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from sklearn.utils.estimator_checks import parametrize_with_checks

from conftest import compose_config, run_cli
from declarative_ml.errors import ConfigError
from declarative_ml.models.torch import MLPClassifier, MLPRegressor
from declarative_ml.models.torch.progress import MAX_PLAIN_LINES, EpochProgress
from declarative_ml.runner import RunResult, train

# Small and quick, yet accurate enough for scikit-learn's "learns something" checks.
CHECK_PARAMS: dict[str, Any] = {
    "hidden_layers": (16,),
    "epochs": 10,
    "learning_rate": 0.05,
    "batch_size": 64,
    "patience": None,
    "validation_fraction": 0.0,
}
# scikit-learn checks expected to fail: none. (Predictions are computed in float64, so
# check_methods_subset_invariance holds: a row's output does not depend on its batch.)
EXPECTED_FAILED_CHECKS: dict[str, str] = {}


@parametrize_with_checks(
    [MLPClassifier(**CHECK_PARAMS), MLPRegressor(**CHECK_PARAMS)],
    expected_failed_checks=lambda estimator: EXPECTED_FAILED_CHECKS,
)
def test_scikit_learn_estimator_checks(estimator: Any, check: Any) -> None:
    check(estimator)


# ------------------------------------------------------------------ the estimators


def blobs(n: int = 200, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 5)) * [1, 10, 100, 0.1, 1] + [0, 50, -300, 0, 5]
    y = (X[:, 0] + (X[:, 1] - 50) / 10 > 0.5).astype(int)
    return X, y


def test_fit_records_history_and_restores_the_best_epoch() -> None:
    X, y = blobs()
    model = MLPClassifier(epochs=40, patience=3, learning_rate=0.05, hidden_layers=[8])
    model.fit(X[:150], y[:150], eval_set=(X[150:], y[150:]), eval_metrics=("accuracy", "roc_auc"))
    assert set(model.history_[0]) == {"train_loss", "val_loss", "val_accuracy", "val_roc_auc"}
    best = model.best_epoch_
    assert model.history_[best]["val_loss"] == min(r["val_loss"] for r in model.history_)
    assert len(model.history_) <= best + 1 + 3  # stopped after `patience` worse epochs
    proba = model.predict_proba(X[150:])
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    # The kept weights are the best epoch's: its val_loss is the restored model's.
    loss = -np.mean(np.log(proba[np.arange(50), y[150:]]))
    assert loss == pytest.approx(model.history_[best]["val_loss"], rel=1e-4)


def test_inputs_are_standardised_inside_the_network() -> None:
    X, y = blobs()
    model = MLPRegressor(epochs=5, validation_fraction=0.0).fit(X, y * 1000.0 + 5)
    state = model.network_.state_dict()
    np.testing.assert_allclose(state["x_mean"].numpy(), X.mean(axis=0), rtol=1e-5)
    np.testing.assert_allclose(state["x_scale"].numpy(), X.std(axis=0), rtol=1e-5)
    assert float(state["y_mean"][0]) == pytest.approx((y * 1000.0 + 5).mean(), rel=1e-5)


def test_same_seed_same_model_and_the_global_rng_is_left_alone() -> None:
    import torch

    X, y = blobs()
    state = torch.random.get_rng_state()
    first = MLPClassifier(epochs=5, seed=3, dropout=0.2).fit(X, y)
    assert torch.equal(torch.random.get_rng_state(), state)
    second = MLPClassifier(epochs=5, seed=3, dropout=0.2).fit(X, y)
    other = MLPClassifier(epochs=5, seed=4, dropout=0.2).fit(X, y)
    assert first.history_ == second.history_
    np.testing.assert_array_equal(first.predict_proba(X), second.predict_proba(X))
    assert first.history_ != other.history_


def test_device_auto_uses_cuda_when_present() -> None:
    import torch

    X, y = blobs(50)
    model = MLPRegressor(epochs=1, device="auto").fit(X, y)
    assert model.device_ == ("cuda" if torch.cuda.is_available() else "cpu")
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="CUDA is not available"):
            MLPRegressor(epochs=1, device="cuda").fit(X, y)


def test_early_stopping_on_a_metric_not_scored_is_refused() -> None:
    X, y = blobs()
    with pytest.raises(ValueError, match="early_stopping_metric='val_f1' is not scored"):
        MLPClassifier(early_stopping_metric="val_f1").fit(X, y, eval_metrics=("accuracy",))


def test_a_missing_torch_is_one_line_saying_how_to_install_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "torch", None)  # as if not installed
    with pytest.raises(ConfigError, match=r"pip install torch==2\.13\.0") as info:
        MLPClassifier().fit(*blobs(20))
    assert "\n" not in str(info.value)


def test_progress_is_a_live_line_on_a_terminal_and_few_lines_in_a_log() -> None:
    log = io.StringIO()
    progress = EpochProgress(500, label="MLP", stream=log)
    for epoch in range(1, 301):
        progress.update(epoch, {"train_loss": 1 / epoch})
    progress.close(300, {"train_loss": 1 / 300}, "stopped early; best epoch 290")
    lines = log.getvalue().splitlines()
    assert "\r" not in log.getvalue()
    assert len(lines) <= MAX_PLAIN_LINES + 3
    assert lines[0].startswith("MLP epoch   1/500") and "300/500" in lines[-2]
    assert lines[-1] == "MLP stopped early; best epoch 290"

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    screen = Terminal()
    progress = EpochProgress(3, label="MLP", stream=screen)
    for epoch in (1, 2, 3):
        progress.update(epoch, {"train_loss": 0.5})
    progress.close(3, {"train_loss": 0.5})
    assert screen.getvalue().count("\r") == 3 and screen.getvalue().count("\n") == 1
    assert "[####################]" in screen.getvalue()


# ------------------------------------------------------------------------- config


@pytest.mark.parametrize(
    ("override", "message"),
    [
        (
            "model.params.activation=swish",
            "model.params.activation: must be a str among "
            "{'elu', 'gelu', 'leaky_relu', 'relu', 'silu', 'tanh'}; got 'swish' "
            "(declarative_ml.models.torch.MLPClassifier)",
        ),
        (
            "model.params.hidden_layers=[64,0]",
            "model.params.hidden_layers: must be a list of positive integers; got [64, 0] "
            "(declarative_ml.models.torch.MLPClassifier)",
        ),
        ("model.params.patience=0", "model.params.patience: must be an int in the range [1, "),
        ("model.params.optimizer=rmsprop", "model.params.optimizer: must be a str among"),
        (  # would train until killed (patience null: every epoch)
            "model.params.epochs=100000000000000000000",
            "model.params.epochs: must be an int in the range [1, 1000000]; "
            "got 100000000000000000000",
        ),
    ],
)
def test_bad_params_fail_before_training(override: str, message: str) -> None:
    from declarative_ml.config.validate import validate_config
    from declarative_ml.models.build import build_estimator

    cfg = compose_config("experiment=mlp_baseline", override)
    plan = validate_config(cfg)
    with pytest.raises(ConfigError) as info:
        build_estimator(cfg.model, plan.task)
    assert str(info.value).startswith(message)


def test_early_stopping_metric_is_checked_against_the_metrics() -> None:
    from declarative_ml.config.validate import validate_config

    cfg = compose_config("experiment=mlp_baseline", "model.params.early_stopping_metric=val_r2")
    with pytest.raises(ConfigError, match="'val_r2' is not scored every epoch; known: val_loss"):
        validate_config(cfg)
    cfg = compose_config("experiment=mlp_baseline", "model.params.early_stopping_metric=val_f1")
    assert validate_config(cfg).family == "torch"


def test_importing_and_building_the_estimator_does_not_import_torch(tmp_path: Path) -> None:
    script = (
        "import sys\n"
        "from declarative_ml.models.allowlist import import_class\n"
        "cls = import_class('declarative_ml.models.torch.MLPClassifier', key='k')\n"
        "cls(hidden_layers=[8])._validate_params()\n"
        "print('torch' in sys.modules)\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", script], cwd=tmp_path, capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "False"


# --------------------------------------------------------------- tracked runs


def tiny(*overrides: str, uri: str) -> list[str]:
    return [
        *overrides,
        f"tracking.uri='{uri}'",
        "run.latency_rows=100",
        "model.params.epochs=12",
        "model.params.patience=4",
        "model.params.learning_rate=0.01",
        "model.params.verbose=false",
    ]


def run(overrides: list[str]) -> RunResult:
    return train(compose_config(*overrides), overrides=overrides)


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, dict[str, RunResult]]:
    """One store with a classifier (breast cancer) and a regressor (diabetes)."""
    root = tmp_path_factory.mktemp("torch")
    uri = f"sqlite:///{root / 'mlflow.db'}"
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(root)
        mp.delenv("MLFLOW_TRACKING_URI", raising=False)
        results = {
            "classifier": run(tiny("experiment=mlp_baseline", uri=uri)),
            "regressor": run(
                tiny(
                    "dataset=diabetes",
                    "model=mlp",
                    "promotion=regression",
                    "metrics=[rmse,mae,r2]",
                    "model.params.early_stopping_metric=val_rmse",
                    uri=uri,
                )
            ),
        }
    return uri, results


@pytest.mark.parametrize("kind", ["classifier", "regressor"])
def test_run_logs_epochs_with_steps_and_the_models_metrics_last(
    kind: str, store: tuple[str, dict[str, RunResult]]
) -> None:
    from mlflow import MlflowClient

    uri, results = store
    result = results[kind]
    client = MlflowClient(uri)
    finished = client.get_run(result.run_id)
    assert finished.info.status == "FINISHED"
    assert finished.data.metrics == pytest.approx(result.metrics)  # latest = the model's
    metric = "roc_auc" if kind == "classifier" else "rmse"
    for name in ("train_loss", "val_loss", f"val_{metric}"):
        steps = [m.step for m in client.get_metric_history(result.run_id, name)]
        assert steps == list(range(len(steps))) and len(steps) >= 2, name
    epochs = len(client.get_metric_history(result.run_id, "train_loss")) - 1
    assert 1 <= epochs <= 12
    assert "plots/learning_curve.png" in result.artifacts
    assert finished.data.tags["dml.device"] == result.device == "cpu"  # device: auto, no GPU
    if kind == "classifier":
        assert result.metrics["test_roc_auc"] > 0.95
        assert result.promotion is not None  # the default rules applied to a torch model
    else:
        assert result.metrics["test_r2"] > 0.2


@pytest.mark.parametrize("kind", ["classifier", "regressor"])
def test_logged_model_serves_raw_rows_without_pickle(
    kind: str, store: tuple[str, dict[str, RunResult]], no_pickle: Any, tmp_path: Path
) -> None:
    from sklearn import datasets

    result = store[1][kind]
    loader = datasets.load_breast_cancer if kind == "classifier" else datasets.load_diabetes
    rows = loader(as_frame=True).frame  # every column, target included: extras ride along
    model = no_pickle.pyfunc.load_model(result.model_uri)
    predicted = model.predict(rows)
    assert len(predicted) == len(rows)
    if kind == "classifier":
        assert set(predicted) == {0, 1}
        assert (predicted.to_numpy() == rows["target"].to_numpy()).mean() > 0.9
        proba = model.predict(rows, params={"predict_method": "predict_proba"})
        assert list(proba.columns) == ["0", "1"]
        np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    else:
        assert np.corrcoef(predicted, rows["target"])[0, 1] > 0.5
    assert [i.name for i in model.metadata.signature.inputs.inputs] == list(
        rows.columns.drop("target")
    )

    folder = Path(no_pickle.artifacts.download_artifacts(result.model_uri, dst_path=str(tmp_path)))
    names = {p.name for p in folder.rglob("*") if p.is_file()}
    assert {"estimator.pt", "network.json", "meta.json", "torch_net.py", "MLmodel"} <= names
    assert not any(n.endswith((".pkl", ".pickle", ".joblib")) for n in names)
    assert json.loads((folder / "artifacts" / "meta.json").read_text())["format"] == (
        "torch-state-dict"
    )
    requirements = (folder / "requirements.txt").read_text().split()
    assert "torch==2.13.0" in requirements


def test_saved_weights_load_with_weights_only(
    store: tuple[str, dict[str, RunResult]], no_pickle: Any, tmp_path: Path
) -> None:
    import torch

    from declarative_ml.serving.torch_net import load_network

    result = store[1]["classifier"]
    folder = Path(no_pickle.artifacts.download_artifacts(result.model_uri, dst_path=str(tmp_path)))
    weights = next(folder.rglob("estimator.pt"))
    state = torch.load(weights, weights_only=True)
    assert all(isinstance(v, torch.Tensor) for v in state.values())
    assert {"x_mean", "x_scale"} <= set(state)
    network = load_network(str(weights), str(next(folder.rglob("network.json"))))
    assert network.kind == "classification"


def test_same_seed_twice_gives_identical_metrics(tracking_uri: str) -> None:
    from mlflow import MlflowClient

    overrides = tiny(
        "experiment=mlp_baseline",
        "run.log_model=false",
        "run.log_plots=false",
        "promotion.enabled=false",
        uri=tracking_uri,
    )
    first, second = run(overrides), run(overrides)
    timing = {"training_duration_s", "predict_latency_ms"}
    assert {k: v for k, v in first.metrics.items() if k not in timing} == {
        k: v for k, v in second.metrics.items() if k not in timing
    }
    client = MlflowClient(tracking_uri)
    curves = [
        [m.value for m in client.get_metric_history(r.run_id, "val_loss")] for r in (first, second)
    ]
    assert curves[0] == curves[1]


# ------------------------------------------------------------------- the real CLI


@pytest.mark.slow
def test_cli_trains_mlp_baseline_and_prints_epochs(tmp_path: Path) -> None:
    proc = run_cli("experiment=mlp_baseline", "model.params.epochs=15", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "MLPClassifier epoch  1/15" in proc.stderr  # plain lines: stderr is not a terminal
    assert "\r" not in proc.stderr
    assert "test_roc_auc" in proc.stdout
    assert (tmp_path / "mlflow.db").exists()


@pytest.mark.slow
def test_grid_sweep_over_the_learning_rate(tmp_path: Path) -> None:
    import mlflow

    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    proc = run_cli(
        "-m",
        "experiment=mlp_baseline",
        "model.params.epochs=10",
        "run.log_plots=false",
        f"tracking.uri={uri}",
        "model.params.learning_rate=0.001,0.01",
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "sweep: 2 trials" in proc.stdout
    client = mlflow.MlflowClient(uri)
    runs = client.search_runs([e.experiment_id for e in client.search_experiments()])
    children = [r for r in runs if "mlflow.parentRunId" in r.data.tags]
    assert len(children) == 2 and all(r.info.status == "FINISHED" for r in children)
    rates = {r.data.params["model.params.learning_rate"] for r in children}
    assert rates == {"0.001", "0.01"}
    assert all("val_loss" in r.data.metrics for r in children)
