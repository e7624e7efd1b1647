"""The evaluation harness end to end on the tiny world, and the label-leakage guard."""

import json

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from conftest import clone_world
from training.train import TrainConfig, train_and_register
from userrep.evaluate import EvalSettings, evaluate, load_eval_data
from userrep.registry import Registry
from userrep.report import write_report

TINY = TrainConfig(latent_dim=8, hidden=[32], steps=20, batch_size=64, sample=None, seed=4)


SETTINGS = EvalSettings(folds=3, seeds=(0, 1))


@pytest.fixture(scope="module")
def report(built_world, tmp_path_factory):
    world = clone_world(built_world, tmp_path_factory.mktemp("eval"))
    registry = Registry(world.registry)
    train_and_register(world.warehouse, registry, TINY, progress=False)
    data = load_eval_data(world.warehouse, world.raw, registry, "v1")
    results = evaluate(data, SETTINGS)
    index = write_report(results, data, world.root / "reports" / "v1", registry.path("v1") / "loss_curve.png")
    return index.parent, results


def test_report_and_metrics_are_written_with_every_task(report):
    out, results = report
    metrics = json.loads((out / "metrics.json").read_text())
    assert set(metrics["tasks"]) == {"active_next_7d", "podcast_propensity", "future_genre", "life_stage", "future_retrieval"}
    for name in ["index.md", "metrics_all.png", "metrics_cold_start.png", "metrics_heavy.png", "representation_map.png", "loss_curve.png"]:
        assert (out / name).stat().st_size > 0, name
    methods = set(metrics["tasks"]["active_next_7d"]["methods"])
    assert {"representation", "raw_features", "pca_8", "onboarding_mean", "majority"} <= methods
    assert "popularity" in metrics["tasks"]["future_retrieval"]["methods"]
    assert metrics["bytes_per_user"]["representation"] == 32
    assert len(metrics["reconstruction"]) == len(set(r["group"] for r in metrics["reconstruction"])) > 10
    assert metrics["targets"] and "Targets" in (out / "index.md").read_text()


def test_every_metric_has_its_spread_over_folds_and_seeds_and_the_users_behind_it(report):
    _, results = report
    cell = results["tasks"]["active_next_7d"]["methods"]["representation"]["all"]
    assert len(cell["roc_auc_folds"]) == SETTINGS.folds * len(SETTINGS.seeds)
    assert 0.5 < cell["roc_auc"] <= 1.0 and cell["roc_auc_std"] > 0
    assert cell["n"] == 400 and 0 < cell["positives"] < 400
    retrieval = results["tasks"]["future_retrieval"]["methods"]["representation"]["all"]
    assert {"recall@10", "recall@10_std", "recall@50", "recall@50_std", "n"} <= set(retrieval)
    for check in results["targets"]:
        assert check["status"] in ("met", "tie", "missed", "too few users")
        assert check["n"] >= 0 and (check["status"] == "too few users") == (check["difference"] is None)


def test_report_tables_are_well_formed_and_show_users(report):
    out, _ = report
    text = (out / "index.md").read_text()
    tables = [line for line in text.splitlines() if line.startswith("|")]
    assert tables and not any("|  |" in line for line in tables)
    widths = {}
    for line in text.split("\n\n"):
        rows = [r for r in line.splitlines() if r.startswith("|")]
        if rows:
            widths[rows[0]] = {r.count("|") for r in rows}
    assert all(len(w) == 1 for w in widths.values()), widths
    assert "± " in text and "| users |" in text


def test_features_never_read_the_future_window(built_world, tmp_path):
    """Poison the future window: features are unchanged (it is evaluation data, never a source)."""
    world = clone_world(built_world, tmp_path / "poisoned")
    future = pq.read_table(world.raw / "future_events.parquet")
    poisoned = future.set_column(future.schema.get_field_index("weight"), "weight",
                                 pa.array(np.full(future.num_rows, 1e6)))
    pq.write_table(poisoned, world.raw / "future_events.parquet")
    world.dbt(["run", "--full-refresh"])  # every model recomputed from the raw files
    with built_world.connect() as con:
        expected = con.execute("select user_id, features from user_features order by 1").fetchall()
    with world.connect() as con:
        actual = con.execute("select user_id, features from user_features order by 1").fetchall()
    assert [u for u, _ in actual] == [u for u, _ in expected]
    # parallel sums may add in another order; a leak of 1e6 weights would be far off
    np.testing.assert_allclose(np.array([f for _, f in actual]), np.array([f for _, f in expected]), atol=1e-6)
