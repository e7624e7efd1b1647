"""Engagement-weighted embedding sums as a vectorised Arrow function: for each row, the items it
lists (as row numbers of an encoder's item matrix) times their weights, summed into one vector.

A grouped SQL SUM per dimension updates one aggregate state per value; gathering matrix rows
for a whole batch of groups is a sparse product, the same arithmetic at a fraction of the cost.
The SQL side aggregates one list of (item number, weight) pairs per group, one aggregate instead
of one per dimension, and calls the function on it.

The pure function knows no engine; ItemMatrices holds each encoder's matrix, read by a function
the engine's plugin gives it.
"""

from __future__ import annotations

import threading
from typing import Callable

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import scipy.sparse as sp


class EmbeddingSumError(ValueError):
    pass


def _combined(column: pa.Array) -> pa.Array:
    return column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column


def weighted_sums(matrix: np.ndarray, items: pa.Array) -> np.ndarray:
    """[rows, dim] float64: row r is the sum of weight * matrix[item_number] over the pairs in
    items[r], a LIST of STRUCT(item_number, weight); an empty list sums to zeros. A NULL pair,
    item number or weight, or an item number outside the matrix, raises."""
    items = _combined(items)
    offsets = items.offsets.to_numpy()
    pairs = items.flatten()  # the pairs of these rows only, also when `items` is a slice
    if pairs.null_count:
        raise EmbeddingSumError("embedding sums: a NULL (item_number, weight) pair")
    numbers, weights = pairs.flatten()
    if numbers.null_count or weights.null_count:
        raise EmbeddingSumError("embedding sums: a NULL item number or weight")
    numbers = numbers.to_numpy().astype(np.int64, copy=False)
    if len(numbers) and (numbers.min() < 0 or numbers.max() >= matrix.shape[0]):
        raise EmbeddingSumError(f"embedding sums: item number outside the matrix of {matrix.shape[0]} items")
    product = sp.csr_matrix((weights.to_numpy().astype(np.float64, copy=False), numbers, offsets - offsets[0]),
                            shape=(len(items), matrix.shape[0]))
    return product @ matrix


def constant(column: pa.Array, what: str):
    """The one value of a column that must hold the same non-NULL value in every row."""
    column = _combined(column)
    value = column[0].as_py()
    if value is None or column.null_count or pc.count_distinct(column).as_py() != 1:
        raise EmbeddingSumError(f"embedding sums: {what} must be one non-NULL value in every row of a batch")
    return value


class ItemMatrices:
    """Each encoder's item matrix, read once per content of the table they come from.

    `read(table)` returns, from one snapshot of the table, its fingerprint (the same expression
    the SQL caller computes) and, per encoder, its item numbers and embeddings. The caller passes
    its own fingerprint with every batch: the table is read again when that changes, and refused
    when the read saw other rows than the caller (a table changed in the caller's transaction and
    not committed yet), so a stale matrix is never used. The matrices of the last read of each
    table are kept, for the life of the connection."""

    def __init__(self, read: Callable[[str], tuple[int, dict[str, tuple[np.ndarray, np.ndarray]]]]):
        self._read = read
        self._tables: dict[str, tuple[int, dict[str, np.ndarray]]] = {}
        self._lock = threading.Lock()  # DuckDB calls the function from several threads at once

    def get(self, table: str, encoder: str, fingerprint: int) -> np.ndarray:
        with self._lock:
            cached = self._tables.get(table)
            if cached is None or cached[0] != fingerprint:
                seen, rows = self._read(table)
                if seen != fingerprint:
                    raise EmbeddingSumError(
                        f"embedding sums: {table} holds other rows for a separate connection than for this "
                        "statement; commit the table before the statement that sums with it")
                matrices = {}
                for name, (numbers, embeddings) in rows.items():
                    matrices[name] = np.zeros((int(numbers.max()) + 1, embeddings.shape[1]), np.float64)
                    matrices[name][numbers] = embeddings
                cached = self._tables[table] = (fingerprint, matrices)
            if encoder not in cached[1]:
                raise EmbeddingSumError(f"embedding sums: encoder {encoder!r} has no rows in {table}")
            return cached[1][encoder]

    def __call__(self, table: pa.Array, encoder: pa.Array, fingerprint: pa.Array, items: pa.Array) -> pa.Array:
        """The SQL function: table and fingerprint are constant per statement; each row names its
        encoder, and its sums have that encoder's dim."""
        if len(items) == 0:
            return pa.array([], pa.list_(pa.float32()))
        table, fingerprint = constant(table, "the table"), constant(fingerprint, "the fingerprint")
        encoder, items = _combined(encoder), _combined(items)
        if encoder.null_count:
            raise EmbeddingSumError("embedding sums: a row without an encoder")
        encoded = encoder.dictionary_encode()
        codes = encoded.indices.to_numpy()
        groups = []  # (rows, sums) per encoder in the batch
        dims = np.zeros(len(encoded.dictionary), np.int64)
        for code, name in enumerate(encoded.dictionary.to_pylist()):
            rows = np.flatnonzero(codes == code)
            matrix = self.get(table, name, fingerprint)
            groups.append((rows, weighted_sums(matrix, items if len(rows) == len(codes) else items.take(rows))))
            dims[code] = matrix.shape[1]
        offsets = np.concatenate([[0], np.cumsum(dims[codes])])
        values = np.empty(offsets[-1], np.float32)
        for rows, sums in groups:
            values[offsets[rows][:, None] + np.arange(sums.shape[1])] = sums
        return pa.ListArray.from_arrays(pa.array(offsets.astype(np.int32)), pa.array(values))
