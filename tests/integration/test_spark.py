"""Apache Spark as the engine, on the test run's one SparkSession, whose executors are separate
processes (local-cluster: two executor JVMs, each with its own Python workers); one file, so that
a run on several pytest workers still starts one session.

The registry's functions give DuckDB's vectors and refusals, and executors check the model files
Spark ships them. The dbt project: one tiny world (with refused rows and files that are not
events) built on both engines from the same raw files and registry gives the same features,
feature schema, quarantine and representation vectors; on Spark, a refresh after a landed batch
(`userrep refresh --engine spark`) equals a full rebuild. Spark's tables are read with DuckDB's
read_parquet, as any reader would."""

from __future__ import annotations

import math
import os
import re
from datetime import timedelta
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from conftest import clone_world
from onnx_graphs import linear_relu
from python_udfs.catalog import downstream_registry, registry_functions
from python_udfs.userrep_udfs import register as register_on_duckdb
from training.train import TrainConfig, train_and_register
from userrep import spark as spark_engine
from userrep.cli import cli
from userrep.publish import publish_representation
from userrep.registry import Registry
from userrep.schema import FeatureGroup, groups_to_rows, schema_hash
from userrep.synthetic import land_batch

# on a Spark cluster of its own (two executor JVMs): `make test-spark`, not `make test`
pytestmark = pytest.mark.spark

INPUT = [FeatureGroup("enc__mean_7d", "behaviour_mean", "enc", 7, "music", "", 0, 3),
         FeatureGroup("enc__mean_7d__present", "presence", "enc", 7, "music", "enc__mean_7d", 3, 1)]
EMBEDDING = [FeatureGroup("embedding", "representation", None, None, None, "", 0, 3)]


def publish(registry, file_name, groups, output_dim, seed, **fields):
    def write_files(directory):
        linear_relu(directory / file_name, sum(g.dim for g in groups), output_dim, seed)

    return registry.publish(write_files, {
        "created_at": "2026-12-01T00:00:00+00:00", "feature_schema": groups_to_rows(groups),
        "feature_schema_hash": schema_hash(groups), "input_dim": sum(g.dim for g in groups), "latent_dim": output_dim,
        "training_data": {}, "hyperparameters": {}, "metrics": {}, "libraries": {}, **fields})


@pytest.fixture(scope="session")
def registry(tmp_path_factory):
    """v1 and a score model on it; v2's encoder changed after it was registered (a refused version)."""
    root = tmp_path_factory.mktemp("registry")
    publish(Registry(root), "encoder.onnx", INPUT, 3, seed=1)
    publish(Registry(root), "encoder.onnx", INPUT, 3, seed=2)
    (root / "v2" / "encoder.onnx").write_bytes((root / "v1" / "encoder.onnx").read_bytes())
    publish(downstream_registry(root, "propensity"), "model.onnx", EMBEDDING, 1, seed=3, kind="downstream",
            extra={"representation_version": "v1"})
    return root


def users(n=600):
    rng = np.random.default_rng(5)
    features = [rng.normal(size=4).astype(np.float32).tolist() for _ in range(n)]
    features[7] = None  # a NULL argument gives a NULL result on both engines
    return pd.DataFrame({"user_id": np.arange(n), "features": features, "tag": schema_hash(INPUT)})


def on_duckdb(registry, sql, frame):
    con = duckdb.connect()
    for spec in registry_functions(registry):
        register_on_duckdb(con, spec)
    con.execute("create table users as select user_id, features::float[] as features, tag from frame")
    return con.execute(sql).fetchall()


def on_spark(spark, sql, frame):
    spark.createDataFrame(frame, "user_id long, features array<float>, tag string").createOrReplaceTempView("users")
    return [tuple(row) for row in spark.sql(sql).collect()]


def test_spark_functions_give_duckdbs_vectors_and_scores(spark, registry):
    spark_engine.register_functions(spark, registry)
    sql = ("select user_id, userrep_encode_v1(features, tag) as embedding, "
           "userrep_score_propensity_v1(userrep_encode_v1(features, tag), 'v1') as score, userrep_verify_encode_v1() "
           "from users order by user_id")
    expected, actual = on_duckdb(registry, sql, users()), on_spark(spark, sql, users())
    assert [r[0] for r in actual] == [r[0] for r in expected] and len(actual) == 600
    assert actual[7][1:3] == expected[7][1:3] == (None, None)
    rows = [i for i in range(600) if i != 7]
    for column in (1, 2):
        spark_values = np.array([actual[i][column] for i in rows], np.float32)
        duckdb_values = np.array([expected[i][column] for i in rows], np.float32)
        assert spark_values.any()
        np.testing.assert_allclose(spark_values, duckdb_values, rtol=0, atol=1e-6)
    assert {r[3] for r in actual} == {r[3] for r in expected} == {"ok"}


def refusal(error) -> str:
    return re.search(r"(?:RegistryError|EncodeError): (.*)", str(error)).group(1).strip()


def test_refusals_carry_duckdbs_message(spark, registry):
    spark_engine.register_functions(spark, registry)
    for sql, reason in [("select userrep_encode_v2(features, tag) from users", "userrep_encode_v2: v2: encoder.onnx has sha256"),
                        ("select userrep_verify_encode_v2()", "userrep_encode_v2: v2: encoder.onnx has sha256"),
                        ("select userrep_encode_v1(features, 'another-layout') from users",
                         "userrep_encode_v1: input rows carry feature schema another-layout")]:
        with pytest.raises(duckdb.Error) as on_duck:
            on_duckdb(registry, sql, users())
        with pytest.raises(Exception) as on_cluster:
            on_spark(spark, sql, users())
        assert refusal(on_cluster.value) == refusal(on_duck.value)
        assert refusal(on_duck.value).startswith(reason)
    # a row of the wrong length: DuckDB's cast to FLOAT[4] refuses it; Spark has no fixed-size arrays
    with pytest.raises(Exception, match="userrep_encode_v1 expects 4 values per row, got 3 in row 0"):
        on_spark(spark, "select userrep_encode_v1(slice(features, 2, 3), tag) from users where user_id != 7", users())


