"""`userrep refresh`: the near-real-time path. New event files and new users reach every
published representation, recomputing and re-encoding only the users whose features changed."""

from __future__ import annotations

import datetime as dt
import time

import duckdb

from userrep import config
from userrep.dbt import run_dbt


def refresh(**dbt_kwargs) -> dict:
    started = dt.datetime.now(dt.timezone.utc)
    clock = time.perf_counter()
    run_dbt(["run", "--select", "tag:nrt"], **dbt_kwargs)
    seconds = time.perf_counter() - clock
    warehouse = dbt_kwargs.get("warehouse") or config.warehouse_path()
    with duckdb.connect(str(warehouse), read_only=True) as con:
        def changed(table: str) -> int:
            return con.execute(f"select count(*) from {table} where updated_at >= ?", [started]).fetchone()[0]

        versions = [r[0] for r in con.execute(
            "select table_name from information_schema.tables where regexp_matches(table_name, '^user_representation_v[0-9]+$') order by 1"
        ).fetchall()]
        return {
            "seconds": round(seconds, 2),
            "new_event_files": con.execute(
                "select count(*) from run_plan_event_files where planned_at >= ? and change = 'new'", [started.replace(tzinfo=None)]).fetchone()[0],
            "users": con.execute("select count(*) from user_features").fetchone()[0],
            "users_with_new_features": changed("user_features"),
            "re_encoded": {name.removeprefix("user_representation_"): changed(name) for name in versions},
        }
