"""One benchmark stage per process, so its wall time, CPU time and peak memory are its own.

    python -m benchmarks.stages STAGE WORLD_DIR   (prints one JSON line with the stage's extra numbers)
"""

from __future__ import annotations

import json
import os
import re
import sys
import time
from pathlib import Path

import duckdb
import numpy as np
import yaml

from userrep.dbt import run_dbt


def world_env(world: Path) -> dict:
    """dbt arguments for a benchmark world: its own project copy (published versions included) and
    absolute paths, so a stage run by hand matches the harness (dbt runs in the project directory,
    and a target reused by another project fails partial parsing)."""
    world = Path(world).resolve()
    return {"home": world, "raw_dir": world / "raw", "warehouse": world / "warehouse.duckdb", "registry": world / "registry",
            "target_path": world / "target", "project": world / "project"}


def features(world: Path) -> dict:
    """Full build of user_features from raw (incremental state dropped first)."""
    run_dbt(["run", "--full-refresh", "--exclude", "tag:published"], **world_env(world))
    return {}


def full_build(world: Path) -> dict:
    """Every model from raw, the published representation versions included (incremental state dropped first)."""
    run_dbt(["run", "--full-refresh"], **world_env(world))
    return {}


def refresh(world: Path) -> dict:
    """`userrep refresh` of whatever landed since the last run."""
    from userrep.refresh import refresh as run_refresh

    return run_refresh(**world_env(world))


def encoder_horizons(world: Path) -> dict:
    """The aggregation on its own: every encoder's weighted means over every horizon,
    from the raw events. dbt builds the encoder daily sums from scratch (deduplicated, one statement
    per user range) and the users to compute; then the view int_user_encoder_horizons_averaged, which
    user_features reads, is computed into a temporary table."""
    env = world_env(world)
    started = time.perf_counter()
    run_dbt(["run", "--full-refresh", "--select", "+int_user_encoder_horizons_averaged"], **env)  # with time_features anchored, the last event days too
    daily_sums_s = time.perf_counter() - started
    con = profile_connection(env["warehouse"], env["project"])
    started = time.perf_counter()
    # a temporary table, as user_features holds it: in memory, never written to the warehouse file
    con.execute("create temp table encoder_horizons as select * from int_user_encoder_horizons_averaged")
    horizon_means_s = time.perf_counter() - started
    rows = con.execute("select count(*) from encoder_horizons where horizon_days = (select max(horizon_days) from encoder_horizons)").fetchone()[0]
    daily_rows = con.execute("select count(*) from int_user_encoder_days_summed").fetchone()[0]
    con.close()
    return {"daily_sums_s": round(daily_sums_s, 2), "horizon_means_s": round(horizon_means_s, 2),
            "user_encoder_rows": rows, "daily_sum_rows": daily_rows}


def profile_settings(project: Path) -> dict:
    """The DuckDB settings of the project's dbt profile (env_var defaults filled in), so that a query
    timed outside dbt runs as it does inside."""
    settings = yaml.safe_load((project / "profiles.yml").read_text())["userrep"]["outputs"]["dev"]["settings"]
    env_var = re.compile(r"\{\{\s*env_var\('(\w+)',\s*'([^']*)'\)\s*\}\}")
    return {name: env_var.sub(lambda m: os.environ.get(m[1], m[2]), value) if isinstance(value, str) else value
            for name, value in settings.items()}


def profile_connection(warehouse: Path, project: Path):
    """A connection to the warehouse with the settings dbt's runs have."""
    con = duckdb.connect(str(warehouse))
    for name, value in profile_settings(project).items():
        con.execute(f"set {name} = '{value}'")
    return con


