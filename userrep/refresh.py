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

ENGINES = ("duckdb", "spark")


def refresh(deployment: Deployment | None = None, dbt_vars: dict | None = None, wait_seconds: float = 0,
            engine: str = "duckdb", spark=None, **dbt_kwargs) -> dict:
    """dbt_kwargs: run_dbt's path overrides (home, raw_dir, warehouse, registry, project, target_path).
    On Spark (`engine='spark'`), dbt runs in this process on `spark` (default: the deployment's
    session), and `wait_seconds` does not apply."""
    if engine not in ENGINES:
        raise ValueError(f"engine must be one of {', '.join(ENGINES)}, got {engine!r}")
    paths = {k: dbt_kwargs.pop(k) for k in ("home", "raw_dir", "warehouse", "registry") if k in dbt_kwargs}
    deployment = deployment_for(deployment, **paths)
    started = dt.datetime.now(dt.timezone.utc)
    clock = time.perf_counter()
    if engine == "spark":
        from userrep import spark as spark_engine

        spark = spark or spark_engine.spark_session(warehouse=deployment.spark_warehouse)
        spark_engine.run_dbt(["run", "--select", "tag:nrt"], dbt_vars, deployment=deployment, spark=spark, **dbt_kwargs)
        seconds = time.perf_counter() - clock
        return _summary(deployment, started, seconds, lambda sql, *params: spark_engine.scalar(spark, sql, *params))
    run_dbt(["run", "--select", "tag:nrt"], dbt_vars, deployment=deployment, wait_seconds=wait_seconds, **dbt_kwargs)
    seconds = time.perf_counter() - clock
    with connect(deployment.warehouse) as con:
        return _summary(deployment, started, seconds,
                        lambda sql, *params: con.execute(sql.format(schema=""), list(params)).fetchone()[0])


def describe(result: dict) -> str:
    """What a refresh did, as `userrep refresh` and `userrep watch` print it."""
    encoded = ", ".join(f"{v}: {n:,}" for v, n in result["re_encoded"].items()) or "no published version"
    rescored = "".join(f", rescored {task}: {n:,}" for task, n in result["rescored"].items())
    quarantined = (f"; {result['quarantined_event_files']} event file(s) not read, see quarantine_event_files"
                   if result["quarantined_event_files"] else "")
    return (f"{result['new_event_files']} new event file(s), {result['users_with_new_features']:,} of "
            f"{result['users']:,} users with new features, re-encoded {encoded}{rescored}{quarantined}")


def _summary(deployment: Deployment, started: dt.datetime, seconds: float, count) -> dict:
    """`count(sql, *params)`: the engine's answer to a count query whose tables are written
    {schema}name and whose parameters are ?."""
    published = load_state(deployment.published)

    def changed(table: str, column: str = "updated_at") -> int:
        return count(f"select count(*) from {{schema}}{table} where {column} >= ?", started)

    return {
        "seconds": round(seconds, 2),
        "new_event_files": count("select count(*) from {schema}run_plan_event_files where planned_at >= ? and change = 'new'",
                                 started.replace(tzinfo=None)),
        "quarantined_event_files": count("select count(*) from {schema}quarantine_event_files"),
        "users": count("select count(*) from {schema}user_features"),
        "users_with_new_features": changed("user_features"),
        "re_encoded": {v: changed(f"user_representation_{v}") for v in sorted(published["representations"], key=version_number)},
        "rescored": {task: changed(f"{task}_scores", "computed_at") for task in sorted(published["downstream"])},
    }
