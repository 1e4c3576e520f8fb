"""Rules with ``confidence`` end to end on a real sqlite store: real models trained and
logged, both scored from the store on shared rows, the decision recorded, applied, and
read back by ``dml models show``, ``dml promote`` and ``dml rules plan``."""

from __future__ import annotations

import json
from pathlib import Path

import mlflow
import pytest

from conftest import compose_config, run_cli
from declarative_ml.cli.main import main
from declarative_ml.errors import RuleError
from declarative_ml.promotion import describe
from declarative_ml.registry.apply import find_champion
from declarative_ml.runner import train

NAME = "breast_cancer-xgboost"
FAST = ("promotion=confident", "run.log_plots=false", "run.isolate_training=false")
# Row and column subsampling, so the seed changes the model (without it XGBoost's trees
# do not depend on random_state, and a "seed challenger" would be the champion again).
SUBSAMPLED = ("++model.params.subsample=0.7", "++model.params.colsample_bytree=0.7")
WEAK = ("model.params.n_estimators=2", "model.params.max_depth=1")


def _train(uri: str, *overrides: str, experiment: str = "xgb_baseline"):
    return train(
        compose_config(f"experiment={experiment}", *FAST, f"tracking.uri={uri}", *overrides)
    )


def _confident(result, index: int = 1):
    return result.promotion.decision.gates["production"].outcomes[index]


