"""Spark's fixed cost per dbt invocation, next to DuckDB's in the same run.

    python -m benchmarks.spark_fixed_cost [--master local[2]] [--invocations 2]

A one-model project (`select 1`, a table) run with `dbt run`: on DuckDB through userrep.dbt (a
child process, as every DuckDB run); on Spark through userrep.spark in this process, after timing
the SparkSession's start and the registration of the registry's functions. Later Spark invocations
reuse the session, as a long-lived scheduler process would. Results go to
benchmarks/results/spark-fixed-cost-<date>-<time>.json.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import tempfile
import time
from pathlib import Path

from userrep import spark as spark_engine
from userrep.config import REPO_DIR
from userrep.dbt import run_dbt

RESULTS = Path(__file__).resolve().parent / "results"

PROJECT = """
name: userrep
profile: userrep
config-version: 2
flags: {send_anonymous_usage_stats: false}
models:
  userrep:
    +materialized: table
    +file_format: parquet
"""


def trivial_project(root: Path) -> Path:
    (root / "models").mkdir(parents=True)
    (root / "dbt_project.yml").write_text(PROJECT)
    shutil.copy(REPO_DIR / "profiles.yml", root / "profiles.yml")
    (root / "models" / "trivial.sql").write_text("select 1 as x")
    return root


def model_seconds(target: Path) -> float:
    """The model's own execution time, from dbt's run_results.json."""
    results = json.loads((target / "run_results.json").read_text())["results"]
    return sum(r["execution_time"] for r in results)


def timed(action) -> float:
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--master", default="local[2]")
    parser.add_argument("--invocations", type=int, default=2)
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="userrep-spark-cost-"))
    try:
        project, registry, raw = trivial_project(root / "project"), root / "registry", root / "raw"
        rows = []
        for i in range(args.invocations):
            target = root / f"duckdb-target-{i}"
            wall = timed(lambda: run_dbt(["run"], raw_dir=raw, warehouse=root / "duck.duckdb", target_path=target,
                                         registry=registry, project=project))
            rows.append({"engine": "duckdb", "step": f"dbt run #{i + 1} (child process)", "seconds": wall,
                         "model_seconds": model_seconds(target)})
        session = {}
        rows.append({"engine": "spark", "step": f"SparkSession start ({args.master})", "seconds": timed(
            lambda: session.setdefault("spark", spark_engine.spark_session(args.master, root / "spark-warehouse")))})
        spark = session["spark"]
        rows.append({"engine": "spark", "step": "register the registry's functions (empty registry)",
                     "seconds": timed(lambda: spark_engine.register_functions(spark, registry))})
        for i in range(args.invocations):
            target = root / f"spark-target-{i}"
            wall = timed(lambda: spark_engine.run_dbt(["run"], raw_dir=raw, registry=registry, project=project,
                                                      target_path=target, spark=spark))
            rows.append({"engine": "spark", "step": f"dbt run #{i + 1} (in process)", "seconds": wall,
                         "model_seconds": model_seconds(target)})
        spark.stop()
    finally:
        shutil.rmtree(root, ignore_errors=True)
    now = dt.datetime.now(dt.timezone.utc)
    report = {"date": now.date().isoformat(), "master": args.master, "cores": os.cpu_count(),
              "load_average_after": os.getloadavg(), "rows": rows}
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"spark-fixed-cost-{now:%Y%m%d-%H%M%S}.json"
    path.write_text(json.dumps(report, indent=2))
    for row in rows:
        model = f"  (model {row['model_seconds']:.2f} s)" if "model_seconds" in row else ""
        print(f"{row['engine']:7} {row['step']:55} {row['seconds']:7.2f} s{model}")
    print(f"load average after: {report['load_average_after']}; written to {path}")


if __name__ == "__main__":
    main()
