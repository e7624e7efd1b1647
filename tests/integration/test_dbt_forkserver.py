"""The dbt fork server's warm-up: every dbt run of the integration tests is forked from a warmed
server (conftest.py), so this checks only what a fork cannot survive."""

import subprocess
import sys

THREADS_AROUND_WARM_UP = """
import importlib, os
from userrep import dbt_forkserver
for name in dbt_forkserver.PRELOADED:
    importlib.import_module(name)
before = dbt_forkserver.thread_count()
dbt_forkserver.warm_up()
print(before, dbt_forkserver.thread_count(), os.environ.get("DBT_STATIC_PARSER"))
"""


def test_warm_up_leaves_no_thread_running():
    """A fork copies only the forking thread: a run forked from a server whose warm-up left one
    running (dbt's static parser pool, an open DuckDB) would wait for it forever."""
    before, after, static_parser = subprocess.run([sys.executable, "-c", THREADS_AROUND_WARM_UP], capture_output=True,
                                                  text=True, check=True).stdout.split()
    assert after == before
    assert static_parser == "None"  # the warm-up's own setting is undone
