"""userrep_embedding_sums through SQL on DuckDB: the weighted sums of a numpy oracle, one read of
the item matrix per fingerprint, and a clear error for input it cannot sum."""

import duckdb
import numpy as np
import pyarrow as pa
import pytest

from python_udfs.embedding_sums import EmbeddingSumError, ItemMatrices, weighted_sums
from python_udfs.userrep_udfs import register_embedding_sums

DIM = 5


@pytest.fixture
def con():
    con = duckdb.connect()
    con.execute("set threads = 2")
    register_embedding_sums(con)
    rng = np.random.default_rng(7)
    embeddings = rng.normal(size=(40, DIM)).astype(np.float32)
    con.execute("create table items (encoder varchar, item_number integer, embedding float[])")
    con.executemany("insert into items values ('enc', ?, ?)", [(i, row.tolist()) for i, row in enumerate(embeddings)])
    # many groups with 1-12 rows each: several batches of the function, on both threads
    groups = rng.integers(0, 6000, size=30000)
    plays = pa.table({"g": groups, "item_number": rng.integers(0, 40, size=len(groups)).astype(np.int32),
                      "weight": rng.uniform(0, 3, size=len(groups))})
    con.execute("create table plays as select * from plays")
    return con, embeddings, plays


SUMS = """
    select g, userrep_embedding_sums('items', 'enc',
        (select bit_xor(hash(item_number, embedding)) from items where encoder = 'enc'),
        list(item_number), list(weight)) as sums
    from plays group by g order by g
"""


def oracle(embeddings, plays):
    groups = plays["g"].to_numpy()
    expected = np.zeros((groups.max() + 1, DIM))
    np.add.at(expected, groups, plays["weight"].to_numpy()[:, None] * embeddings[plays["item_number"].to_numpy()].astype(np.float64))
    return expected[np.unique(groups)]


def test_sums_match_a_numpy_oracle_across_batches_and_threads(con):
    con, embeddings, plays = con
    result = con.execute(SUMS).fetchall()
    assert len(result) == len(np.unique(plays["g"].to_numpy())) > 2048
    assert np.allclose(np.array([row[1] for row in result]), oracle(embeddings, plays), rtol=1e-6, atol=1e-5)


def test_a_changed_table_is_read_again_and_an_unchanged_one_is_not(con):
    con, embeddings, plays = con
    before = np.array([row[1] for row in con.execute(SUMS).fetchall()])
    con.execute("update items set embedding = list_transform(embedding, lambda x: x * 2) where item_number = 3")
    after = np.array([row[1] for row in con.execute(SUMS).fetchall()])
    embeddings[3] *= 2
    assert not np.allclose(before, after)
    assert np.allclose(after, oracle(embeddings, plays), rtol=1e-6, atol=1e-5)


def test_the_matrix_is_read_once_per_fingerprint():
    reads = []

    def read(table, encoder):
        reads.append((table, encoder))
        return np.array([0, 1]), np.eye(2)

    matrices = ItemMatrices(read)
    for fingerprint in (1, 1, 1, 2, 2):
        matrices.get("items", "enc", fingerprint)
    assert reads == [("items", "enc"), ("items", "enc")]


def test_weighted_sums_of_sliced_lists_and_empty_rows():
    matrix = np.arange(6, dtype=np.float64).reshape(3, 2)
    numbers = pa.array([[9], [0, 2], [], [1, 1]], pa.list_(pa.int32()))[1:]  # a slice: offsets do not start at 0
    weights = pa.array([[9.0], [1.0, 0.5], [], [2.0, 1.0]])[1:]
    assert weighted_sums(matrix, numbers, weights).tolist() == [[2.0, 3.5], [0.0, 0.0], [6.0, 9.0]]


def test_an_item_number_outside_the_matrix_fails_the_statement(con):
    con, _, _ = con
    with pytest.raises(duckdb.Error, match="item number outside the matrix of 40 items"):
        con.execute("""select userrep_embedding_sums('items', 'enc', 1::ubigint, [40]::integer[], [1.0]::double[])""").fetchall()


def test_a_table_argument_that_is_not_a_table_name_is_refused(con):
    con, _, _ = con
    with pytest.raises(duckdb.Error, match="is not a table name"):
        con.execute("""select userrep_embedding_sums('items; drop table items', 'enc', 1::ubigint, [0]::integer[], [1.0]::double[])""").fetchall()
    assert con.execute("select count(*) from items").fetchone()[0] == 40


def test_lists_of_different_lengths_fail_with_a_clear_message(con):
    con, _, _ = con
    with pytest.raises(duckdb.Error, match="different number of item numbers and weights"):
        con.execute("""select userrep_embedding_sums('items', 'enc', 1::ubigint, [0, 1]::integer[], [1.0]::double[])""").fetchall()
    with pytest.raises(EmbeddingSumError):
        weighted_sums(np.eye(2), pa.array([[0]], pa.list_(pa.int32())), pa.array([[None]], pa.list_(pa.float64())))


def test_rows_of_several_encoders_in_one_batch_get_each_encoders_sums():
    con = duckdb.connect()
    register_embedding_sums(con)
    rng = np.random.default_rng(3)
    matrices = {"wide": rng.normal(size=(7, 6)).astype(np.float32), "narrow": rng.normal(size=(5, 2)).astype(np.float32)}
    con.execute("create table items (encoder varchar, item_number integer, embedding float[])")
    for name, matrix in matrices.items():
        con.executemany("insert into items values (?, ?, ?)", [(name, i, row.tolist()) for i, row in enumerate(matrix)])
    plays = [(g, name, int(rng.integers(0, len(matrices[name]))), float(rng.uniform(0, 2)))
             for g in range(3000) for name in ("wide", "narrow") if (g + len(name)) % 3 for _ in range(1 + g % 4)]
    con.execute("create table plays (g integer, encoder varchar, item_number integer, weight double)")
    con.executemany("insert into plays values (?, ?, ?, ?)", plays)
    result = con.execute("""
        select g, encoder, userrep_embedding_sums('items', encoder, (select bit_xor(hash(encoder, item_number, embedding)) from items),
                                                  list(item_number), list(weight))
        from plays group by g, encoder""").fetchall()
    expected = {}
    for g, name, item, weight in plays:
        expected[(g, name)] = expected.get((g, name), 0) + weight * matrices[name][item].astype(np.float64)
    assert len(result) == len(expected)
    for g, name, sums in result:
        assert len(sums) == matrices[name].shape[1]
        assert np.allclose(sums, expected[(g, name)], rtol=1e-6, atol=1e-5)
