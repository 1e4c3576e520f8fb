"""Unit tests for data loading, validation, splitting and digests, preprocessing, the
estimator allowlist and metrics: no MLflow, no training runs."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from omegaconf import OmegaConf
from sklearn import metrics as skm

from declarative_ml.config.resolvers import DATA_DIR
from declarative_ml.config.schema import ColumnGroupConfig, DatasetConfig, SplitConfig
from declarative_ml.config.validate import validate_config
from declarative_ml.data.digest import frame_digest
from declarative_ml.data.load import SKLEARN_LOADERS, check_source, load_dataset
from declarative_ml.data.split import check_split, split_dataset
from declarative_ml.data.validate import check_target, load_schema, validate_schema
from declarative_ml.errors import ConfigError, DataValidationError
from declarative_ml.metrics import (
    DEFAULTS,
    METRICS,
    RUN_METRICS,
    compute_metrics,
    metric_names,
    resolve_metrics,
)
from declarative_ml.models.allowlist import check_class_path, import_class
from declarative_ml.models.build import resolve_estimator_path
from declarative_ml.models.preprocess import build_preprocessor, check_preprocess

PENGUINS_CSV = DATA_DIR / "penguins.csv"
PENGUINS_SCHEMA = DATA_DIR / "penguins.schema.yaml"


def dataset_node(**values: object) -> object:
    """A ``dataset`` config node built on the real schema (split seed fixed: no root)."""
    values.setdefault("name", "t")
    values.setdefault("task", "binary")
    values.setdefault("split", SplitConfig(seed=0))
    return OmegaConf.structured(DatasetConfig(**values))  # type: ignore[arg-type]


def split_node(test_size: float = 0.2, val_size: float = 0.1, seed: int = 0) -> object:
    return OmegaConf.structured(SplitConfig(test_size=test_size, val_size=val_size, seed=seed))


# --------------------------------------------------------------------------- data/load.py


def test_load_sklearn_dataset_has_features_and_target() -> None:
    frame = load_dataset(dataset_node(source="sklearn", loader="iris", target="target"))
    assert frame.shape == (150, 5)
    assert frame["target"].nunique() == 3


def test_a_bundled_dataset_has_no_column_the_target_could_rename() -> None:
    # It used to rename scikit-learn's `target` to any declared name, so a typo trained on
    # the bundled target (the new-user bugs issue, item 2).
    with pytest.raises(DataValidationError) as raised:
        load_dataset(dataset_node(source="sklearn", loader="iris", target="label"))
    message = str(raised.value)
    assert "dataset.target: column 'label' not found in scikit-learn dataset 'iris'" in message
    assert "sepal length (cm)" in message and "target" in message


def test_a_feature_of_a_bundled_dataset_may_be_the_target() -> None:
    frame = load_dataset(dataset_node(source="sklearn", loader="diabetes", target="bmi"))
    assert "bmi" in frame.columns and "target" in frame.columns


@pytest.mark.parametrize(
    ("values", "key"),
    [
        ({"path": "data.csv"}, "dataset.path: not used by source 'sklearn'"),
        ({"read_options": {"sep": ";"}}, "dataset.read_options: not used by source 'sklearn'"),
    ],
)
def test_keys_a_bundled_dataset_cannot_honour_are_refused(
    values: dict[str, object], key: str
) -> None:
    with pytest.raises(ConfigError, match=key):
        check_source(dataset_node(source="sklearn", loader="iris", target="target", **values))


def test_a_file_dataset_refuses_a_loader() -> None:
    node = dataset_node(source="csv", path="x.csv", target="y", loader="iris")
    with pytest.raises(ConfigError, match="dataset.loader: not used by source 'csv'"):
        check_source(node)


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        ({"chunksize": 10}, "dataset.read_options.chunksize: not an option"),
        ({"iterator": True}, "dataset.read_options.iterator: not an option"),
        ({"storage_options": {}}, "dataset.read_options.storage_options: not an option"),
        ({"sepp": ";"}, "did you mean 'sep'?"),
        ({"engine": "fastest"}, "dataset.read_options.engine: 'fastest' is not one of c, python"),
    ],
)
def test_read_options_are_the_readers_own_that_give_one_frame(
    options: dict[str, object], expected: str
) -> None:
    node = dataset_node(source="csv", path="x.csv", target="y", read_options=options)
    with pytest.raises(ConfigError, match=expected):
        check_source(node)


def test_load_csv_passes_read_options(tmp_path: Path) -> None:
    path = tmp_path / "semi.csv"
    path.write_text("a;b;y\n1;2.5;x\n3;4.5;z\n")
    frame = load_dataset(
        dataset_node(source="csv", path=str(path), target="y", read_options={"sep": ";"})
    )
    assert list(frame.columns) == ["a", "b", "y"]
    assert frame["b"].tolist() == [2.5, 4.5]


def test_load_parquet(tmp_path: Path) -> None:
    path = tmp_path / "d.parquet"
    expected = pd.DataFrame({"a": [1, 2, 3], "y": ["p", "q", "p"]})
    expected.to_parquet(path)
    frame = load_dataset(dataset_node(source="parquet", path=str(path), target="y"))
    pd.testing.assert_frame_equal(frame, expected)


def test_load_missing_file_names_the_key_and_path(tmp_path: Path) -> None:
    missing = tmp_path / "nope.csv"
    with pytest.raises(DataValidationError, match="dataset.path: file not found") as info:
        load_dataset(dataset_node(source="csv", path=str(missing), target="y"))
    assert str(missing) in str(info.value)


def test_load_unreadable_file_is_a_data_error(tmp_path: Path) -> None:
    path = tmp_path / "broken.parquet"
    path.write_bytes(b"not a parquet file")
    with pytest.raises(DataValidationError, match="cannot read parquet file"):
        load_dataset(dataset_node(source="parquet", path=str(path), target="y"))


def test_load_missing_target_lists_the_columns(tmp_path: Path) -> None:
    path = tmp_path / "d.csv"
    path.write_text("a,b\n1,2\n")
    with pytest.raises(DataValidationError, match="column 'y' not found") as info:
        load_dataset(dataset_node(source="csv", path=str(path), target="y"))
    assert "columns: a, b" in str(info.value)


def test_load_missing_feature_column_is_named(tmp_path: Path) -> None:
    path = tmp_path / "d.csv"
    path.write_text("a,y\n1,2\n")
    with pytest.raises(DataValidationError, match=r"dataset.features: columns \['zz'\]"):
        load_dataset(dataset_node(source="csv", path=str(path), target="y", features=["a", "zz"]))


def test_check_source_rejects_an_unknown_sklearn_loader() -> None:
    with pytest.raises(ConfigError, match="dataset.loader: 'titanic'") as info:
        check_source(dataset_node(source="sklearn", loader="titanic"))
    for loader in SKLEARN_LOADERS:
        assert loader in str(info.value)


@pytest.mark.parametrize("source", ["csv", "parquet"])
def test_check_source_requires_a_path_and_a_target_for_files(source: str) -> None:
    with pytest.raises(ConfigError, match="dataset.path: required"):
        check_source(dataset_node(source=source, target="y"))
    with pytest.raises(ConfigError, match="dataset.target: required"):
        check_source(dataset_node(source=source, path="d.csv"))


# ----------------------------------------------------------------------- data/validate.py


def test_lazy_validation_reports_every_failing_column_at_once(tmp_path: Path) -> None:
    frame = pd.read_csv(PENGUINS_CSV).head(30)
    frame.loc[0, "island"] = "Atlantis"  # isin
    frame.loc[1, "bill_length_mm"] = 500.0  # in_range
    frame.loc[2, "bill_length_mm"] = 1.0  # in_range, same check
    path = tmp_path / "bad_penguins.csv"
    frame.to_csv(path, index=False)
    schema = load_schema(str(PENGUINS_SCHEMA))
    loaded = load_dataset(dataset_node(source="csv", path=str(path), target="species"))

    with pytest.raises(DataValidationError) as info:
        validate_schema(loaded, schema, where=str(path))

    message = info.value.terminal_message  # values for the terminal, one line
    assert message is not None and "\n" not in message
    assert str(path) in message
    assert "2 check(s) failed" in message
    assert "column 'island'" in message and "'Atlantis'" in message
    assert "column 'bill_length_mm'" in message and "in 2 row(s)" in message
    recorded = str(info.value)  # what may reach MLflow: columns and checks, no values
    assert "column 'island'" in recorded and "Atlantis" not in recorded


def test_shipped_penguins_csv_passes_its_schema() -> None:
    frame = pd.read_csv(PENGUINS_CSV)
    validated = validate_schema(frame, load_schema(str(PENGUINS_SCHEMA)), where="penguins")
    assert len(validated) == len(frame) == 344
    assert validated["flipper_length_mm"].dtype == np.float64


def test_inline_schema_mapping_is_accepted() -> None:
    inline = OmegaConf.create(
        {
            "schema_type": "dataframe",
            "columns": {
                "a": {
                    "dtype": "int64",
                    "nullable": False,
                    "in_range": {"min_value": 0, "max_value": 5},
                }
            },
        }
    )
    schema = load_schema(inline)
    validate_schema(pd.DataFrame({"a": [1, 2]}), schema, where="inline")
    with pytest.raises(DataValidationError, match="column 'a' failed in_range"):
        validate_schema(pd.DataFrame({"a": [1, 9]}), schema, where="inline")


def test_no_schema_leaves_the_frame_unchanged() -> None:
    frame = pd.DataFrame({"a": [1]})
    assert load_schema(None) is None
    assert validate_schema(frame, None, where="x") is frame


def test_missing_schema_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="schema file not found"):
        load_schema(str(tmp_path / "missing.yaml"))


def test_malformed_schema_is_a_config_error(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("schema_type: dataframe\ncolumns:\n  a:\n    dtype: not_a_dtype\n")
    with pytest.raises(ConfigError, match="not a valid pandera YAML schema"):
        load_schema(str(path))


@pytest.mark.parametrize(
    ("values", "task", "message"),
    [
        (["a", None, "b"], "binary", "1 missing value"),
        (["a", "a", "a"], "binary", "has one class"),
        (["a", "b", "c"], "binary", "use dataset.task=multiclass"),
        (["a", "b", "c"], "regression", "needs numbers"),
    ],
)
def test_check_target_rejects_targets_unfit_for_the_task(
    values: list[object], task: str, message: str
) -> None:
    with pytest.raises(DataValidationError, match=message):
        check_target(pd.DataFrame({"y": values}), "y", task, where="d.csv")


def test_check_target_accepts_fitting_targets() -> None:
    check_target(pd.DataFrame({"y": ["a", "b", "c"]}), "y", "multiclass", where="d")
    check_target(pd.DataFrame({"y": [0.5, 1.5]}), "y", "regression", where="d")


# -------------------------------------------------------------------------- data/split.py


def _imbalanced(n: int = 200) -> tuple[pd.DataFrame, pd.Series]:
    rng = np.random.default_rng(0)
    X = pd.DataFrame({"a": rng.normal(size=n), "b": rng.normal(size=n)})
    y = pd.Series(["minor" if i % 5 == 0 else "major" for i in range(n)], name="y")  # 20 % minor
    return X, y


def test_split_sizes_follow_the_declared_fractions() -> None:
    X, y = _imbalanced()
    splits = split_dataset(X, y, split_node(0.2, 0.1), stratify=False)
    assert set(splits) == {"train", "val", "test"}
    assert {k: len(s.X) for k, s in splits.items()} == {"train": 140, "val": 20, "test": 40}
    indices = [set(s.X.index) for s in splits.values()]
    assert set.union(*indices) == set(X.index)
    assert sum(len(i) for i in indices) == len(X)  # disjoint
    for s in splits.values():
        assert s.X.index.equals(s.y.index)


def test_same_seed_same_split_other_seed_other_split() -> None:
    X, y = _imbalanced()
    first = split_dataset(X, y, split_node(seed=7), stratify=True)
    again = split_dataset(X, y, split_node(seed=7), stratify=True)
    other = split_dataset(X, y, split_node(seed=8), stratify=True)
    for name in ("train", "val", "test"):
        assert first[name].X.index.equals(again[name].X.index)
    assert not first["test"].X.index.equals(other["test"].X.index)


def test_stratified_splits_keep_class_proportions() -> None:
    X, y = _imbalanced()
    splits = split_dataset(X, y, split_node(0.2, 0.1), stratify=True)
    for name, s in splits.items():
        share = (s.y == "minor").mean()
        assert share == pytest.approx(0.2, abs=1 / len(s.y)), name


def test_zero_val_size_gives_no_val_split() -> None:
    X, y = _imbalanced()
    splits = split_dataset(X, y, split_node(0.25, 0.0), stratify=True)
    assert set(splits) == {"train", "test"}
    assert len(splits["test"].X) == 50


def test_too_few_rows_to_stratify_is_a_data_error() -> None:
    X = pd.DataFrame({"a": range(10)})
    y = pd.Series(["a"] * 9 + ["b"])
    with pytest.raises(DataValidationError, match="stratify=false"):
        split_dataset(X, y, split_node(0.2, 0.1), stratify=True)


@pytest.mark.parametrize(
    ("test_size", "val_size", "key"),
    [
        (0.0, 0.1, "test_size"),
        (1.0, 0.0, "test_size"),
        (0.2, -0.1, "val_size"),
        (0.6, 0.4, "leaves no rows"),
    ],
)
def test_check_split_rejects_impossible_fractions(
    test_size: float, val_size: float, key: str
) -> None:
    with pytest.raises(ConfigError, match=key):
        check_split(split_node(test_size, val_size))


# ------------------------------------------------------------------------- data/digest.py


def _frame() -> pd.DataFrame:
    return pd.DataFrame({"a": [1, 2, 3], "b": [0.5, 1.5, 2.5], "c": ["x", "y", "z"]})


def test_same_frame_same_digest() -> None:
    digest = frame_digest(_frame())
    assert digest == frame_digest(_frame()) == frame_digest(_frame().copy())
    assert len(digest) == 16 and int(digest, 16) >= 0


def test_digest_ignores_the_index() -> None:
    assert frame_digest(_frame()) == frame_digest(_frame().set_axis([10, 20, 30]))


@pytest.mark.parametrize(
    "change",
    [
        lambda f: f.assign(b=[0.5, 1.5, 2.6]),  # one value
        lambda f: f.assign(c=["x", "y", "Z"]),  # one string value
        lambda f: f.rename(columns={"a": "A"}),  # a column name
        lambda f: f.astype({"a": "float64"}),  # a dtype, same numbers
        lambda f: f.iloc[::-1],  # row order
        lambda f: f.iloc[:2],  # a row fewer
    ],
    ids=["value", "string", "column_name", "dtype", "row_order", "row_removed"],
)
def test_any_change_changes_the_digest(change: object) -> None:
    assert frame_digest(change(_frame())) != frame_digest(_frame())  # type: ignore[operator]


# --------------------------------------------------------------------- models/preprocess.py


def _mixed(n: int = 40) -> pd.DataFrame:
    rng = np.random.default_rng(1)
    return pd.DataFrame(
        {
            "num1": rng.normal(10, 3, size=n),
            "num2": rng.integers(0, 100, size=n).astype(float),
            "color": ["red", "blue", None, "green"] * (n // 4),
            "shape": ["square", "circle"] * (n // 2),
        }
    )


def test_build_preprocessor_selects_columns_by_dtype() -> None:
    groups = {
        "numeric": ColumnGroupConfig(dtype="numeric", impute="median", scale="standard"),
        "categorical": ColumnGroupConfig(dtype="categorical", impute="most_frequent", one_hot=True),
    }
    frame = _mixed()
    frame.loc[0, "num1"] = np.nan
    pre = build_preprocessor(groups, frame)
    out = pre.fit_transform(frame)

    names = list(pre.get_feature_names_out())
    assert names[:2] == ["num1", "num2"]
    assert set(names[2:]) == {
        "color_blue",
        "color_green",
        "color_red",
        "shape_circle",
        "shape_square",
    }
    assert not np.isnan(out).any()
    np.testing.assert_allclose(out[:, :2].mean(axis=0), 0, atol=1e-9)  # standardised
    np.testing.assert_allclose(out[:, :2].std(axis=0), 1, atol=1e-9)
    one_hot = out[:, 2:]
    assert set(np.unique(one_hot)) == {0.0, 1.0}


def test_build_preprocessor_with_explicit_columns_passes_the_rest_through() -> None:
    groups = {
        "first": ColumnGroupConfig(columns=["num1"], scale="minmax"),
        "again": ColumnGroupConfig(columns=["num1", "num2"], scale="standard"),  # num1 claimed
    }
    frame = _mixed()
    pre = build_preprocessor(groups, frame)
    out = pd.DataFrame(pre.fit_transform(frame), columns=pre.get_feature_names_out())
    assert [(name, cols) for name, _, cols in pre.transformers] == [
        ("first", ["num1"]),
        ("again", ["num2"]),
    ]
    assert out["num1"].min() == pytest.approx(0) and out["num1"].max() == pytest.approx(1)
    assert out["num2"].mean() == pytest.approx(0, abs=1e-9)
    assert out["shape"].tolist() == frame["shape"].tolist()  # remainder untouched


def test_unseen_category_at_transform_time_does_not_fail() -> None:
    groups = {"cat": ColumnGroupConfig(columns=["shape"], one_hot=True)}
    pre = build_preprocessor(groups, _mixed())
    pre.fit(_mixed()[["shape"]])
    out = pre.transform(pd.DataFrame({"shape": ["circle", "hexagon"]}))
    np.testing.assert_array_equal(out, [[1.0, 0.0], [0.0, 0.0]])


def test_no_groups_no_preprocessor() -> None:
    assert build_preprocessor({}, _mixed()) is None


@pytest.mark.parametrize(
    ("group", "message"),
    [
        (ColumnGroupConfig(columns=["num1"], dtype="numeric"), "exactly one of 'columns'"),
        (ColumnGroupConfig(), "exactly one of 'columns'"),
        (ColumnGroupConfig(dtype="text"), "dtype: 'text' is not one of numeric, categorical"),
        (ColumnGroupConfig(dtype="numeric", impute="zero"), "impute: 'zero' is not one of"),
        (ColumnGroupConfig(dtype="numeric", scale="log"), "scale: 'log' is not one of"),
        (ColumnGroupConfig(columns=["nope"]), r"columns: \['nope'\] are not in dataset.features"),
    ],
)
def test_check_preprocess_names_the_group_and_key(group: ColumnGroupConfig, message: str) -> None:
    with pytest.raises(ConfigError, match=message) as info:
        check_preprocess({"g": group}, ["num1", "num2"])
    assert str(info.value).startswith("dataset.preprocess.g")


# ---------------------------------------------------------------------- models/allowlist.py

EVIL_MODULE = """
from pathlib import Path
Path(__file__).with_name("imported.marker").write_text("imported")