def scipy_sparse(world: Path) -> dict:
    """The peer: events read from DuckDB, one CSR (user x item) per disjoint age bucket, sparse
    product with each encoder's item matrix, nested horizons rolled up, weighted means written back."""
    import pyarrow as pa
    import scipy.sparse as sp

    con = duckdb.connect(str(world / "warehouse.duckdb"))
    (plan,) = con.execute("select horizons from run_plan order by planned_at desc limit 1").fetchall()  # fetchall: the result must be finished before the next query
    horizons = [int(h) for h in plan[0].split(",")]
    t0 = time.perf_counter()
    users = con.sql("select user_id from stg_raw__users order by 1").fetchnumpy()["user_id"]
    items = con.sql("select item_id from stg_raw__items order by 1").fetchnumpy()["item_id"]
    events = con.sql(f"""
        select u.i as u, it.i as it, e.weight, date_diff('day', e.event_day, a.as_of) as age
        from stg_raw__events e
        join (select user_id, row_number() over (order by user_id) - 1 as i from stg_raw__users) u using (user_id)
        join (select item_id, row_number() over (order by item_id) - 1 as i from stg_raw__items) it using (item_id)
        cross join (select as_of from run_plan order by planned_at desc limit 1) a where date_diff('day', e.event_day, a.as_of) < {max(horizons)}""").fetchnumpy()
    read_s = time.perf_counter() - t0
    t1 = time.perf_counter()
    edges = [0] + horizons
    buckets = [sp.csr_matrix(((events["weight"][m]), (events["u"][m], events["it"][m])), shape=(len(users), len(items)))
               for lo, hi in zip(edges[:-1], edges[1:]) for m in [(events["age"] >= lo) & (events["age"] < hi)]]
    csr_s = time.perf_counter() - t1
    encoders = [r[0] for r in con.execute("select distinct encoder from stg_raw__item_embeddings order by 1").fetchall()]
    product_s, outputs = 0.0, {}
    for enc in encoders:
        emb = con.sql(f"""select it.i, e.embedding from stg_raw__item_embeddings e
            join (select item_id, row_number() over (order by item_id) - 1 as i from stg_raw__items) it using (item_id)
            where encoder = '{enc}'""").fetchnumpy()
        matrix = np.zeros((len(items), len(emb["embedding"][0])), np.float32)
        matrix[emb["i"]] = np.stack(emb["embedding"])
        has = np.zeros(len(items), np.float32)
        has[emb["i"]] = 1.0
        t2 = time.perf_counter()
        sums = [b @ matrix for b in buckets]
        weights = [b @ has for b in buckets]
        for h in range(1, len(horizons)):  # nested horizons are running sums of disjoint buckets
            sums[h] += sums[h - 1]
            weights[h] += weights[h - 1]
        means = [s / np.where(w > 0, w, 1)[:, None] for s, w in zip(sums, weights)]
        product_s += time.perf_counter() - t2
        outputs[enc] = np.concatenate(means, axis=1).astype(np.float32)
    t3 = time.perf_counter()
    wide = np.concatenate([outputs[e] for e in encoders], axis=1)
    scipy_features = pa.table({"user_id": users, "features": pa.FixedSizeListArray.from_arrays(pa.array(wide.reshape(-1)), wide.shape[1])})
    con.execute("create or replace table bench_scipy_features as select * from scipy_features")
    write_s = time.perf_counter() - t3
    return {"events": int(len(events["u"])), "read_s": round(read_s, 2), "csr_s": round(csr_s, 2),
            "sparse_product_s": round(product_s, 2), "write_s": round(write_s, 2)}


def refresh_one_percent(world: Path) -> dict:
    """A batch of 1% of the events landing on 1% of the users (some late, some duplicates), then
    `userrep refresh`: features and every published version, for the touched users only."""
    users = one_percent_of_users(world)
    # raw rows per loaded file: counting the deduplicated view would rescan the whole history
    plays = max(round(con_count(world, "select sum(raw_rows) from run_plan_event_files where change != 'removed'") / 100 / users), 1)
    return _refresh_batch(world, users, plays)


def refresh_small_batch(world: Path) -> dict:
    """The same 1% of the users with 1-5 plays each: as many users, about 30x fewer events."""
    return _refresh_batch(world, one_percent_of_users(world), 3)


def refresh_1k_users(world: Path) -> dict:
    """1,000 users with 1-5 plays each: a tenth of refresh_10k_users' batch on the same world."""
    return _refresh_batch(world, min(1_000, user_count(world)), 3, salt=1)


