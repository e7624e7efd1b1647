"""`make bench` / `userrep bench`: scale worlds, every stage measured in the same run.

Each stage runs in a child process (benchmarks.stages) and is measured with os.wait4: wall time,
CPU time (user + system, children included) and peak resident memory. Results go to
benchmarks/results/<date>-<machine>.json and a Markdown table beside it.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.targets import evaluate_targets, targets_table
from userrep.project import copy_project, project_view, set_project_vars
from userrep.synthetic import WorldConfig, generate_world

RESULTS = Path(__file__).resolve().parent / "results"


def machine() -> dict:
    model = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                  if line.startswith("model name")), platform.processor()) if Path("/proc/cpuinfo").exists() else platform.processor()
    memory = next((int(line.split()[1]) // 1024 // 1024 for line in Path("/proc/meminfo").read_text().splitlines()
                   if line.startswith("MemTotal")), None) if Path("/proc/meminfo").exists() else None
    return {"host": platform.node(), "cpu": model, "cores": os.cpu_count(), "memory_gib": memory,
            "python": platform.python_version(), "platform": platform.platform()}


# Started by a small launcher, not by this process: Linux counts a child's memory before its exec
# (a copy of its parent's) in its peak RSS, so a stage started by a large process would report at
# least that process's size.
LAUNCHER = """
import json, os, subprocess, sys, time
start = time.perf_counter()
process = subprocess.Popen(sys.argv[2:])
_, status, usage = os.wait4(process.pid, 0)
with open(sys.argv[1], "w") as out:
    json.dump({"status": status, "wall_s": time.perf_counter() - start, "cpu_s": usage.ru_utime + usage.ru_stime,
               "peak_rss_kib": usage.ru_maxrss}, out)