class Boom:
    def __init__(self, **params):
        self.params = params

    def fit(self, X, y):
        return self
"""


@pytest.fixture
def evil_module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An importable module that leaves a marker file when imported."""
    (tmp_path / "dml_evil_mod.py").write_text(EVIL_MODULE)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "dml_evil_mod", raising=False)
    return tmp_path / "imported.marker"


@pytest.mark.parametrize(
    "path",
    [
        "os.system",
        "builtins.open",
        "pathlib.Path",
        "subprocess.run",
        "logging.os.system",
        "sklearnx.Foo",  # a prefix of an allowed name is not the allowed module
        "xgboost_evil.XGBClassifier",
        "sklearn.linear_model._Private",
        "dml_evil_mod.Boom",
    ],
)
def test_allowlist_refuses_before_importing(path: str, evil_module: Path) -> None:
    with pytest.raises(ConfigError, match="is not allowed") as info:
        check_class_path(path, key="model.estimator.classification")
    assert str(info.value).startswith("model.estimator.classification: ")
    assert "model.trusted_modules" in str(info.value)
    assert not evil_module.exists()
    assert "dml_evil_mod" not in sys.modules


def test_allowlist_refuses_classes_re_exported_by_an_allowed_module() -> None:
    from declarative_ml.config.schema import ModelConfig
    from declarative_ml.models.build import build_estimator

    model = OmegaConf.structured(
        ModelConfig(
            name="sneaky",
            family="sklearn",
            estimator={"classification": "sklearn.datasets._base.Path"},
        )
    )
    with pytest.raises(ConfigError, match="is not allowed"):
        build_estimator(model, "binary")  # today: returns PosixPath('.')


