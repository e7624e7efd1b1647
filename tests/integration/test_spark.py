"""The Spark engine (userrep.spark) on one SparkSession whose executors are separate processes
(local-cluster: two executor JVMs, each with its own Python workers): the registry's functions
give DuckDB's vectors and refusals, executors check the model files Spark ships them, and dbt
runs in this process on target spark."""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pyspark
import pytest

from onnx_graphs import linear_relu
from python_udfs.catalog import downstream_registry, registry_functions
from python_udfs.userrep_udfs import register as register_on_duckdb
from userrep import spark as spark_engine
from userrep.dbt import DbtError
from userrep.project import REPO_DIR
from userrep.registry import Registry
from userrep.schema import FeatureGroup, groups_to_rows, schema_hash

INPUT = [FeatureGroup("enc__mean_7d", "behaviour_mean", "enc", 7, "music", "", 0, 3),
         FeatureGroup("enc__mean_7d__present", "presence", "enc", 7, "music", "enc__mean_7d", 3, 1)]
EMBEDDING = [FeatureGroup("embedding", "representation", None, None, None, "", 0, 3)]
CLUSTER = "local-cluster[2,1,1024]"  # two executors with one core and 1 GiB each


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


@pytest.fixture(scope="session")
def spark(tmp_path_factory):
    # a refusal fails every attempt of a task: one attempt keeps the refusal tests short
    session = spark_engine.spark_session(CLUSTER, tmp_path_factory.mktemp("spark") / "warehouse",
                                         settings={"spark.ui.enabled": "false", "spark.task.maxFailures": "1"})
    yield session
    application = session.sparkContext.applicationId
    session.stop()
    # local-cluster executors run in SPARK_HOME/work/<application>, inside the installed pyspark
    shutil.rmtree(Path(pyspark.__file__).parent / "work" / application, ignore_errors=True)


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


TOY_PROJECT = """
name: userrep
profile: userrep
config-version: 2
# raw parquet as a view, as the project's raw sources will be on Spark: _metadata.file_path is DuckDB's filename
on-run-start:
  - "create schema if not exists raw"
  - "create or replace view raw.toy_events as select *, _metadata.file_path as filename from parquet.`{{ env_var('USERREP_RAW_DIR') }}/toy_events`"
models:
  userrep:
    +materialized: table
    +file_format: parquet
"""

TOY_SOURCES = """
version: 2
sources:
  - name: raw
    schema: raw
    tables: [{name: toy_events}]
models:
  - name: quarantine_toy_events
    data_tests:
      - toy_accepted_plus_quarantined_equals_raw:
          arguments: {raw: "source('raw', 'toy_events')", accepted: "ref('stg_toy_events')"}
"""

# the shape of the project's accepted_plus_quarantined_equals_raw test: three scalar count subqueries
TOY_TEST = """
{% test toy_accepted_plus_quarantined_equals_raw(model, raw, accepted) %}
with counts as (
    select
        (select count(*) from {{ raw }}) as raw_rows,
        (select count(*) from {{ accepted }}) as accepted_rows,
        (select count(*) from {{ model }}) as quarantined_rows
)

select * from counts where accepted_rows + quarantined_rows != raw_rows
{% endtest %}
"""

TOY_CHECKED = """
select *, case when weight is null or not (abs(weight) < cast('infinity' as double)) then 'non_finite_weight'
               when weight < 0 then 'negative_weight' end as invalid_reason
from {{ source('raw', 'toy_events') }}
"""

# the strategy the incremental models will use on Spark: insert_overwrite over a user-hash bucket
# partition, the rewritten buckets carrying their untouched users' rows as they were
TOY_INCREMENTAL = """
{{ config(materialized='incremental', incremental_strategy='insert_overwrite', partition_by=['user_bucket']) }}
with changed as (
    select user_id, value, pmod(xxhash64(user_id), 8) as user_bucket, current_timestamp() as updated_at
    from toy_input
    {%- if is_incremental() %}
    where user_id in ({{ var('touched') | join(', ') }})
    {%- endif %}
)
{%- if is_incremental() %},

kept as (
    select user_id, value, user_bucket, updated_at from {{ this }}
    where user_bucket in (select user_bucket from changed) and user_id not in (select user_id from changed)
)

select * from changed
union all
select * from kept
{%- else %}

select * from changed
{%- endif %}
"""


def toy_project(root, models: dict[str, str]):
    (root / "models").mkdir(parents=True)
    (root / "macros").mkdir()
    (root / "dbt_project.yml").write_text(TOY_PROJECT)
    shutil.copy(REPO_DIR / "profiles.yml", root / "profiles.yml")
    (root / "macros" / "toy_test.sql").write_text(TOY_TEST)
    for name, sql in models.items():
        (root / "models" / name).write_text(sql)
    return root


