"""`userrep bench --engine spark`: the project on Spark next to DuckDB, on the same worlds in the same run.

Every measured step runs in a child process (benchmarks.run.measured: wall time, CPU time, peak
memory of the Python process), a Spark step starting its own SparkSession as `userrep build
--engine spark` does and adding its JVM's CPU time and peak memory (jvm_cpu_s, jvm_peak_rss_mib):

- fixed cost: a one-model project (`select 1`) run twice on one session, and a full build of a
  small world (the project's own per-statement overhead, next to no events);
- a full build (`dbt run --full-refresh`, features and the published representation) of the scale
  world on DuckDB, on Spark local[2] and on Spark local[1] (how the build scales with cores);
- a refresh of 10,000 users with 1-5 plays each (one batch, landed once, refreshed on both engines).

Per-event cost: (full build of the scale world - full build of the small world) / (events between).

    python -m benchmarks.spark STEP WORLD [--master M]   (one Spark step; prints one JSON line)
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.run import RESULTS, bench_world, machine, measured, stage, world_name
from benchmarks.stages import con_count, world_env

# local[N] runs its executors in the driver's JVM: its heap holds every task's working memory
DRIVER_MEMORY = "6g"
SMALL_WORLD_USERS = 1_000
REFRESH_USERS = 10_000

TRIVIAL_PROJECT = """
name: userrep
profile: userrep
config-version: 2
flags: {send_anonymous_usage_stats: false}
models:
  userrep:
    +materialized: table
"""


def session(master: str, world: Path):
    from userrep import spark as spark_engine

    return spark_engine.spark_session(master, world / "warehouse" / "spark", settings={"spark.driver.memory": DRIVER_MEMORY,
                                                                                    "spark.ui.enabled": "false"})


def timed(action) -> tuple[float, object]:
    started = time.perf_counter()
    value = action()
    return round(time.perf_counter() - started, 2), value


def spark_step(step: str, world: Path, master: str) -> dict:
    """One Spark step in this process: the session's start, then the step, each timed."""
    from userrep import spark as spark_engine
    from userrep.refresh import refresh

    world = Path(world).resolve()
    session_s, spark = timed(lambda: session(master, world))
    result = {"master": master, "session_start_s": session_s}
    if step == "trivial":
        root = Path(tempfile.mkdtemp(prefix="userrep-trivial-"))
        try:
            (root / "models").mkdir()
            (root / "dbt_project.yml").write_text(TRIVIAL_PROJECT)
            shutil.copy(world / "project" / "profiles.yml", root / "profiles.yml")
            (root / "models" / "trivial.sql").write_text("select 1 as x")
            for run in (1, 2):
                result[f"dbt_run_{run}_s"], _ = timed(lambda: spark_engine.run_dbt(
                    ["run"], home=root, project=root, target_path=root / "target", spark=spark))
        finally:
            shutil.rmtree(root, ignore_errors=True)
    elif step == "full_build":
        env = {**world_env(world), "target_path": world / "target_spark"}
        result["dbt_s"], _ = timed(lambda: spark_engine.run_dbt(["run", "--full-refresh"], spark=spark, **env))
    elif step == "refresh":
        env = {**world_env(world), "target_path": world / "target_spark"}
        result.update(refresh(engine="spark", spark=spark, **env))
    else:
        raise ValueError(f"unknown step {step}")
    result.update(jvm_usage(spark))
    spark.stop()
    return result