@pytest.mark.parametrize("path", ["Ridge", "sklearn.", "sklearn..Ridge", "os.system()", 42])
def test_allowlist_refuses_malformed_paths(path: object) -> None:
    with pytest.raises(ConfigError, match="not a dotted class path"):
        check_class_path(path, key="model.estimator")


def test_allowlist_accepts_sklearn_and_imports_the_class() -> None:
    from sklearn.linear_model import Ridge

    path = check_class_path("sklearn.linear_model.Ridge", key="model.estimator")
    assert path == "sklearn.linear_model.Ridge"
    assert import_class(path, key="model.estimator") is Ridge


def test_import_class_names_a_missing_class() -> None:
    with pytest.raises(ConfigError, match="has no class 'Nope'"):
        import_class("sklearn.linear_model.Nope", key="model.estimator")


def test_trusted_modules_opt_in(evil_module: Path) -> None:
    path = check_class_path(
        "dml_evil_mod.Boom", key="model.estimator", trusted_modules=["dml_evil_mod"]
    )
    assert not evil_module.exists()  # the check itself still imports nothing
    cls = import_class(path, key="model.estimator", trusted_modules=["dml_evil_mod"])
    assert cls.__name__ == "Boom"
    assert evil_module.exists()


def test_composed_config_naming_os_system_fails_validation(evil_module: Path) -> None:
    from conftest import compose_config

    cfg = compose_config("model.estimator.classification=os.system")
    with pytest.raises(ConfigError, match="model.estimator.classification: 'os.system'"):
        validate_config(cfg)

    cfg = compose_config(
        "model.estimator.classification=dml_evil_mod.Boom", "model.trusted_modules=[dml_evil_mod]"
    )
    assert resolve_estimator_path(cfg.model, "binary") == "dml_evil_mod.Boom"
    assert not evil_module.exists()


