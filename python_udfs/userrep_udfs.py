"""dbt-duckdb plugin: every registry version becomes a SQL function on each dbt connection, and so
does userrep_embedding_sums (the embedding_sums macro's DuckDB form).

profiles.yml:
    plugins:
      - module: python_udfs.userrep_udfs
        config:
          registry: "{{ env_var('USERREP_REGISTRY', env_var('USERREP_HOME', '.') ~ '/registry') }}"
          published: "{{ env_var('USERREP_HOME', '.') }}/published"   # pins of the published versions
"""

from __future__ import annotations

import re

import duckdb
import numpy as np
from dbt.adapters.duckdb.plugins import BasePlugin
from duckdb.sqltypes import DOUBLE, FLOAT, INTEGER, UBIGINT, VARCHAR

from python_udfs.catalog import registry_functions, verifier, verify_function_name
from python_udfs.embedding_sums import EmbeddingSumError, ItemMatrices

EMBEDDING_SUMS_FUNCTION = "userrep_embedding_sums"
# a table as dbt renders a relation: quoted or bare identifiers joined by dots
TABLE_NAME = re.compile(r'^(?:"[^"]+"|[A-Za-z_][A-Za-z0-9_]*)(?:\.(?:"[^"]+"|[A-Za-z_][A-Za-z0-9_]*)){0,2}$')


def sql_types(spec):
    if spec.output_dim is None:  # a refusing stand-in: its manifest could not be read
        return [duckdb.list_type(FLOAT), VARCHAR], duckdb.list_type(FLOAT)
    # FLOAT[n], not FLOAT[]: DuckDB hands a fixed-size array to Arrow without rebuilding offsets
    # (about 1.5x the throughput of a list argument). A FLOAT[] argument is cast implicitly, and a
    # row of the wrong length fails the cast: "Cannot cast list with length m to array with length n".
    features = duckdb.array_type(FLOAT, spec.input_dim)
    output = FLOAT if spec.output_dim == 1 else duckdb.array_type(FLOAT, spec.output_dim)
    return [features, VARCHAR], output


def register(conn, spec) -> None:
    parameters, return_type = sql_types(spec)
    # exceptions propagate (the default): a refused input fails the statement, never NULLs
    conn.create_function(spec.sql_name, spec.function, parameters, return_type, type="arrow", side_effects=False)
    conn.create_function(verify_function_name(spec.sql_name), verifier(spec), [], VARCHAR, side_effects=True)


# the fingerprint the embedding_sums macro computes over the table, the same expression here
ITEM_MATRIX_FINGERPRINT = "bit_xor(hash(encoder, item_number, embedding))"


def item_matrix_reader(conn):
    """Reads a table's fingerprint and every encoder's (item_number, embedding) rows in one
    transaction on a cursor of `conn`: a connection of its own, so the calling statement keeps
    running, and one that sees only committed rows (which the fingerprint check relies on)."""

    def read(table: str):
        if not TABLE_NAME.match(table):
            raise EmbeddingSumError(f"embedding sums: {table!r} is not a table name")
        with conn.cursor() as cursor:
            cursor.execute("begin transaction")
            (fingerprint,) = cursor.execute(f"select {ITEM_MATRIX_FINGERPRINT} from {table}").fetchone()
            rows = cursor.execute(f"select encoder, item_number, embedding from {table}").fetchnumpy()
            cursor.execute("commit")
        return fingerprint, {encoder: (rows["item_number"][mine], np.stack(rows["embedding"][mine]))
                             for encoder in np.unique(rows["encoder"]) for mine in [rows["encoder"] == encoder]}

    return read


def register_embedding_sums(conn) -> None:
    """userrep_embedding_sums(table, encoder, fingerprint, items STRUCT(item_number INTEGER, weight DOUBLE)[])
    -> FLOAT[]: the matrices are read from `table` once per fingerprint, which the caller computes over
    the table's rows with ITEM_MATRIX_FINGERPRINT."""
    items = duckdb.list_type(duckdb.struct_type({"item_number": INTEGER, "weight": DOUBLE}))
    conn.create_function(EMBEDDING_SUMS_FUNCTION, ItemMatrices(item_matrix_reader(conn)),
                         [VARCHAR, VARCHAR, UBIGINT, items], duckdb.list_type(FLOAT), type="arrow", side_effects=False)


class Plugin(BasePlugin):
    def initialize(self, plugin_config):
        # ORT sessions are built (and sha256-verified) once per dbt process, not per connection.
        self.registry_root = plugin_config["registry"]
        self.specs = registry_functions(self.registry_root, plugin_config.get("published"))

    def configure_connection(self, conn):
        register_embedding_sums(conn)
        for spec in self.specs:
            register(conn, spec)
