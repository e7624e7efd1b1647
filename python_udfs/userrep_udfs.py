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


def item_matrix_reader(conn):
    """Reads (item_number, embedding) of one encoder from a table on a cursor of `conn` (a
    connection of its own, so the calling statement keeps running)."""

    def read(table: str, encoder: str):
        if not TABLE_NAME.match(table):
            raise EmbeddingSumError(f"embedding sums: {table!r} is not a table name")
        rows = conn.cursor().execute(f"select item_number, embedding from {table} where encoder = ?", [encoder]).fetchnumpy()
        if not len(rows["item_number"]):
            return rows["item_number"], np.zeros((0, 0))
        return rows["item_number"], np.stack(rows["embedding"])

    return read


def register_embedding_sums(conn) -> None:
    """userrep_embedding_sums(table, encoder, fingerprint, item_numbers INTEGER[], weights DOUBLE[]) -> FLOAT[]:
    the matrix is read from `table` once per fingerprint, which the caller computes from its rows."""
    conn.create_function(EMBEDDING_SUMS_FUNCTION, ItemMatrices(item_matrix_reader(conn)),
                         [VARCHAR, VARCHAR, UBIGINT, duckdb.list_type(INTEGER), duckdb.list_type(DOUBLE)],
                         duckdb.list_type(FLOAT), type="arrow", side_effects=False)


class Plugin(BasePlugin):
    def initialize(self, plugin_config):
        # ORT sessions are built (and sha256-verified) once per dbt process, not per connection.
        self.registry_root = plugin_config["registry"]
        self.specs = registry_functions(self.registry_root, plugin_config.get("published"))

    def configure_connection(self, conn):
        register_embedding_sums(conn)
        for spec in self.specs:
            register(conn, spec)