# --------------------------------------------------------------------------------- metrics.py


def test_resolve_metrics_defaults_per_task() -> None:
    for task, names in DEFAULTS.items():
        assert resolve_metrics(None, task) == names


def test_resolve_metrics_keeps_order_and_drops_duplicates() -> None:
    assert resolve_metrics(["f1", "accuracy", "f1"], "binary") == ("f1", "accuracy")


@pytest.mark.parametrize(
    ("names", "task", "bad", "index"),
    [
        (["accuracy", "auc"], "binary", "auc", 1),
        (["rmse"], "multiclass", "rmse", 0),
        (["f1"], "multiclass", "f1", 0),  # binary-only
        (["accuracy"], "regression", "accuracy", 0),
    ],
)
def test_resolve_metrics_rejects_unknown_with_the_valid_list(
    names: list[str], task: str, bad: str, index: int
) -> None:
    with pytest.raises(ConfigError) as info:
        resolve_metrics(names, task)
    message = str(info.value)
    assert message.startswith(f"metrics[{index}]: '{bad}' is not a {task} metric; valid: ")
    valid = message.split("valid: ")[1].split(", ")
    assert valid == [m.name for m in METRICS.values() if task in m.tasks]


def test_metric_names_cover_every_split_and_run_metric() -> None:
    names = metric_names(["rmse", "r2"])
    assert names[:6] == ["train_rmse", "train_r2", "val_rmse", "val_r2", "test_rmse", "test_r2"]
    assert names[6:] == list(RUN_METRICS)


