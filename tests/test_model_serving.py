"""Logged models load and serve without pickle, take raw rows and answer in original labels."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from omegaconf import DictConfig

from conftest import compose_config
from declarative_ml.config.resolvers import DATA_DIR
from declarative_ml.runner import RunResult, train

EXPERIMENTS = ("xgb_baseline", "rf_iris", "xgb_penguins")
PICKLE_SUFFIXES = (".pkl", ".pickle", ".joblib", ".cloudpickle", ".dill")


@dataclass(frozen=True)
class Served:
    cfg: DictConfig
    result: RunResult


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, dict[str, Served]]:
    """One store holding a model of each kind: XGBoost, scikit-learn, CSV with preprocessing."""
    root = tmp_path_factory.mktemp("serving")
    uri = f"sqlite:///{root / 'mlflow.db'}"
    served = {}
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(root)  # MLflow's default artifact root (./mlruns) goes here
        mp.delenv("MLFLOW_TRACKING_URI", raising=False)
        for experiment in EXPERIMENTS:
            overrides = [
                f"experiment={experiment}",
                "model.params.n_estimators=10",
                "run.log_plots=false",
                "run.latency_rows=100",
                f"tracking.uri='{uri}'",
            ]
            cfg = compose_config(*overrides)
            served[experiment] = Served(cfg, train(cfg, overrides=overrides))
    return uri, served


def raw_rows(experiment: str) -> pd.DataFrame:
    """Rows as a user has them: every column of the source, target and extras included."""
    if experiment == "xgb_penguins":
        return pd.read_csv(DATA_DIR / "penguins.csv")
    from sklearn import datasets

    loader = {"xgb_baseline": datasets.load_breast_cancer, "rf_iris": datasets.load_iris}
    return loader[experiment](as_frame=True).frame


def fit_in_process(cfg: DictConfig) -> tuple[Any, Any]:
    """The same pipeline, fitted here with the package's own training steps."""
    from declarative_ml.config.validate import validate_config
    from declarative_ml.data.prepare import prepare_data
    from declarative_ml.models.build import build_estimator, build_pipeline
    from declarative_ml.models.preprocess import build_preprocessor

    plan = validate_config(cfg)
    data = prepare_data(cfg.dataset, plan.task)
    pipeline = build_pipeline(
        build_preprocessor(cfg.dataset.preprocess, data.splits["train"].X),
        build_estimator(cfg.model, plan.task),
    )
    pipeline.fit(data.splits["train"].X, data.encoded["train"])
    return pipeline, data


@pytest.mark.parametrize("experiment", EXPERIMENTS)
def test_model_serves_raw_rows_like_the_fitted_pipeline(
    experiment: str, store: tuple[str, dict[str, Served]], no_pickle: Any
) -> None:
    served = store[1][experiment]
    model = no_pickle.pyfunc.load_model(f"runs:/{served.result.run_id}/model")
    pipeline, data = fit_in_process(served.cfg)
    rows = raw_rows(experiment)
    assert set(data.features) < set(rows.columns)  # extra columns ride along

    predicted = model.predict(rows)
    expected = [data.classes[int(i)] for i in pipeline.predict(rows[data.features])]
    assert list(predicted) == expected
    assert set(predicted) == set(data.classes)

    proba = model.predict(rows, params={"predict_method": "predict_proba"})
    assert isinstance(proba, pd.DataFrame)
    assert list(proba.columns) == [str(c) for c in data.classes]
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, atol=1e-5)
    np.testing.assert_allclose(
        proba.to_numpy(), pipeline.predict_proba(rows[data.features]), atol=1e-6
    )


def test_penguins_model_takes_missing_values_and_unseen_categories(
    store: tuple[str, dict[str, Served]], no_pickle: Any
) -> None:
    served = store[1]["xgb_penguins"]
    model = no_pickle.pyfunc.load_model(f"runs:/{served.result.run_id}/model")
    rows = raw_rows("xgb_penguins")
    incomplete = rows[rows.drop(columns="species").isna().any(axis=1)]
    assert len(incomplete) >= 5  # the shipped CSV has gaps in measurements and sex
    predicted = model.predict(incomplete)
    assert len(predicted) == len(incomplete)
    assert set(predicted) <= {"Adelie", "Chinstrap", "Gentoo"}

    unseen = rows.head(3).assign(island="Atlantis")  # one-hot ignores unknown categories
    assert set(model.predict(unseen)) <= {"Adelie", "Chinstrap", "Gentoo"}
    # Predictions for the rows the model was shown as its input example are the labels.
    example = model.input_example
    assert list(example.columns) == list(served.cfg.dataset.features)
    assert all(isinstance(label, str) for label in model.predict(example))


