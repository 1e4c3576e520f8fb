"""``model=mlp`` on a GPU: ``device: auto`` trains on CUDA, and what was trained there comes
back from the training process, pickles, saves and loads on a machine without a GPU.

Skipped where CUDA is absent (CI has none); ``make test-gpu`` runs these on a GPU machine.
They import only torch, scikit-learn and the estimator (no MLflow or Hydra), so they run
with ``--noconftest`` on a machine that has just those.
"""

from __future__ import annotations

import json
import os
import pickle
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
from sklearn.datasets import load_breast_cancer, load_diabetes  # noqa: E402
from sklearn.metrics import r2_score, roc_auc_score  # noqa: E402

from declarative_ml.models.torch import MLPClassifier, MLPRegressor  # noqa: E402
from declarative_ml.serving.torch_net import load_network, network_outputs  # noqa: E402

pytestmark = [
    pytest.mark.gpu,
    pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA"),
]
TESTS = Path(__file__).resolve().parent
SRC = TESTS.parent / "src"


def python(
    *args: str, env: dict[str, str] | None = None, stdin: bytes = b"", cwd: Path | None = None
) -> str:
    """Run this Python with ``args`` (``-c CODE`` or ``-m MODULE``); returns its output."""
    done = subprocess.run(
        [sys.executable, *args], input=stdin, capture_output=True, env=env, cwd=cwd, check=False
    )
    assert done.returncode == 0, done.stderr.decode()[-3000:]
    return done.stdout.decode()


def last_line(text: str) -> str:
    return text.strip().splitlines()[-1]


def breast_cancer() -> tuple[np.ndarray, ...]:
    X, y = load_breast_cancer(return_X_y=True)
    return X[:400], y[:400], X[400:], y[400:]


def on_cuda(model: MLPClassifier | MLPRegressor) -> bool:
    tensors = [*model.network_.parameters(), *model.network_.buffers()]
    return all(t.device.type == "cuda" for t in tensors)


def test_auto_trains_a_classifier_on_cuda() -> None:
    X, y, X_test, y_test = breast_cancer()
    model = MLPClassifier(epochs=30, learning_rate=0.01, device="auto", seed=0).fit(X, y)
    assert model.device_ == "cuda"
    assert on_cuda(model)
    assert roc_auc_score(y_test, model.predict_proba(X_test)[:, 1]) > 0.95
    assert len(model.history_) >= 1 and "val_loss" in model.history_[0]


def test_regressor_trains_on_cuda() -> None:
    X, y = load_diabetes(return_X_y=True)
    model = MLPRegressor(epochs=60, learning_rate=0.01, device="cuda", seed=0)
    model.fit(X[:350], y[:350])
    assert on_cuda(model)
    assert r2_score(y[350:], model.predict(X[350:])) > 0.3


def test_same_seed_twice_on_cuda() -> None:
    # Promised on the CPU only; on CUDA the training loop's kernels are deterministic for
    # these shapes, and this test says so if a torch release changes that.
    X, y, X_test, _ = breast_cancer()
    first, second = (MLPClassifier(epochs=15, device="cuda", seed=7).fit(X, y) for _ in range(2))
    assert first.history_ == second.history_
    np.testing.assert_array_equal(first.predict_proba(X_test), second.predict_proba(X_test))


def test_network_trained_on_cuda_saves_and_loads_on_the_cpu(tmp_path: Path) -> None:
    X, y, X_test, _ = breast_cancer()
    model = MLPClassifier(epochs=10, device="cuda", seed=1).fit(X, y)
    weights, spec = str(tmp_path / "weights.pt"), str(tmp_path / "network.json")
    model.save_network(weights, spec)
    loaded = load_network(weights, spec)  # weights_only=True, map_location="cpu"
    assert all(t.device.type == "cpu" for t in loaded.state_dict().values())
    np.testing.assert_allclose(
        network_outputs(loaded, X_test), model.predict_proba(X_test), rtol=1e-9, atol=1e-12
    )


