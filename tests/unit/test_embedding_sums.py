"""userrep_embedding_sums through SQL on DuckDB: the weighted sums of a numpy oracle, one read of
the item matrix per fingerprint, and a clear error for input it cannot sum."""

import duckdb
import numpy as np
import pyarrow as pa
import pytest

from python_udfs import userrep_udfs
from python_udfs.embedding_sums import EmbeddingSumError, ItemMatrices, weighted_sums
from python_udfs.userrep_udfs import ITEM_MATRIX_FINGERPRINT, register_embedding_sums

DIM = 5
PAIRS = pa.list_(pa.struct([("item_number", pa.int32()), ("weight", pa.float64())]))


def sums_sql(source="plays", encoder="'enc'", group_by="g"):
    return f"""
        select {group_by}, userrep_embedding_sums('items', {encoder}, (select {ITEM_MATRIX_FINGERPRINT} from items),
                                                  list({{'item_number': item_number, 'weight': weight}})) as sums
        from {source} group by {group_by} order by {group_by}"""


def items_table(con, matrices):
    con.execute("create table items (encoder varchar, item_number integer, embedding float[])")
    for name, matrix in matrices.items():
        con.executemany("insert into items values (?, ?, ?)", [(name, i, row.tolist()) for i, row in enumerate(matrix)])


@pytest.fixture
def world():
    con = duckdb.connect()
    con.execute("set threads = 2")
    register_embedding_sums(con)
    rng = np.random.default_rng(7)
    embeddings = rng.normal(size=(40, DIM)).astype(np.float32)
    items_table(con, {"enc": embeddings})
    # many groups with 1-12 rows each: several batches of the function, on both threads
    groups = rng.integers(0, 6000, size=30000)
    plays = pa.table({"g": groups, "item_number": rng.integers(0, 40, size=len(groups)).astype(np.int32),
                      "weight": rng.uniform(0, 3, size=len(groups))})
    con.execute("create table plays as select * from plays")
    return con, embeddings, plays


def oracle(embeddings, plays):
    groups = plays["g"].to_numpy()
    expected = np.zeros((groups.max() + 1, DIM))
    np.add.at(expected, groups, plays["weight"].to_numpy()[:, None] * embeddings[plays["item_number"].to_numpy()].astype(np.float64))
    return expected[np.unique(groups)]


def test_sums_match_a_numpy_oracle_across_batches_and_threads(world):
    con, embeddings, plays = world
    result = con.execute(sums_sql()).fetchall()
    assert len(result) == len(np.unique(plays["g"].to_numpy())) > 2048
    assert np.allclose(np.array([row[1] for row in result]), oracle(embeddings, plays), rtol=1e-6, atol=1e-5)


def test_a_committed_change_is_read_again_and_an_unchanged_table_is_not(world, monkeypatch):
    con, embeddings, plays = world
    reads = []
    reader = userrep_udfs.item_matrix_reader
    monkeypatch.setattr(userrep_udfs, "item_matrix_reader",
                        lambda conn: lambda table: reads.append(table) or reader(conn)(table))
    con.remove_function("userrep_embedding_sums")
    register_embedding_sums(con)  # again, counting the reads
    before = np.array([row[1] for row in con.execute(sums_sql()).fetchall()])
    assert np.array_equal(before, np.array([row[1] for row in con.execute(sums_sql()).fetchall()]))
    assert reads == ["items"]
    con.execute("update items set embedding = list_transform(embedding, lambda x: x * 2) where item_number = 3")
    after = np.array([row[1] for row in con.execute(sums_sql()).fetchall()])
    embeddings[3] *= 2
    assert reads == ["items", "items"]
    assert not np.allclose(before, after)
    assert np.allclose(after, oracle(embeddings, plays), rtol=1e-6, atol=1e-5)


def test_a_table_changed_in_the_statements_own_transaction_is_refused_not_summed_stale(world):
    con, _, _ = world
    con.execute(sums_sql()).fetchall()  # the committed matrix is now cached
    con.execute("begin transaction")
    con.execute("update items set embedding = list_transform(embedding, lambda x: x + 10) where item_number = 0")
    with pytest.raises(duckdb.Error, match="commit the table before the statement"):
        con.execute(sums_sql()).fetchall()
    con.execute("rollback")


def test_rows_of_several_encoders_in_one_batch_get_each_encoders_sums():
    con = duckdb.connect()
    register_embedding_sums(con)
    rng = np.random.default_rng(3)
    matrices = {"wide": rng.normal(size=(7, 6)).astype(np.float32), "narrow": rng.normal(size=(5, 2)).astype(np.float32)}
    items_table(con, matrices)
    plays = [(g, name, int(rng.integers(0, len(matrices[name]))), float(rng.uniform(0, 2)))
             for g in range(3000) for name in ("wide", "narrow") if (g + len(name)) % 3 for _ in range(1 + g % 4)]
    con.execute("create table plays (g integer, encoder varchar, item_number integer, weight double)")
    con.executemany("insert into plays values (?, ?, ?, ?)", plays)
    result = con.execute(sums_sql(encoder="encoder", group_by="g, encoder")).fetchall()
    expected = {}
    for g, name, item, weight in plays:
        expected[(g, name)] = expected.get((g, name), 0) + weight * matrices[name][item].astype(np.float64)
    assert len(result) == len(expected)
    for g, name, sums in result:
        assert len(sums) == matrices[name].shape[1]
        assert np.allclose(sums, expected[(g, name)], rtol=1e-6, atol=1e-5)


def test_the_matrix_is_read_once_per_fingerprint():
    reads = []

    def read(table):
        reads.append(table)
        return len(reads), {"enc": (np.array([0, 1]), np.eye(2))}  # the table's fingerprint: 1, then 2

    matrices = ItemMatrices(read)
    for fingerprint in (1, 1, 1, 2, 2):
        matrices.get("items", "enc", fingerprint)
    assert reads == ["items", "items"]


def test_weighted_sums_of_a_sliced_column_and_an_empty_row():
    matrix = np.arange(6, dtype=np.float64).reshape(3, 2)
    items = pa.array([[{"item_number": 2, "weight": 9.0}],
                      [{"item_number": 0, "weight": 1.0}, {"item_number": 2, "weight": 0.5}],
                      [],
                      [{"item_number": 1, "weight": 2.0}, {"item_number": 1, "weight": 1.0}]], PAIRS)[1:]
    assert weighted_sums(matrix, items).tolist() == [[2.0, 3.5], [0.0, 0.0], [6.0, 9.0]]
    with pytest.raises(EmbeddingSumError, match="NULL item number or weight"):
        weighted_sums(matrix, pa.array([[{"item_number": 0, "weight": None}]], PAIRS))


def test_an_item_number_outside_the_matrix_fails_the_statement(world):
    con, _, _ = world
    with pytest.raises(duckdb.Error, match="item number outside the matrix of 40 items"):
        con.execute(sums_sql("(select 1 as g, 40 as item_number, 1.0 as weight)")).fetchall()


def test_an_encoder_without_rows_fails_the_statement(world):
    con, _, _ = world
    with pytest.raises(duckdb.Error, match="encoder 'other' has no rows in items"):
        con.execute(sums_sql(encoder="'other'")).fetchall()


def test_a_table_argument_that_is_not_a_table_name_is_refused(world):
    con, _, _ = world
    with pytest.raises(duckdb.Error, match="is not a table name"):
        con.execute("""select userrep_embedding_sums('items; drop table items', 'enc', 1::ubigint,
                                                     [{'item_number': 0, 'weight': 1.0}])""").fetchall()
    assert con.execute("select count(*) from items").fetchone()[0] == 40
