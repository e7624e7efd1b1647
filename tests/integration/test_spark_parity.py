"""The same dbt project on Spark and on DuckDB: one tiny world (with refused rows and files that
are not events) built on both from the same raw files and registry gives the same features,
feature schema, quarantine and representation vectors; on Spark, a refresh after a landed batch
(`userrep refresh --engine spark`) equals a full rebuild. Spark's tables are read with DuckDB's
read_parquet, as any reader would."""

from __future__ import annotations

import math
from datetime import timedelta
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from conftest import clone_world
from training.train import TrainConfig, train_and_register
from userrep.cli import cli
from userrep.publish import publish_representation
from userrep.registry import Registry
from userrep.synthetic import land_batch

# on a Spark cluster of its own (two executor JVMs): `make test-spark`, not `make test`
pytestmark = pytest.mark.spark

TRAIN = TrainConfig(latent_dim=8, hidden=[32], steps=20, batch_size=64, sample=None, seed=3)
QUARANTINE = ["quarantine_events", "quarantine_event_files", "quarantine_users", "quarantine_items",
              "quarantine_item_embeddings", "quarantine_onboarding"]


def add_refused_input(raw: Path) -> None:
    """In events/refused/ (read by both engines, which list the events directory recursively; a
    landed batch takes its history from the files at the top): an events file with one row for
    each of several reasons to refuse it, and two files that are not events."""
    history = pq.read_table(sorted((raw / "events").glob("*.parquet"))[-1])
    good = history.slice(0, 1).to_pylist()[0]
    rows = [
        {**good, "user_id": None},
        {**good, "weight": -1.0},
        {**good, "weight": math.nan},
        {**good, "weight": 1e31},
        {**good, "item_id": "no such item"},
        {**good, "user_id": "no such user"},
        {**good, "ts": good["ts"] + timedelta(days=365 * 900)},
        dict(good),  # a copy of an event already in the history
    ]
    refused = raw / "events" / "refused"
    refused.mkdir()
    pq.write_table(pa.Table.from_pylist(rows, schema=history.schema), refused / "rows.parquet")
    (refused / "README.txt").write_text("not events\n")
    (refused / "empty.parquet").write_bytes(b"")


@pytest.fixture(scope="module")
def parity(built_world, spark, tmp_path_factory):
    """The tiny world with v1 trained on its features and published, then the refused input landed
    and built on DuckDB (incrementally) and on Spark (every model, from nothing)."""
    world = clone_world(built_world, tmp_path_factory.mktemp("parity"))
    with world.env():
        train_and_register(world.warehouse, Registry(), TRAIN, progress=False)
        publish_representation("v1")
    add_refused_input(world.raw)
    world.dbt(["run"])
    world.spark_dbt(spark, ["run"])
    return world


def on_duckdb(world, sql):
    with world.connect() as con:
        return con.execute(sql).fetchall()


def spark_warehouse(spark) -> Path:
    return Path(spark.conf.get("spark.sql.warehouse.dir").removeprefix("file:"))


def on_spark(spark, sql):
    """`sql` run by DuckDB over Spark's parquet tables, each named {table}."""
    warehouse = spark_warehouse(spark)
    tables = {name: f"read_parquet('{warehouse}/userrep.db/{name}/*.parquet')"
              for name in ["feature_schema", "user_features", "user_representation_v1", *QUARANTINE]}
    return duckdb.sql(sql.format(**tables)).fetchall()


def vectors(rows):
    return {user: np.array(vector, np.float64) for user, vector in rows}


def assert_close(actual: dict, expected: dict, tolerance=1e-5):
    assert sorted(actual) == sorted(expected)
    assert max(np.abs(actual[u] - expected[u]).max() for u in expected) <= tolerance


def test_spark_and_duckdb_give_the_same_features_schema_quarantine_and_vectors(parity, spark):
    assert on_spark(spark, "select distinct schema_hash from {feature_schema}") == on_duckdb(
        parity, "select distinct schema_hash from feature_schema")
    assert_close(vectors(on_spark(spark, "select user_id, features from {user_features}")),
                 vectors(on_duckdb(parity, "select user_id, features from user_features")))
    for table in QUARANTINE:
        counts = f"select quarantine_reason, count(*) from {{{table}}} group by 1 order by 1"
        assert on_spark(spark, counts) == on_duckdb(parity, counts.replace(f"{{{table}}}", table)), table
    assert {reason for reason, _ in on_duckdb(parity, "select quarantine_reason, count(*) from quarantine_events group by 1")} == {
        "null_user_id", "negative_weight", "non_finite_weight", "weight_out_of_range", "unknown_item", "unknown_user",
        "future_timestamp", "duplicate_event"}
    assert sorted(on_spark(spark, "select source_file, quarantine_reason from {quarantine_event_files}")) == [
        ("events/refused/README.txt", "not_parquet"), ("events/refused/empty.parquet", "empty_file")]
    assert_close(vectors(on_spark(spark, "select user_id, embedding from {user_representation_v1}")),
                 vectors(on_duckdb(parity, "select user_id, embedding from user_representation_v1")))