def test_pickled_cuda_model_loads_where_there_is_no_gpu() -> None:
    X, y, X_test, _ = breast_cancer()
    model = MLPClassifier(epochs=10, device="cuda", seed=2).fit(X, y)
    blob = pickle.dumps(model)
    assert on_cuda(model)  # pickling left the fitted model where it was
    assert on_cuda(pickle.loads(blob))  # and a GPU process gets it back on the GPU
    code = (
        "import pickle, sys, json, numpy as np\n"
        "model = pickle.loads(sys.stdin.buffer.read())\n"
        f"X = np.array({X_test.tolist()!r})\n"
        "print(json.dumps([model.device_, model.predict_proba(X).tolist()]))\n"
    )
    env = {**os.environ, "CUDA_VISIBLE_DEVICES": "", "PYTHONPATH": str(SRC)}
    device, proba = json.loads(last_line(python("-c", code, env=env, stdin=blob)))
    assert device == "cpu"
    np.testing.assert_allclose(proba, model.predict_proba(X_test), rtol=1e-9, atol=1e-12)


def test_training_process_trains_on_cuda_and_the_parent_loads_its_model(tmp_path: Path) -> None:
    # As the runner does: a parent that has not loaded torch forks the training child,
    # which initialises CUDA itself, trains and saves; the parent loads the saved network.
    code = (
        "import json, sys\n"
        f"sys.path[:0] = [{str(TESTS)!r}, {str(SRC)!r}]\n"
        "from declarative_ml.worker import Stages, start_method\n"
        "from torch_stages import fit_mlp_stage\n"
        "method = start_method()\n"
        f"with Stages(fit_mlp_stage, 'auto', {str(tmp_path)!r}, isolate=True) as stages:\n"
        "    files, X, child_proba, child_device = next(stages)\n"
        "from declarative_ml.serving.torch_net import load_network, network_outputs\n"
        "gap = abs(network_outputs(load_network(*files), X) - child_proba).max()\n"
        "print(json.dumps({'method': method, 'child_device': child_device,\n"
        "    'parent_has_cuda_context': __import__('torch').cuda.is_initialized(),\n"
        "    'gap': float(gap)}))\n"
    )
    result = json.loads(last_line(python("-c", code)))
    assert result == {
        "method": "fork",
        "child_device": "cuda",
        "parent_has_cuda_context": False,
        "gap": pytest.approx(0.0, abs=1e-12),
    }


def test_cli_trains_mlp_baseline_on_the_gpu_and_its_model_serves_on_a_cpu(tmp_path: Path) -> None:
    pytest.importorskip("mlflow")
    pytest.importorskip("hydra")
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(SRC), os.environ.get("PYTHONPATH", "")]),
    }
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    summary = python(
        "-m",
        "declarative_ml",
        "experiment=mlp_baseline",
        f"tracking.uri={uri}",
        env=env,
        cwd=tmp_path,
    )
    assert " on cuda (" in summary  # the summary's "fit ... s on cuda (GPU name)"
    serve = (
        "import json, sys, mlflow\n"
        "from sklearn.datasets import load_breast_cancer\n"
        "client = mlflow.MlflowClient(sys.argv[1])\n"
        "run = client.search_runs(['1'])[0]\n"
        "mlflow.set_tracking_uri(sys.argv[1])\n"
        "model = mlflow.pyfunc.load_model('models:/breast_cancer-mlp@production')\n"
        "X = load_breast_cancer(as_frame=True).data.head(20)\n"
        "print(json.dumps([run.data.tags['dml.device'], run.info.status,\n"
        "    run.data.metrics['test_roc_auc'], len(model.predict(X))]))\n"
    )
    cpu_only = {**env, "CUDA_VISIBLE_DEVICES": ""}
    served = python("-c", serve, uri, env=cpu_only, cwd=tmp_path)
    device, status, roc_auc, rows = json.loads(last_line(served))
    assert device.startswith("cuda (") and status == "FINISHED" and rows == 20
    assert roc_auc > 0.95