def raw_events(raw):
    (raw / "toy_events").mkdir(parents=True)
    pq.write_table(pa.table({"user_id": [1, 2, 3], "weight": [1.0, -2.0, 3.0]}), raw / "toy_events" / "a.parquet")
    pq.write_table(pa.table({"user_id": [4, 5], "weight": [float("nan"), 5.0]}), raw / "toy_events" / "b.parquet")
    return raw


def bucket_files(warehouse):
    table = warehouse / "userrep.db" / "toy_rows"
    return {p.name: sorted((f.name, f.stat().st_mtime_ns) for f in p.iterdir()) for p in table.glob("user_bucket=*")}


def test_dbt_builds_on_spark_with_the_functions_and_overwrites_only_touched_buckets(spark, registry, tmp_path):
    project = toy_project(tmp_path / "project", {
        "toy_encoded.sql": "select user_id, userrep_encode_v1(features, tag) as embedding, userrep_verify_encode_v1() as verified "
                           "from toy_users",
        "toy_rows.sql": TOY_INCREMENTAL,
        "sources.yml": TOY_SOURCES,
        "toy_checked.sql": TOY_CHECKED,
        "stg_toy_events.sql": "select user_id, weight, filename from {{ ref('toy_checked') }} where invalid_reason is null",
        "quarantine_toy_events.sql": "select * from {{ ref('toy_checked') }} where invalid_reason is not null",
    })
    spark.createDataFrame(users(), "user_id long, features array<float>, tag string").createOrReplaceTempView("toy_users")
    spark.sql("select id as user_id, id * 10 as value from range(40)").createOrReplaceTempView("toy_input")
    run = dict(project=project, raw_dir=raw_events(tmp_path / "raw"), registry=registry, target_path=tmp_path / "target",
               spark=spark)

    spark_engine.run_dbt(["build"], **run)  # with its data test: accepted + quarantined = raw
    warehouse = Path(spark.conf.get("spark.sql.warehouse.dir").removeprefix("file:"))
    encoded = duckdb.sql(f"select user_id, embedding from read_parquet('{warehouse}/userrep.db/toy_encoded/*.parquet') "
                         "order by user_id").fetchall()  # any parquet reader reads Spark's tables
    expected = on_duckdb(registry, "select user_id, userrep_encode_v1(features, tag) from users order by user_id", users())
    assert len(encoded) == 600 and encoded[7][1] is None
    np.testing.assert_allclose([r[1] for i, r in enumerate(encoded) if i != 7],
                               [r[1] for i, r in enumerate(expected) if i != 7], rtol=0, atol=1e-6)
    quarantined = {(r.user_id, r.invalid_reason) for r in spark.table("userrep.quarantine_toy_events").collect()}
    assert quarantined == {(2, "negative_weight"), (4, "non_finite_weight")}
    # Spark names files by URI, where DuckDB's filename is a plain path
    assert {r.filename for r in spark.table("userrep.stg_toy_events").collect()} == {
        f"file:{tmp_path / 'raw' / 'toy_events' / name}" for name in ("a.parquet", "b.parquet")}

    before = {r.user_id: (r.value, r.updated_at) for r in spark.table("userrep.toy_rows").collect()}
    files_before = bucket_files(warehouse)
    touched = [3, 17]
    touched_buckets = {r.b for r in spark.sql("select distinct pmod(xxhash64(user_id), 8) as b from toy_input "
                                              "where user_id in (3, 17)").collect()}
    spark.sql("select id as user_id, if(id in (3, 17), -id, id * 10) as value from range(40)").createOrReplaceTempView("toy_input")
    spark_engine.run_dbt(["run", "--select", "toy_rows"], {"touched": touched}, **run)

    after = {r.user_id: (r.value, r.updated_at) for r in spark.table("userrep.toy_rows").collect()}
    assert set(after) == set(before) == set(range(40))
    for user in touched:
        assert after[user][0] == -user and after[user][1] > before[user][1]
    assert {u: after[u] for u in after if u not in touched} == {u: before[u] for u in before if u not in touched}
    files_after = bucket_files(warehouse)
    assert 0 < len(touched_buckets) < len(files_before) == len(files_after) == 8
    for bucket, files in files_before.items():
        rewritten = int(bucket.split("=")[1]) in touched_buckets
        assert (files_after[bucket] != files) == rewritten, bucket


def test_a_failing_model_raises_with_its_message(spark, registry, tmp_path):
    project = toy_project(tmp_path / "project", {"toy_refused.sql": "select userrep_verify_encode_v2() as verified"})
    with pytest.raises(DbtError, match="(?s)toy_refused: .*userrep_encode_v2: v2: encoder.onnx has sha256"):
        spark_engine.run_dbt(["run", "--select", "toy_refused"], project=project, raw_dir=raw_events(tmp_path / "raw"),
                             registry=registry, target_path=tmp_path / "target", spark=spark)
