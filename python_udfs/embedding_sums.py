"""Engagement-weighted embedding sums as a vectorised Arrow function: for each row, the items it
lists (as row numbers of an encoder's item matrix) times their weights, summed into one vector.

A grouped SQL SUM per dimension updates one aggregate state per value; gathering matrix rows
for a whole batch of groups is a sparse product, the same arithmetic at a fraction of the cost.
The SQL side aggregates one list of item numbers and one list of weights per group (two
aggregates instead of one per dimension) and calls the function on them.

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


def weighted_sums(matrix: np.ndarray, item_numbers: pa.Array, weights: pa.Array) -> np.ndarray:
    """[rows, dim] float64: row r is sum_j weights[r][j] * matrix[item_numbers[r][j]].

    item_numbers and weights are LIST columns of equal lengths per row; an empty or NULL list sums
    to zeros. A NULL item number or weight, or a number outside the matrix, raises."""
    item_numbers, weights = _combined(item_numbers), _combined(weights)
    rows = len(item_numbers)
    if len(weights) != rows:
        raise EmbeddingSumError(f"embedding sums: {rows} rows of item numbers but {len(weights)} of weights")
    offsets = item_numbers.offsets.to_numpy()
    if not np.array_equal(np.diff(offsets), np.diff(weights.offsets.to_numpy())):
        raise EmbeddingSumError("embedding sums: a row has a different number of item numbers and weights")
    numbers, values = item_numbers.flatten(), weights.flatten()
    if numbers.null_count or values.null_count:
        raise EmbeddingSumError("embedding sums: a NULL item number or weight")
    numbers = numbers.to_numpy().astype(np.int64, copy=False)
    if len(numbers) and (numbers.min() < 0 or numbers.max() >= matrix.shape[0]):
        raise EmbeddingSumError(f"embedding sums: item number outside the matrix of {matrix.shape[0]} items")
    product = sp.csr_matrix((values.to_numpy().astype(np.float64, copy=False), numbers, offsets - offsets[0]),
                            shape=(rows, matrix.shape[0]))
    return product @ matrix


def constant(column: pa.Array, what: str):
    """The one value of a column that must hold the same non-NULL value in every row."""
    column = _combined(column)
    value = column[0].as_py()
    if value is None or column.null_count or pc.count_distinct(column).as_py() != 1:
        raise EmbeddingSumError(f"embedding sums: {what} must be one non-NULL value for the whole statement")
    return value


class ItemMatrices:
    """Each encoder's item matrix, read once per content: `read(table, encoder)` returns
    (item numbers, embeddings) and is called again only when the caller's fingerprint of the
    table changes, so one statement's batches share one read."""

    def __init__(self, read: Callable[[str, str], tuple[np.ndarray, np.ndarray]]):
        self._read = read
        self._matrices: dict[tuple[str, str], tuple[int, np.ndarray]] = {}
        self._lock = threading.Lock()  # DuckDB calls the function from several threads at once

    def get(self, table: str, encoder: str, fingerprint: int) -> np.ndarray:
        with self._lock:
            cached = self._matrices.get((table, encoder))
            if cached is None or cached[0] != fingerprint:
                numbers, embeddings = self._read(table, encoder)
                matrix = np.zeros((int(numbers.max()) + 1 if len(numbers) else 0, embeddings.shape[1]), np.float64)
                matrix[numbers] = embeddings
                cached = self._matrices[(table, encoder)] = (fingerprint, matrix)
            return cached[1]

    def __call__(self, table: pa.Array, encoder: pa.Array, fingerprint: pa.Array, item_numbers: pa.Array,
                 weights: pa.Array) -> pa.Array:
        """The SQL function: table and fingerprint are constant per statement; each row names its
        encoder, and its sums have that encoder's dim."""
        if len(item_numbers) == 0:
            return pa.array([], pa.list_(pa.float32()))
        table, fingerprint = constant(table, "the table"), constant(fingerprint, "the fingerprint")
        encoder, item_numbers, weights = _combined(encoder), _combined(item_numbers), _combined(weights)
        if encoder.null_count:
            raise EmbeddingSumError("embedding sums: a row without an encoder")
        encoded = encoder.dictionary_encode()
        codes = encoded.indices.to_numpy()
        groups = []  # (rows, sums) per encoder in the batch
        dims = np.zeros(len(encoded.dictionary), np.int64)
        for code, name in enumerate(encoded.dictionary.to_pylist()):
            rows = np.flatnonzero(codes == code)
            matrix = self.get(table, name, fingerprint)
            whole = len(rows) == len(codes)
            groups.append((rows, weighted_sums(matrix, item_numbers if whole else item_numbers.take(rows),
                                               weights if whole else weights.take(rows))))
            dims[code] = matrix.shape[1]
        offsets = np.concatenate([[0], np.cumsum(dims[codes])])
        values = np.empty(offsets[-1], np.float32)
        for rows, sums in groups:
            values[offsets[rows][:, None] + np.arange(sums.shape[1])] = sums
        return pa.ListArray.from_arrays(pa.array(offsets.astype(np.int32)), pa.array(values))