"""


def measured(argv: list[str], env: dict | None = None) -> dict:
    """Run argv; its wall time, CPU time and peak RSS (os.wait4: this child and its descendants)."""
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err, \
            tempfile.NamedTemporaryFile("r") as usage_file:
        subprocess.run([sys.executable, "-c", LAUNCHER, usage_file.name, *argv], stdout=out, stderr=err, text=True,
                       env=env, check=False)
        usage = usage_file.read()
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read(), err.read()
    if not usage:  # the launcher could not start argv
        raise RuntimeError(f"{' '.join(argv)} could not be started:\n{stderr[-3000:]}")
    usage = json.loads(usage)
    if os.waitstatus_to_exitcode(usage["status"]) != 0:
        raise RuntimeError(f"{' '.join(argv)} failed:\n{stderr[-3000:]}{stdout[-3000:]}")
    last = stdout.strip().splitlines()[-1] if stdout.strip() else "{}"
    return {"wall_s": round(usage["wall_s"], 2), "cpu_s": round(usage["cpu_s"], 2),
            "peak_rss_mib": round(usage["peak_rss_kib"] / 1024), **(json.loads(last) if last.startswith("{") else {})}


def stage(name: str, world: Path) -> dict:
    print(f"  {name} ...", flush=True)
    result = measured([sys.executable, "-m", "benchmarks.stages", name, str(world)])
    print(f"    {result}", flush=True)
    return result


def bench_world(users: int, root: Path, seed: int = 0, events_per_user: float = 100.0, days: int = 365,
                monthly_history: bool = False) -> Path:
    world = root / world_name(users, days, monthly_history, events_per_user)
    raw = world / "raw"
    history = list((raw / "events").glob("????-??.parquet" if monthly_history else "history.parquet"))
    if not history:  # none yet, or a world from before the history's current file names
        print(f"generating {users:,} users ...", flush=True)
        started = time.perf_counter()
        generate_world(WorldConfig(users=users, seed=seed, events_per_user=events_per_user, days=days,
                                   monthly_history=monthly_history), raw)
        print(f"  {time.perf_counter() - started:.0f}s", flush=True)
    for landed in (raw / "events").glob("part-*.parquet"):
        landed.unlink()  # a batch an earlier run's refresh stages landed: each run starts from the generated history
    fresh_project(world)
    shutil.rmtree(world / "registry", ignore_errors=True)
    shutil.rmtree(world / "published", ignore_errors=True)
    for stale in world.glob("warehouse.duckdb*"):
        stale.unlink()
    return world


def world_name(users: int, days: int = 365, monthly_history: bool = False, events_per_user: float = 100.0) -> str:
    return (f"{users}" + ("" if days == 365 else f"-{days}d") + ("" if events_per_user == 100 else f"-{events_per_user:g}epu")
            + ("-monthly" if monthly_history else ""))


def run_bench(users: int, root: Path, events_per_user: float = 100.0, demo: bool = True, days: int = 365,
              monthly_history: bool = False, time_features: str = "sliding") -> Path:
    world = bench_world(users, root, events_per_user=events_per_user, days=days, monthly_history=monthly_history)
    if time_features != "sliding":
        set_project_vars(world / "project", {"time_features": time_features})
    os.environ["USERREP_PROJECT_DIR"] = str(world / "project")
    results = {"date": dt.date.today().isoformat(), "machine": machine(), "users": users, "history_days": days,
               "events_per_user": events_per_user, "monthly_history": monthly_history, "time_features": time_features,
               "stages": {}}
    stages = results["stages"]
    stages["encoder_horizon_means"] = stage("encoder_horizons", world)  # the aggregation alone: every encoder and horizon
    stages["features_full_build"] = stage("features", world)
    stages["features_scipy_sparse"] = stage("scipy_sparse", world)
    stages["training"] = stage("training", world)
    os.environ.update({"USERREP_HOME": str(world), "USERREP_WAREHOUSE": str(world / "warehouse.duckdb"),
                       "USERREP_REGISTRY": str(world / "registry"), "USERREP_RAW_DIR": str(world / "raw")})
    from userrep.publish import publish_representation

    publish_representation(stages["training"]["version"])
    stages["encoding"] = stage("encoding", world)
    view = project_view(world / "project", world)  # dbt's project for this deployment, published models included
    stages["full_refresh_features_and_encode"] = measured(
        [str(Path(sys.executable).with_name("dbt")), "run", "--full-refresh", "--project-dir", str(view),
         "--profiles-dir", str(view), "--target-path", str(world / "target"), "--exclude", "similar_users"],
        env={**os.environ})
    print(f"  full refresh: {stages['full_refresh_features_and_encode']}", flush=True)
    stages["refresh_1pct_events_on_1pct_users"] = stage("refresh_one_percent", world)
    stages["refresh_1to5_plays_on_1pct_users"] = stage("refresh_small_batch", world)
    stages["refresh_1to5_plays_on_1k_users"] = stage("refresh_1k_users", world)
    stages["refresh_1to5_plays_on_10k_users"] = stage("refresh_10k_users", world)
    stages["watch_1k_users_represented"] = stage("watch_1k_users", world)  # batch landed -> represented, dbt kept loaded
    stages["refresh_next_day_everyone"] = stage("refresh_next_day", world)  # last: it moves as_of
    if demo:
        demo_dir = root / "demo"
        env = {**os.environ, "USERREP_RAW_DIR": str(demo_dir / "raw"), "USERREP_WAREHOUSE": str(demo_dir / "warehouse.duckdb"),
               "USERREP_REGISTRY": str(demo_dir / "registry"), "USERREP_PROJECT_DIR": str(fresh_project(demo_dir))}
        stages["make_demo_after_install"] = measured([str(Path(sys.executable).with_name("userrep")), "demo"], env=env)
        print(f"  demo: {stages['make_demo_after_install']}", flush=True)
    return write_results(results)


def fresh_project(directory: Path) -> Path:
    """A copy of the dbt project for a benchmark world, so publishing never touches the repository."""
    return copy_project(directory / "project")


def write_results(results: dict) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    days = results.get("history_days", 365)
    world = world_name(results["users"], days, results.get("monthly_history", False), results.get("events_per_user", 100.0))
    stem = f"{results['date']}-{results['machine']['host']}-{world}" + ("-anchored" if results.get("time_features") == "anchored" else "")
    results["targets"] = evaluate_targets(results["stages"], results["users"])
    (RESULTS / f"{stem}.json").write_text(json.dumps(results, indent=2))
    m = results["machine"]
    layout = "monthly files" if results.get("monthly_history") else "one file"
    lines = [f"# userrep benchmark, {results['users']:,} users, {days} days of history in {layout}, {results['date']}"
             + (f", time_features {results['time_features']}" if results.get("time_features", "sliding") != "sliding" else ""), "",
             f"Machine: {m['cpu']}, {m['cores']} cores, {m['memory_gib']} GiB, Python {m['python']}, {m['platform']}", "",
             "| stage | wall s | CPU s | peak RSS MiB | details |", "|---|---|---|---|---|"]
    for name, r in results["stages"].items():
        details = ", ".join(f"{k}={v}" for k, v in r.items() if k not in ("wall_s", "cpu_s", "peak_rss_mib"))
        lines.append(f"| {name} | {r['wall_s']} | {r['cpu_s']} | {r['peak_rss_mib']} | {details} |")
    lines += ["", "## Targets", "", *targets_table(results["targets"])]
    (RESULTS / f"{stem}.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return RESULTS / f"{stem}.md"