def test_columns_the_signature_marks_optional_may_be_left_out(
    store: tuple[str, dict[str, Served]], no_pickle: Any
) -> None:
    model = no_pickle.pyfunc.load_model(f"runs:/{store[1]['xgb_penguins'].result.run_id}/model")
    optional = [c.name for c in model.metadata.signature.inputs.inputs if not c.required]
    rows = raw_rows("xgb_penguins").head(5)
    for column in optional:
        predicted = model.predict(rows.drop(columns=column))
        assert set(predicted) <= {"Adelie", "Chinstrap", "Gentoo"}, column


def test_unknown_predict_method_is_refused(
    store: tuple[str, dict[str, Served]], no_pickle: Any
) -> None:
    model = no_pickle.pyfunc.load_model(f"runs:/{store[1]['rf_iris'].result.run_id}/model")
    with pytest.raises(Exception, match="unknown predict_method 'decision_function'"):
        model.predict(raw_rows("rf_iris").head(2), params={"predict_method": "decision_function"})


def _download(uri: str, run_id: str, dst: Path) -> Path:
    import mlflow

    mlflow.set_tracking_uri(uri)
    return Path(mlflow.artifacts.download_artifacts(f"runs:/{run_id}/model", dst_path=str(dst)))


@pytest.mark.parametrize("experiment", EXPERIMENTS)
def test_model_artifact_holds_no_pickle(
    experiment: str, store: tuple[str, dict[str, Served]], tmp_path: Path
) -> None:
    served = store[1][experiment]
    folder = _download(store[0], served.result.run_id, tmp_path)
    files = [p for p in folder.rglob("*") if p.is_file()]
    assert files
    assert [p for p in files if p.suffix in PICKLE_SUFFIXES] == []
    for path in files:  # no pickle stream hiding under another name either
        assert path.read_bytes()[:2] not in (b"\x80\x04", b"\x80\x05"), path
    names = {p.name for p in files}
    estimator = "estimator.ubj" if served.cfg.model.family.value == "xgboost" else "estimator.skops"
    assert {estimator, "meta.json", "MLmodel"} <= names
    assert ("preprocess.skops" in names) == bool(served.cfg.dataset.preprocess)


@pytest.mark.parametrize("experiment", EXPERIMENTS)
def test_mlmodel_has_signature_and_input_example(
    experiment: str, store: tuple[str, dict[str, Served]], tmp_path: Path
) -> None:
    from mlflow.models import Model

    served = store[1][experiment]
    folder = _download(store[0], served.result.run_id, tmp_path)
    model = Model.load(str(folder / "MLmodel"))
    assert model.signature is not None
    features = list(served.cfg.dataset.features or raw_rows(experiment).columns.drop("target"))
    assert model.signature.inputs.input_names() == features
    assert [p.name for p in model.signature.params] == ["predict_method"]
    assert model.saved_input_example_info is not None
    example = model.load_input_example(str(folder))
    assert list(example.columns) == features
    assert 1 <= len(example) <= 5
    assert model.run_id == served.result.run_id


@pytest.mark.parametrize("experiment", EXPERIMENTS)
def test_pip_requirements_are_pinned(
    experiment: str, store: tuple[str, dict[str, Served]], tmp_path: Path
) -> None:
    from importlib.metadata import version

    served = store[1][experiment]
    folder = _download(store[0], served.result.run_id, tmp_path)
    requirements = (folder / "requirements.txt").read_text().split()
    assert f"mlflow=={version('mlflow')}" in requirements
    assert f"scikit-learn=={version('scikit-learn')}" in requirements
    if served.cfg.model.family.value == "xgboost":
        assert f"xgboost=={version('xgboost')}" in requirements
    else:
        assert not any(r.startswith("xgboost") for r in requirements)
        assert f"skops=={version('skops')}" in requirements
    assert all("==" in r for r in requirements)
