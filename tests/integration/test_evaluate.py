"""The evaluation harness end to end on the tiny world, and the label-leakage guard."""

import json

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from conftest import clone_world
from training.train import TrainConfig, train_and_register
from userrep.evaluate import evaluate, load_eval_data
from userrep.registry import Registry
from userrep.report import write_report

TINY = TrainConfig(latent_dim=8, hidden=[32], epochs=3, batch_size=64, sample=None, seed=4)


@pytest.fixture(scope="module")
def report(built_world, tmp_path_factory):
    world = clone_world(built_world, tmp_path_factory.mktemp("eval"))
    registry = Registry(world.registry)
    train_and_register(world.warehouse, registry, TINY, progress=False)
    data = load_eval_data(world.warehouse, world.raw, registry, "v1")
    results = evaluate(data)
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
    auc = metrics["tasks"]["active_next_7d"]["methods"]["representation"]["all"]["roc_auc"]
    assert 0.5 < auc <= 1.0
    assert metrics["bytes_per_user"]["representation"] == 32
    assert len(metrics["reconstruction"]) == len(set(r["group"] for r in metrics["reconstruction"])) > 10
    assert metrics["targets"] and "Targets" in (out / "index.md").read_text()


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
