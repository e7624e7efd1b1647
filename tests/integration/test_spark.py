"""The Spark engine (userrep.spark) on one SparkSession whose executors are separate processes
(local-cluster: two executor JVMs, each with its own Python workers): the registry's functions
give DuckDB's vectors and refusals, and executors check the model files Spark ships them. The
project itself on Spark: test_spark_parity.py."""

from __future__ import annotations

import os
import re

import duckdb
import numpy as np
import pandas as pd
import pytest

from onnx_graphs import linear_relu
from python_udfs.catalog import downstream_registry, registry_functions
from python_udfs.userrep_udfs import register as register_on_duckdb
from userrep import spark as spark_engine
from userrep.registry import Registry
from userrep.schema import FeatureGroup, groups_to_rows, schema_hash

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