def dml(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.slow
def test_challengers_that_differ_only_in_their_seed_are_not_promoted(tracking_uri: str) -> None:
    client = mlflow.MlflowClient(tracking_uri)
    champion = _train(tracking_uri, *SUBSAMPLED)
    assert champion.promotion.applied.stage == "production"
    lines = []
    # The run's seed (the split's pinned, so the test rows stay the champion's), and the
    # estimator's alone.
    for seeded in (("seed=1", "dataset.split.seed=42"), ("model.params.random_state=2",)):
        challenger = _train(tracking_uri, *SUBSAMPLED, *seeded)
        outcome = _confident(challenger)
        check = outcome.noise
        lines.append(f"{seeded}: {outcome.left:.4f} vs {outcome.right:.4f}: {check}")
        assert challenger.promotion.applied.stage == "staging", lines
        assert not outcome.held and check.bound <= 0.002 and check.side == "lower"
        assert (check.rows, check.resamples, check.rows_from) == (114, 2000, "the test split")
        assert challenger.metrics["test_roc_auc"] != champion.metrics["test_roc_auc"]
    assert find_champion(client, NAME).version == champion.promotion.applied.version


@pytest.mark.slow
def test_a_challenger_tested_on_other_rows_is_an_error_and_changes_nothing(
    tracking_uri: str,
) -> None:
    client = mlflow.MlflowClient(tracking_uri)
    _train(tracking_uri)
    with pytest.raises(RuleError) as caught:
        _train(tracking_uri, "dataset.split.seed=7")  # the same data, another test split
    message = str(caught.value)
    assert "must be scored on the same rows" in message
    assert "set promotion.new_data to a dataset neither model trained on" in message
    assert [str(v.version) for v in client.search_model_versions(f"name = '{NAME}'")] == ["1"]
    run = client.search_runs(["1"], order_by=["start_time DESC"])[0]
    assert run.info.status == "FINISHED"
    assert run.data.tags["dml.promotion"].startswith("not decided (the registry is unchanged): ")


@pytest.mark.slow
def test_a_clearly_stronger_challenger_replaces_a_weak_champion(
    tracking_uri: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    client = mlflow.MlflowClient(tracking_uri)
    weak = _train(tracking_uri, *WEAK)
    strong = _train(tracking_uri)
    outcome = _confident(strong)
    assert strong.promotion.applied.stage == "production"
    assert outcome.held and outcome.noise.bound > 0.002
    assert outcome.noise.difference == pytest.approx(
        strong.metrics["test_roc_auc"] - weak.metrics["test_roc_auc"], abs=1e-6
    )
    assert any(line.endswith("2000 resamples): shown") for line in describe(strong.promotion))

    # The decision record, the plot beside it, and the version's description linking it.
    run_id = strong.run_id
    record = json.loads(
        Path(
            client.download_artifacts(run_id, "promotion/decision.json", str(tmp_path))
        ).read_text()
    )
    noise = record["gates"]["production"]["rules"][1]["noise"]
    plot = f"runs:/{run_id}/promotion/noise/production_1.png"
    assert noise["plot"] == plot and noise["rows"] == 114 and noise["confidence"] == 0.95
    png = Path(client.download_artifacts(run_id, "promotion/noise/production_1.png", str(tmp_path)))
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    description = client.get_model_version(NAME, "2").description
    assert "lower bound" in description and f"`{plot}`" in description
    assert f"get-artifact?path=promotion/noise/production_1.png&run_uuid={run_id}" in description

    code, out, _ = dml(capsys, "--tracking-uri", tracking_uri, "models", "show", f"{NAME}/2")
    assert code == 0 and "held at 95%" in out and "2000 resamples): shown" in out

    # dml promote: the weak version back to production is refused, with the interval.
    code, _, err = dml(
        capsys, "--tracking-uri", tracking_uri, "promote", NAME, "1", "--to", "production"
    )
    assert code != 0
    assert "fails the production rules" in err and "lower bound" in err and "not shown" in err
    assert find_champion(client, NAME).version == "2"

    # dml rules plan: the same decisions as a dry run.
    code, out, _ = dml(
        capsys,
        "rules",
        "plan",
        "experiment=xgb_baseline",
        "promotion=confident",
        "--tracking-uri",
        tracking_uri,
        "--json",
    )
    assert code == 0
    rows = {row["version"]: row for row in json.loads(out)}
    failed = rows["1"]["branch"]["failed"]
    assert rows["1"]["branch"]["fate"] == "staging"
    assert failed[0]["rule"] == "test_roc_auc > champion.test_roc_auc + 0.002"
    assert (
        "lower bound" in failed[0]["detail"] and "114 rows of the test split" in failed[0]["detail"]
    )
    assert rows["2"]["branch"]["fate"] == "production"  # the champion, against no champion

    # dml promote that passes prints what the confident rule was decided on.
    code, _, _ = dml(capsys, "--tracking-uri", tracking_uri, "rollback", NAME)
    assert code == 0 and find_champion(client, NAME).version == "1"
    code, out, _ = dml(
        capsys, "--tracking-uri", tracking_uri, "promote", NAME, "2", "--to", "production"
    )
    assert code == 0 and find_champion(client, NAME).version == "2"
    last = out.strip().splitlines()[-1]
    assert last.startswith("production: test_roc_auc > champion.test_roc_auc + 0.002 at 95%: +")
    assert last.endswith("(margin 0.002; 114 rows of the test split, 2000 resamples): shown")


@pytest.mark.slow
def test_test_splits_that_differ_are_compared_on_new_data(tracking_uri: str) -> None:
    rules = (
        "promotion.production=[{rule: 'test_accuracy >= champion.test_accuracy - 0.2', "
        "confidence: 0.9}, {rule: 'new_data_log_loss <= champion.new_data_log_loss + 1', "
        "confidence: 0.9}]"
    )
    overrides = ("promotion=new_data", rules, "model.params.n_estimators=20")
    _train(tracking_uri, *overrides, experiment="xgb_penguins")
    challenger = _train(tracking_uri, *overrides, "dataset.split.seed=1", experiment="xgb_penguins")
    outcomes = challenger.promotion.decision.gates["production"].outcomes
    for outcome in outcomes:
        assert outcome.noise.rows_from == "new data 'penguins_2009'"
        assert outcome.noise.rows == outcomes[0].noise.rows > 0
    assert challenger.promotion.applied.stage == "production", [o.noise for o in outcomes]


def test_confidence_on_a_cost_metric_fails_before_anything_runs(tmp_path: Path) -> None:
    proc = run_cli(
        "experiment=xgb_baseline",
        "promotion.production=[{rule: 'model_size_mb <= champion.model_size_mb', "
        "confidence: 0.95}]",
        f"tracking.uri=sqlite:///{tmp_path / 'mlflow.db'}",
        cwd=tmp_path,
        timeout=120,
    )
    assert proc.returncode != 0
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: promotion/default.yaml: production[0]:")
    assert "confidence is only for a rule comparing" in lines[0]
    assert "'model_size_mb <= champion.model_size_mb' cannot carry it" in lines[0]
    assert not (tmp_path / "mlflow.db").exists()


def test_rules_check_reports_confidence_and_bootstrap_errors_on_their_lines(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rules = tmp_path / "promotion" / "noisy.yaml"
    rules.parent.mkdir()
    rules.write_text(
        "defaults:\n"
        "  - base_promotion\n"
        "production:\n"
        "  - rule: model_size_mb <= champion.model_size_mb\n"
        "    confidence: 0.95\n"
        "  - rule: test_roc_auc > champion.test_roc_auc\n"
        "    confidence: 1.5\n"
        "  - rule: test_roc_auc > champion.test_roc_auc + 0.002\n"
        "    confidence: 0.95\n"
        "bootstrap:\n"
        "  resamples: 5\n"
        "  seed: ${seed}\n"
    )
    code, out, err = dml(capsys, "rules", "check", str(rules))
    assert code == 1 and "3 error(s) in promotion rule files" in err
    shown = "promotion/noisy.yaml"  # relative to the working directory, tmp_path
    found = [line.split(": ", 1) for line in out.splitlines() if line.startswith(f"{shown}:")]
    assert [where for where, _ in found] == [f"{shown}:4", f"{shown}:6", f"{shown}:10"]
    assert "'model_size_mb <= champion.model_size_mb' cannot carry it" in found[0][1]
    assert "production[1].confidence: 1.5 is not allowed" in found[1][1]
    assert "promotion.bootstrap.resamples: 5 is not allowed; between 100 and 100,000" in found[2][1]
