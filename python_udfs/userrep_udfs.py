"""dbt-duckdb plugin: every registry version becomes a SQL function on each dbt connection.

profiles.yml:
    plugins:
      - module: python_udfs.userrep_udfs
        config:
          registry: "{{ env_var('USERREP_REGISTRY', env_var('USERREP_HOME', '.') ~ '/registry') }}"
          published: "{{ env_var('USERREP_HOME', '.') }}/published"   # pins of the published versions
"""

from __future__ import annotations

import duckdb
from dbt.adapters.duckdb.plugins import BasePlugin
from duckdb.sqltypes import FLOAT, VARCHAR

from python_udfs.catalog import registry_functions, verifier, verify_function_name


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


class Plugin(BasePlugin):
    def initialize(self, plugin_config):
        # ORT sessions are built (and sha256-verified) once per dbt process, not per connection.
        self.registry_root = plugin_config["registry"]
        self.specs = registry_functions(self.registry_root, plugin_config.get("published"))

    def configure_connection(self, conn):
        for spec in self.specs:
            register(conn, spec)