def jvm_usage(spark) -> dict:
    """CPU seconds and peak RSS of the driver JVM (with a local master the executors run in it):
    `measured` sees only the Python process, since the JVM that py4j starts is never waited for."""
    pid = spark.sparkContext._gateway.proc.pid
    times = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[11:15]  # utime, stime, cutime, cstime
    peak_kib = next(int(line.split()[1]) for line in Path(f"/proc/{pid}/status").read_text().splitlines()
                    if line.startswith("VmHWM"))
    return {"jvm_cpu_s": round(sum(int(t) for t in times) / os.sysconf("SC_CLK_TCK"), 2), "jvm_peak_rss_mib": peak_kib // 1024}


def spark_stage(step: str, world: Path, master: str) -> dict:
    print(f"  spark {step} on {master} ...", flush=True)
    result = measured([sys.executable, "-m", "benchmarks.spark", step, str(world), "--master", master])
    print(f"    {result}", flush=True)
    return result


def deploy(world: Path) -> None:
    """Features on DuckDB, v1 trained on them and published: the representation both engines then build."""
    from userrep.config import Deployment
    from userrep.publish import publish_representation

    stage("features", world)
    version = stage("training", world)["version"]
    env = world_env(world)
    publish_representation(version, Deployment(env["home"], env["raw_dir"], env["warehouse"], env["registry"]))


def run_spark_bench(users: int, root: Path, events_per_user: float) -> Path:
    os.environ["PYSPARK_PYTHON"] = os.environ.get("PYSPARK_PYTHON", sys.executable)
    results = {"date": dt.date.today().isoformat(), "machine": machine(), "driver_memory": DRIVER_MEMORY,
               "load_average_before": os.getloadavg(), "worlds": {}}
    for users_here in (SMALL_WORLD_USERS, users):
        world = bench_world(users_here, root, events_per_user=events_per_user)
        print(f"world {world.name}", flush=True)
        deploy(world)
        steps = {}
        events = con_count(world, "select sum(raw_rows) from run_plan_event_files where change != 'removed'")
        steps["duckdb_full_build"] = stage("full_build", world)
        steps["spark_full_build_local2"] = spark_stage("full_build", world, "local[2]")
        if users_here == users:
            steps["spark_full_build_local1"] = spark_stage("full_build", world, "local[1]")
            from userrep.synthetic import land_batch

            batch = land_batch(world / "raw", users=min(REFRESH_USERS, users), new_users=0, seed=101, plays_per_user=3)
            steps["duckdb_refresh_10k_users"] = {**stage("refresh", world), "batch_events": batch["events"]}
            steps["spark_refresh_10k_users_local2"] = {**spark_stage("refresh", world, "local[2]"), "batch_events": batch["events"]}
        results["worlds"][world.name] = {"users": users_here, "events": events, "steps": steps}
    results["fixed_cost_trivial_project"] = spark_stage("trivial", world, "local[2]")
    results["load_average_after"] = os.getloadavg()
    small, scale = (results["worlds"][world_name(n, events_per_user=events_per_user)] for n in (SMALL_WORLD_USERS, users))
    results["per_million_events_s"] = {
        engine: round((scale["steps"][key]["wall_s"] - small["steps"][key]["wall_s"]) / (scale["events"] - small["events"]) * 1e6, 2)
        for engine, key in (("duckdb", "duckdb_full_build"), ("spark_local2", "spark_full_build_local2"))}
    return write(results, users, events_per_user)


def write(results: dict, users: int, events_per_user: float) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    stem = f"{results['date']}-{results['machine']['host']}-spark-{world_name(users, events_per_user=events_per_user)}"
    (RESULTS / f"{stem}.json").write_text(json.dumps(results, indent=2))
    lines = [f"# userrep on Spark next to DuckDB, {results['date']}", "",
             f"Load average before {results['load_average_before']}, after {results['load_average_after']}; "
             f"Spark driver memory {results['driver_memory']}", "",
             "| world | events | step | wall s | CPU s | peak RSS MiB | details |", "|---|---|---|---|---|---|---|"]
    for name, world in results["worlds"].items():
        for step, r in world["steps"].items():
            details = ", ".join(f"{k}={v}" for k, v in r.items() if k not in ("wall_s", "cpu_s", "peak_rss_mib"))
            lines.append(f"| {name} | {world['events']:,} | {step} | {r['wall_s']} | {r['cpu_s']} | {r['peak_rss_mib']} | {details} |")
    trivial = results["fixed_cost_trivial_project"]
    lines += ["", f"Fixed cost, one-model project on local[2]: {trivial}", "",
              f"Seconds per million events (full build, scale world minus small world): {results['per_million_events_s']}"]
    (RESULTS / f"{stem}.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return RESULTS / f"{stem}.md"


def main() -> None:
    parser = argparse.ArgumentParser(description="One Spark benchmark step in this process.")
    parser.add_argument("step", choices=["trivial", "full_build", "refresh"])
    parser.add_argument("world", type=Path)
    parser.add_argument("--master", default="local[2]")
    args = parser.parse_args()
    print(json.dumps(spark_step(args.step, args.world, args.master), default=str))


if __name__ == "__main__":
    main()