def test_compute_metrics_binary_equals_sklearn() -> None:
    rng = np.random.default_rng(3)
    y = rng.integers(0, 2, size=200)
    p1 = np.clip(y * 0.6 + rng.uniform(0, 0.5, size=200), 0.01, 0.99)
    proba = np.column_stack([1 - p1, p1])
    pred = (p1 > 0.5).astype(int)
    names = [
        "accuracy",
        "balanced_accuracy",
        "f1",
        "precision",
        "recall",
        "f1_macro",
        "f1_weighted",
        "roc_auc",
        "log_loss",
    ]
    values = compute_metrics(names, y, pred, proba)
    expected = {
        "accuracy": skm.accuracy_score(y, pred),
        "balanced_accuracy": skm.balanced_accuracy_score(y, pred),
        "f1": skm.f1_score(y, pred),
        "precision": skm.precision_score(y, pred),
        "recall": skm.recall_score(y, pred),
        "f1_macro": skm.f1_score(y, pred, average="macro"),
        "f1_weighted": skm.f1_score(y, pred, average="weighted"),
        "roc_auc": skm.roc_auc_score(y, p1),
        "log_loss": skm.log_loss(y, proba),
    }
    assert values == pytest.approx(expected, rel=1e-12)
    assert all(isinstance(v, float) for v in values.values())