def test_executors_are_separate_processes_that_refuse_a_changed_model_file(spark, tmp_path):
    on_cluster = spark.sparkContext.parallelize(range(4), 4).map(lambda _: os.getpid()).collect()
    assert os.getpid() not in on_cluster
    assert spark.sparkContext._jsc.sc().getExecutorMemoryStatus().size() == 3  # the driver and two executors
    root = tmp_path / "registry"
    publish(Registry(root), "encoder.onnx", INPUT, 3, seed=11)
    [spec] = spark_engine.register_functions(spark, root)
    # after the driver verified and shipped it, before an executor runs a task (and so fetches it)
    staged = spark_engine._staging_dir() / f"{spec.sha256}.onnx"
    staged.write_bytes(staged.read_bytes()[:-1] + b"!")
    with pytest.raises(Exception, match="the model file this executor received has sha256 .* refusing to use it"):
        on_spark(spark, "select userrep_encode_v1(features, tag) from users", users())


# The dbt project on both engines

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


def warehouse_rows(world, sql):
    with world.connect() as con:
        return con.execute(sql).fetchall()


def spark_warehouse(spark) -> Path:
    return Path(spark.conf.get("spark.sql.warehouse.dir").removeprefix("file:"))


def spark_table_rows(spark, sql):
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
    assert spark_table_rows(spark, "select distinct schema_hash from {feature_schema}") == warehouse_rows(
        parity, "select distinct schema_hash from feature_schema")
    assert_close(vectors(spark_table_rows(spark, "select user_id, features from {user_features}")),
                 vectors(warehouse_rows(parity, "select user_id, features from user_features")))
    for table in QUARANTINE:
        counts = f"select quarantine_reason, count(*) from {{{table}}} group by 1 order by 1"
        assert spark_table_rows(spark, counts) == warehouse_rows(parity, counts.replace(f"{{{table}}}", table)), table
    assert {reason for reason, _ in warehouse_rows(parity, "select quarantine_reason, count(*) from quarantine_events group by 1")} == {
        "null_user_id", "negative_weight", "non_finite_weight", "weight_out_of_range", "unknown_item", "unknown_user",
        "future_timestamp", "duplicate_event"}
    assert sorted(spark_table_rows(spark, "select source_file, quarantine_reason from {quarantine_event_files}")) == [
        ("events/refused/README.txt", "not_parquet"), ("events/refused/empty.parquet", "empty_file")]
    assert_close(vectors(spark_table_rows(spark, "select user_id, embedding from {user_representation_v1}")),
                 vectors(warehouse_rows(parity, "select user_id, embedding from user_representation_v1")))


def test_every_raw_event_is_accepted_or_quarantined_on_spark(parity, spark):
    raw_files = [p for p in (parity.raw / "events").rglob("*.parquet") if p.stat().st_size]
    raw_rows = sum(pq.ParquetFile(p).metadata.num_rows for p in raw_files)
    accepted = spark.table("userrep.stg_raw__events").count()
    [(quarantined,)] = spark_table_rows(spark, "select count(*) from {quarantine_events}")
    assert quarantined >= 8 and accepted + quarantined == raw_rows


def snapshot(spark):
    features = {u: (np.array(f), t) for u, f, t in spark_table_rows(spark, "select user_id, features, updated_at from {user_features}")}
    encoded = {u: (np.array(e), t) for u, e, t in spark_table_rows(spark, "select user_id, embedding, updated_at from {user_representation_v1}")}
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


def test_a_new_day_on_spark_moves_every_row_to_it_and_re_encodes_only_the_vectors_that_moved(parity, spark):
    before_features, before_encoded = snapshot(spark)
    ((old_as_of,),) = spark_table_rows(spark, "select max(as_of) from {user_features}")
    land_batch(parity.raw, users=5, new_users=0, seed=21, next_day=True)
    parity.spark_dbt(spark, ["run", "--select", "tag:nrt"])
    features, encoded = snapshot(spark)

    assert spark_table_rows(spark, "select min(as_of), max(as_of) from {user_features}") == [(old_as_of + timedelta(days=1),) * 2]
    kept = {u for u in before_features if features[u][1] == before_features[u][1]}
    assert 0 < len(kept) <= len(before_features) - 5, "the batch's users moved, most others did not"
    assert all((features[u][0] == before_features[u][0]).all() and encoded[u][1] == before_encoded[u][1] for u in kept)
    assert all(encoded[u][1] > before_encoded[u][1] for u in set(before_features) - kept), "the moved vectors are re-encoded"


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


def test_anchored_time_features_on_spark_equal_the_numpy_computation(built_world, spark, tmp_path):
    """Last in the file: it rebuilds Spark's tables from another world."""
    from reference_features import reference_features
    from userrep.project import set_project_vars

    world = clone_world(built_world, tmp_path / "anchored")
    set_project_vars(world.project, {"time_features": "anchored"})
    world.spark_dbt(spark, ["run", "--full-refresh", "--select", "+user_features"])
    user_ids, names, expected, _ = reference_features(world.raw, time_features="anchored")
    assert [name for (name,) in spark_table_rows(spark, "select group_name from {feature_schema} order by group_index")] == names
    assert_close(vectors(spark_table_rows(spark, "select user_id, features from {user_features}")),
                 {u: row for u, row in zip(user_ids, expected)})