def refresh_10k_users(world: Path) -> dict:
    """10,000 users with 1-5 plays each, whatever the history: the same batch on every world size,
    so that comparing sizes shows what the history adds to a refresh."""
    return _refresh_batch(world, min(10_000, user_count(world)), 3, salt=2)


def refresh_next_day(world: Path) -> dict:
    """The nightly run: 10,000 users with 1-5 plays on the day after the history. as_of moves, so
    every user is recomputed; the versions re-encode the users whose vector moved: the batch's, and
    those whose windows lost an event or whose recency or tenure stepped (time_features sliding),
    or whose oldest kept day left the longest horizon (anchored)."""
    return _refresh_batch(world, min(10_000, user_count(world)), 3, next_day=True)


def _refresh_batch(world: Path, users: int, plays: int, next_day: bool = False, salt: int = 0) -> dict:
    """`salt` keeps stages of equal size apart: 1% of the users is 1,000 at 100k and 10,000 at 1M,
    and the same seed would land the same plays again (all duplicates, nothing to recompute)."""
    from userrep.refresh import refresh
    from userrep.synthetic import land_batch

    batch = land_batch(world / "raw", users=users, new_users=0, seed=7 + users + plays + next_day + salt, plays_per_user=plays,
                       next_day=next_day)
    result = refresh(**world_env(world))
    return {"batch_users": users, "batch_events": batch["events"], **result}


def watch_1k_users(world: Path, batches: int = 5) -> dict:
    """`userrep watch` running; batches of 1,000 users with 1-5 plays land one after another, each
    once the previous one is represented. Latency: from the batch's files being in place to the
    watcher's line saying its users are represented (median and every batch)."""
    import signal
    import statistics
    import subprocess

    from userrep.synthetic import land_batch

    env = world_env(world)
    names = {"USERREP_HOME": env["home"], "USERREP_RAW_DIR": env["raw_dir"], "USERREP_WAREHOUSE": env["warehouse"],
             "USERREP_REGISTRY": env["registry"], "USERREP_PROJECT_DIR": env["project"]}
    watcher = subprocess.Popen([str(Path(sys.executable).with_name("userrep")), "watch", "--interval", "0.2"],
                               env={**os.environ, **{k: str(v) for k, v in names.items()}}, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True)

    def next_refresh() -> str:
        for line in watcher.stdout:
            if line.startswith("refreshed in") or line.startswith("refresh failed"):
                return line.strip()
        raise RuntimeError("userrep watch stopped")

    catch_up = next_refresh()
    latencies, refreshes = [], []
    for batch in range(batches):
        land_batch(world / "raw", users=min(1_000, user_count(world)), new_users=0, seed=1_000 + batch, plays_per_user=3)
        landed = time.perf_counter()
        refreshes.append(next_refresh())
        latencies.append(round(time.perf_counter() - landed, 2))
    watcher.send_signal(signal.SIGTERM)
    watcher.wait(timeout=120)
    return {"batches": batches, "median_latency_s": round(statistics.median(latencies), 2), "latencies_s": latencies,
            "catch_up": catch_up, "last_refresh": refreshes[-1]}


def user_count(world: Path) -> int:
    return con_count(world, "select count(*) from stg_raw__users")


