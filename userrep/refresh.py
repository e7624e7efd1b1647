"""`userrep refresh`: the near-real-time path. New event files and new users reach every
published representation and the downstream scores pinned to it, recomputing, re-encoding and
rescoring only the users whose features changed."""

from __future__ import annotations

import datetime as dt
import time

from userrep.config import Deployment
from userrep.dbt import deployment_for, run_dbt
from userrep.publish import load_state
from userrep.registry import version_number
from userrep.warehouse import connect


def refresh(deployment: Deployment | None = None, dbt_vars: dict | None = None, wait_seconds: float = 0,
            **dbt_kwargs) -> dict:
    """dbt_kwargs: run_dbt's path overrides (home, raw_dir, warehouse, registry, project, target_path)."""
    paths = {k: dbt_kwargs.pop(k) for k in ("home", "raw_dir", "warehouse", "registry") if k in dbt_kwargs}
    deployment = deployment_for(deployment, **paths)
    started = dt.datetime.now(dt.timezone.utc)
    clock = time.perf_counter()
    run_dbt(["run", "--select", "tag:nrt"], dbt_vars, deployment=deployment, wait_seconds=wait_seconds, **dbt_kwargs)
    seconds = time.perf_counter() - clock
    published = load_state(deployment.published)
    with connect(deployment.warehouse) as con:
        def changed(table: str, column: str = "updated_at") -> int:
            return con.execute(f"select count(*) from {table} where {column} >= ?", [started]).fetchone()[0]

        return {
            "seconds": round(seconds, 2),
            "new_event_files": con.execute(
                "select count(*) from run_plan_event_files where planned_at >= ? and change = 'new'", [started.replace(tzinfo=None)]).fetchone()[0],
            "users": con.execute("select count(*) from user_features").fetchone()[0],
            "users_with_new_features": changed("user_features"),
            "re_encoded": {v: changed(f"user_representation_{v}") for v in sorted(published["representations"], key=version_number)},
            "rescored": {task: changed(f"{task}_scores", "computed_at") for task in sorted(published["downstream"])},
        }
