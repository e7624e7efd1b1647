"""ONNX models as vectorised Arrow functions. Engine-neutral: nothing here knows DuckDB or dbt,
so Spark's arrow_udf (userrep.spark) wraps the same OnnxFunction. Never imports torch.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc


class EncodeError(ValueError):
    pass


def list_values(column: pa.Array, width: int, what: str) -> np.ndarray:
    """An Arrow LIST / FIXED_SIZE_LIST column as an [n, width] float32 view (no copy when possible)."""
    if isinstance(column, pa.ChunkedArray):
        column = column.combine_chunks()
    n = len(column)
    if pa.types.is_fixed_size_list(column.type):
        if column.type.list_size != width:
            raise EncodeError(f"{what} expects {width} values per row, got FLOAT[{column.type.list_size}]")
        values = column.values[column.offset * width : (column.offset + n) * width]
    else:
        offsets = column.offsets.to_numpy()
        lengths = np.diff(offsets)
        if n and (lengths.min() != width or lengths.max() != width):
            bad = int(np.flatnonzero(lengths != width)[0])
            raise EncodeError(
                f"{what} expects {width} values per row, got {int(lengths[bad])} in row {bad} "
                f"({int((lengths != width).sum())} of {n} rows have the wrong length)"
            )
        values = column.values[offsets[0] : offsets[0] + n * width] if n else column.values[:0]
    array = values.to_numpy(zero_copy_only=False).reshape(n, width)
    return array if array.dtype == np.float32 else array.astype(np.float32)


def to_arrow(matrix: np.ndarray) -> pa.Array:
    """[n, 1] becomes a FLOAT column, [n, k] a FLOAT[k] column."""
    matrix = np.ascontiguousarray(matrix, dtype=np.float32)
    if matrix.shape[1] == 1:
        return pa.array(matrix.reshape(-1))
    return pa.FixedSizeListArray.from_arrays(pa.array(matrix.reshape(-1)), matrix.shape[1])


@dataclass
class OnnxFunction:
    """One ONNX graph with one [n, input_dim] float input and one [n, output_dim] float output."""

    name: str
    path: Path
    input_dim: int
    output_dim: int
    expected_tag: str | None = None  # every row's tag argument must equal it (feature schema hash, model version)
    tag_name: str = "feature schema"
    also_accepted: tuple[str, ...] = ()  # further tags that pass (the other versions of a downstream model's space)
    explain_refusal: Callable[[str], str] | None = None  # the message for a refused tag, when the default does not fit
    threads: int = 0  # onnxruntime threads for a call that runs alone; 0: every core
    _active_calls: int = field(default=0, init=False, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)

    def __post_init__(self):
        # DuckDB calls the function from one thread per row group it scans: one thread for a
        # table under 122,880 rows, several for a large one. A call that runs alone gets every
        # core (100k users encoded at 50k/s on one ORT thread, 74-94k/s on two); concurrent calls
        # get one ORT thread each and share the cores (two ORT threads each were 20% slower at 1M).
        # The two sessions' outputs were bit-identical on 100k users (1, 2 and 4 threads; tested).
        self.solo_session = self._session(self.threads or os.cpu_count() or 1)
        self.shared_session = self._session(1)
        self.input_name = self.solo_session.get_inputs()[0].name
        declared = self.solo_session.get_inputs()[0].shape[-1]
        if isinstance(declared, int) and declared != self.input_dim:
            raise EncodeError(f"{self.path} takes {declared} inputs, its manifest says {self.input_dim}")
        for session in (self.solo_session, self.shared_session):  # warm-up: the first run allocates
            session.run(None, {self.input_name: np.zeros((2, self.input_dim), np.float32)})

    def _session(self, threads: int):
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        # no spinning: an idle ORT thread must not take a core from DuckDB or the other call
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        return ort.InferenceSession(str(self.path), options, providers=["CPUExecutionProvider"])

    def run(self, inputs: np.ndarray) -> np.ndarray:
        with self._lock:
            self._active_calls += 1
            session = self.solo_session if self._active_calls == 1 else self.shared_session
        try:
            outputs = session.run(None, {self.input_name: inputs})[0]
        finally:
            with self._lock:
                self._active_calls -= 1
        return outputs.reshape(len(inputs), -1)

    def __call__(self, features: pa.Array, tags: pa.Array | None = None) -> pa.Array:
        if features.null_count:
            raise EncodeError(f"{self.name}: input is NULL in {features.null_count} rows")
        if self.expected_tag is not None and tags is not None:
            accepted = (self.expected_tag, *self.also_accepted)
            if tags.null_count or not pc.all(pc.is_in(tags, value_set=pa.array(accepted, pa.string()))).as_py():
                found = sorted({str(t) for t in pc.unique(tags).to_pylist()} - set(accepted))
                if self.explain_refusal:
                    raise EncodeError(f"{self.name}: {self.explain_refusal(found[0])}")
                raise EncodeError(
                    f"{self.name}: input rows carry {self.tag_name} {found[0]:.16}, but this model expects "
                    f"{self.expected_tag:.16}; train and publish a version for the current input"
                )
        inputs = list_values(features, self.input_dim, self.name)
        if not np.isfinite(inputs).all():
            raise EncodeError(f"{self.name}: input has NaN or infinite values in {int((~np.isfinite(inputs)).any(1).sum())} rows")
        outputs = self.run(inputs)
        if not np.isfinite(outputs).all():
            raise EncodeError(f"{self.name}: produced non-finite output; refusing to write it")
        return to_arrow(outputs)