def one_percent_of_users(world: Path) -> int:
    return max(user_count(world) // 100, 1)


def con_count(world: Path, sql: str) -> int:
    with duckdb.connect(str(world / "warehouse.duckdb"), read_only=True) as con:
        return con.execute(sql).fetchone()[0]


def training(world: Path) -> dict:
    from training.train import TrainConfig, train_and_register
    from userrep.registry import Registry

    manifest = train_and_register(world / "warehouse.duckdb", Registry(world / "registry"), TrainConfig(sample=200_000),
                                  progress=False)
    m = manifest.metrics
    return {"version": manifest.version, "rows": manifest.training_data["sampled_rows"], "steps": m["steps"], "epochs": m["epochs"],
            "train_seconds": m["train_seconds"], "seconds_per_1000_steps": round(1000 * m["train_seconds"] / m["steps"], 2),
            "samples_per_second": m["samples_per_second"], "val_loss": round(m["val_loss"], 4)}


def encoding(world: Path, repeats: int = 3) -> dict:
    """The same features three ways: raw onnxruntime, the in-warehouse UDF, export + ORT + write back.

    Raw onnxruntime runs at its best on this machine: one caller with every core (the function's
    solo session). The UDF is timed writing its table, as the encode model does, and without the
    write (its output only counted), to tell the function's cost from the table's. Each way runs
    `repeats` times, interleaved; the medians are reported, because a single run of a few seconds
    on a shared 2-core machine varied by 2x. The connection has the dbt profile's settings.
    """
    import statistics

    import pyarrow as pa

    from python_udfs.catalog import registry_functions
    from python_udfs.userrep_udfs import register
    from training.data import features_matrix
    from userrep.registry import Registry

    version = Registry(world / "registry").latest()
    con = profile_connection(world / "warehouse.duckdb", world / "project")
    specs = {s.sql_name: s for s in registry_functions(world / "registry")}
    spec = specs[f"userrep_encode_{version}"]
    register(con, spec)
    n = con.execute("select count(*) from user_features").fetchone()[0]
    con.execute("create or replace temp table bench_in as select * from user_features")  # same input for all three

    started = time.perf_counter()
    matrix = features_matrix(con.sql("select features from bench_in").to_arrow_table().column("features"), spec.input_dim)
    export_s = time.perf_counter() - started

    def raw() -> float:
        started = time.perf_counter()
        for i in range(0, n, 2048):
            spec.function.run(matrix[i : i + 2048])
        return time.perf_counter() - started

    def udf() -> float:
        started = time.perf_counter()
        con.execute(f"create or replace table bench_udf as select user_id, userrep_encode_{version}(features, feature_schema_hash) as e from bench_in")
        return time.perf_counter() - started

    def udf_no_write() -> float:
        started = time.perf_counter()
        con.execute(f"select count(*) from (select userrep_encode_{version}(features, feature_schema_hash) as e from bench_in) "
                    "where e[1] is not null").fetchall()
        return time.perf_counter() - started

    def roundtrip() -> float:
        started = time.perf_counter()
        table = con.sql("select user_id, features from bench_in").to_arrow_table()
        exported = features_matrix(table.column("features"), spec.input_dim)
        out = np.concatenate([spec.function.run(exported[i : i + 65536]) for i in range(0, n, 65536)])
        back = pa.table({"user_id": table.column("user_id"), "e": pa.FixedSizeListArray.from_arrays(pa.array(out.reshape(-1)), out.shape[1])})
        con.execute("create or replace table bench_roundtrip as select * from back")
        return time.perf_counter() - started

    seconds = {"raw_onnxruntime": [], "udf": [], "udf_no_write": [], "roundtrip": []}
    for _ in range(repeats):
        for name, way in (("raw_onnxruntime", raw), ("udf", udf), ("udf_no_write", udf_no_write), ("roundtrip", roundtrip)):
            seconds[name].append(way())
    median = {name: statistics.median(runs) for name, runs in seconds.items()}
    con.execute("drop table bench_udf; drop table bench_roundtrip")
    return {"users": n, **{f"{name}_users_per_s": round(n / median[name]) for name in seconds},
            "udf_vs_raw": round(median["raw_onnxruntime"] / median["udf"], 3),
            "udf_no_write_vs_raw": round(median["raw_onnxruntime"] / median["udf_no_write"], 3), "export_s": round(export_s, 2), "repeats": repeats,
            **{f"{name}_runs_users_per_s": [round(n / s) for s in runs] for name, runs in seconds.items()}}


STAGES = {f.__name__: f for f in [features, full_build, refresh, encoder_horizons, scipy_sparse, refresh_one_percent, refresh_small_batch, refresh_1k_users, refresh_10k_users,
                                   watch_1k_users, refresh_next_day, training, encoding]}

if __name__ == "__main__":
    stage, world = sys.argv[1], Path(sys.argv[2])
    print(json.dumps(STAGES[stage](world)))