def test_compute_metrics_multiclass_equals_sklearn() -> None:
    rng = np.random.default_rng(4)
    y = rng.integers(0, 3, size=150)
    logits = rng.normal(size=(150, 3)) + np.eye(3)[y] * 1.5
    proba = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    pred = proba.argmax(axis=1)
    values = compute_metrics(["accuracy", "f1_macro", "roc_auc", "log_loss"], y, pred, proba)
    assert values == pytest.approx(
        {
            "accuracy": skm.accuracy_score(y, pred),
            "f1_macro": skm.f1_score(y, pred, average="macro"),
            "roc_auc": skm.roc_auc_score(y, proba, multi_class="ovr"),
            "log_loss": skm.log_loss(y, proba),
        },
        rel=1e-12,
    )


def test_compute_metrics_regression_equals_sklearn() -> None:
    rng = np.random.default_rng(5)
    y = rng.uniform(1, 10, size=100)
    pred = y + rng.normal(0, 0.5, size=100)
    values = compute_metrics(["rmse", "mae", "r2", "mape"], y, pred, None)
    assert values == pytest.approx(
        {
            "rmse": np.sqrt(skm.mean_squared_error(y, pred)),
            "mae": skm.mean_absolute_error(y, pred),
            "r2": skm.r2_score(y, pred),
            "mape": skm.mean_absolute_percentage_error(y, pred),
        },
        rel=1e-12,
    )


def test_log_loss_on_a_split_missing_a_class_uses_every_class() -> None:
    # A small test split may lack a class; probabilities still have one column per class.
    y = np.array([0, 0, 1, 1])
    proba = np.array([[0.7, 0.2, 0.1], [0.6, 0.3, 0.1], [0.2, 0.7, 0.1], [0.1, 0.8, 0.1]])
    values = compute_metrics(["log_loss"], y, proba.argmax(axis=1), proba)
    assert values["log_loss"] == pytest.approx(skm.log_loss(y, proba, labels=[0, 1, 2]))
