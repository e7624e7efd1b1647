"""OnnxFunction on a small hand-built graph (no torch, no registry): its two sessions agree bit for
bit, and DuckDB calling it from several threads gives the rows a sequential run gives."""

import threading

import duckdb
import numpy as np
import pyarrow as pa
import pytest

from onnx_graphs import linear_relu
from python_udfs.onnx_functions import EncodeError, OnnxFunction


def features_column(matrix):
    return pa.FixedSizeListArray.from_arrays(pa.array(matrix.reshape(-1)), matrix.shape[1])


def test_the_solo_and_shared_sessions_give_identical_outputs(tmp_path):
    # large enough that onnxruntime splits the product over its threads
    linear_relu(tmp_path / "m.onnx", 256, 512)
    function = OnnxFunction("m", tmp_path / "m.onnx", 256, 512, threads=2)
    inputs = np.random.default_rng(1).normal(size=(2048, 256)).astype(np.float32)
    solo = function.solo_session.run(None, {"x": inputs})[0]
    shared = function.shared_session.run(None, {"x": inputs})[0]
    assert solo.shape == (2048, 512) and solo.any()
    assert np.array_equal(solo, shared)


def test_concurrent_calls_match_a_sequential_run_and_release_their_slot(tmp_path):
    weight = linear_relu(tmp_path / "m.onnx", 32, 8)
    function = OnnxFunction("m", tmp_path / "m.onnx", 32, 8)
    batches = [np.random.default_rng(i).normal(size=(500, 32)).astype(np.float32) for i in range(8)]
    results = [None] * len(batches)

    def encode(i):
        for _ in range(20):
            results[i] = function.run(batches[i])

    threads = [threading.Thread(target=encode, args=(i,)) for i in range(len(batches))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for batch, result in zip(batches, results):
        np.testing.assert_allclose(result, np.maximum(batch @ weight, 0), rtol=1e-5, atol=1e-5)
        assert np.array_equal(result, function.run(batch))
    assert function._active_calls == 0


def test_duckdb_calling_from_several_threads_gives_the_sequential_rows(tmp_path):
    linear_relu(tmp_path / "m.onnx", 8, 4)
    function = OnnxFunction("m", tmp_path / "m.onnx", 8, 4)
    con = duckdb.connect()
    con.execute("set threads = 2")
    con.create_function("encode", lambda features: function(features), [duckdb.array_type(duckdb.sqltypes.FLOAT, 8)],
                        duckdb.array_type(duckdb.sqltypes.FLOAT, 4), type="arrow", side_effects=False)
    # 300k rows: more than two row groups, so DuckDB scans and calls from both threads
    con.execute("create table users as select i as user_id, [(i * 7 + d) % 13 - 6 for d in range(8)]::float[8] as features "
                "from range(300000) as t(i)")
    encoded = con.execute("select user_id, encode(features) from users order by user_id").fetchnumpy()
    inputs = np.stack(con.execute("select features from users order by user_id").fetchnumpy()["features"]).astype(np.float32)
    expected = np.concatenate([function.run(inputs[i : i + 2048]) for i in range(0, len(inputs), 2048)])
    assert np.array_equal(np.stack(encoded["encode(features)"]), expected)


def test_non_finite_input_is_refused_with_the_row_count(tmp_path):
    linear_relu(tmp_path / "m.onnx", 4, 2)
    function = OnnxFunction("m", tmp_path / "m.onnx", 4, 2)
    inputs = np.ones((5, 4), np.float32)
    inputs[[1, 3], 2] = np.nan
    with pytest.raises(EncodeError, match="NaN or infinite values in 2 rows"):
        function(features_column(inputs))