def test_every_raw_event_is_accepted_or_quarantined_on_spark(parity, spark):
    raw_files = [p for p in (parity.raw / "events").rglob("*.parquet") if p.stat().st_size]
    raw_rows = sum(pq.ParquetFile(p).metadata.num_rows for p in raw_files)
    accepted = spark.table("userrep.stg_raw__events").count()
    [(quarantined,)] = on_spark(spark, "select count(*) from {quarantine_events}")
    assert quarantined >= 8 and accepted + quarantined == raw_rows


def snapshot(spark):
    features = {u: (np.array(f), t) for u, f, t in on_spark(spark, "select user_id, features, updated_at from {user_features}")}
    encoded = {u: (np.array(e), t) for u, e, t in on_spark(spark, "select user_id, embedding, updated_at from {user_representation_v1}")}
    return features, encoded


def test_a_refresh_on_spark_equals_a_full_rebuild_on_spark(parity, spark):
    before_features, before_encoded = snapshot(spark)
    batch = land_batch(parity.raw, users=25, new_users=4, seed=11, duplicates=15)
    # the CLI builds its session from the environment: this master and warehouse give it the test's session
    env = {name: str(path) for name, path in [("USERREP_HOME", parity.root), ("USERREP_RAW_DIR", parity.raw),
                                              ("USERREP_WAREHOUSE", parity.warehouse), ("USERREP_REGISTRY", parity.registry),
                                              ("USERREP_PROJECT_DIR", parity.project), ("DBT_TARGET_PATH", parity.root / "target_spark")]}
    env.update(USERREP_SPARK_MASTER=spark.sparkContext.master, USERREP_SPARK_WAREHOUSE=str(spark_warehouse(spark)))
    refreshed = CliRunner(env=env).invoke(cli, ["refresh", "--engine", "spark"])
    assert refreshed.exit_code == 0, refreshed.output
    features, encoded = snapshot(spark)

    assert len(set(features) - set(before_features)) == 4
    changed = {u for u in before_features if features[u][1] != before_features[u][1]}
    assert 0 < len(changed) <= batch["users_with_events"]
    assert f"1 new event file(s), {len(changed) + 4} of {len(features)} users with new features, re-encoded v1: {len(changed) + 4}" \
        in refreshed.output
    untouched = set(before_features) - changed
    assert all(features[u][1] == before_features[u][1] and (features[u][0] == before_features[u][0]).all()
               for u in untouched), "untouched users keep their row"
    assert all(encoded[u][1] == before_encoded[u][1] for u in untouched), "untouched users are not re-encoded"

    parity.spark_dbt(spark, ["run", "--full-refresh", "--select", "tag:nrt"])
    rebuilt_features, rebuilt_encoded = snapshot(spark)
    assert_close({u: f for u, (f, _) in features.items()}, {u: f for u, (f, _) in rebuilt_features.items()})
    assert_close({u: e for u, (e, _) in encoded.items()}, {u: e for u, (e, _) in rebuilt_encoded.items()})


def test_a_plain_dbt_run_on_target_spark_says_how_to_run_it(parity, spark):
    from dbt.cli.main import dbtRunner

    from userrep.project import project_view
    from userrep.spark import LISTING_SETTING

    spark.conf.unset(LISTING_SETTING)  # as in a process that did not start dbt through userrep.spark
    view = project_view(parity.project, parity.root)
    with parity.env():
        result = dbtRunner().invoke(["run", "--select", "run_plan", "--project-dir", str(view), "--profiles-dir", str(view),
                                     "--target", "spark", "--target-path", str(parity.root / "target_plain")])
    messages = " ".join(str(r.message) for r in result.result.results) if result.result else str(result.exception)
    assert not result.success
    assert "the raw files were not listed for this run: run the Spark target through `userrep build --engine spark`" in messages
