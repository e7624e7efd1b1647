"""`make demo`: the whole chain on the synthetic world, with a short summary at the end."""

from __future__ import annotations

import shutil
import time
from contextlib import contextmanager

import duckdb

from userrep import config


@contextmanager
def step(echo, label: str, timings: dict):
    echo(f"-> {label}")
    start = time.perf_counter()
    yield
    timings[label] = time.perf_counter() - start
    echo(f"   done in {timings[label]:.1f}s")


def reset_outputs() -> None:
    """The demo owns the default locations: it starts them afresh so reruns give the same result."""
    from userrep.publish import published_dir

    for path in (config.raw_dir(), config.registry_dir(), published_dir()):
        shutil.rmtree(path, ignore_errors=True)
    for suffix in ("", ".wal"):
        config.warehouse_path().with_name(config.warehouse_path().name + suffix).unlink(missing_ok=True)


def run_demo(users: int, seed: int, steps: int, echo=print) -> dict:
    from training.downstream import train_downstream
    from training.train import TrainConfig, train_and_register
    from userrep.dbt import run_dbt
    from userrep.publish import publish_downstream, publish_representation
    from userrep.refresh import refresh
    from userrep.registry import Registry
    from userrep.synthetic import WorldConfig, generate_world, land_batch

    raw, warehouse, registry = config.raw_dir(), config.warehouse_path(), Registry()
    timings: dict = {}
    reset_outputs()
    with step(echo, f"generate a synthetic world of {users:,} users into {raw}", timings):
        counts = generate_world(WorldConfig(users=users, seed=seed), raw)
        echo(f"   {counts['events']:,} events, {counts['future_events']:,} held-out future events, {counts['items']:,} items")
    with step(echo, "dbt build: staging, quarantine, daily sums, user_features", timings):
        run_dbt(["build"])
    with step(echo, "train the autoencoder and register v1", timings):
        manifest = train_and_register(warehouse, registry, TrainConfig(steps=steps, seed=seed), progress=False)
        m = manifest.metrics
        echo(f"   {manifest.input_dim} -> {manifest.latent_dim} floats, val loss {m['val_loss']:.3f}, "
             f"{m['samples_per_second']:,.0f} samples/s, ONNX parity {m['onnx_parity_max_abs_diff']['encoder']:.1e}")
    with step(echo, "publish v1 and encode every user in the warehouse", timings):
        publish_representation("v1")
        run_dbt(["build", "--select", "path:models/published"])
    with step(echo, "train a downstream task (podcast propensity) on v1 and score it in SQL", timings):
        task = train_downstream("podcast_propensity", "v1", warehouse, raw, config.registry_dir(), seed)
        publish_downstream("podcast_propensity", task.version, "v1")
        run_dbt(["build", "--select", "podcast_propensity_scores"])
        echo(f"   test AUC {task.metrics['test_auc']:.3f} from 64 floats per user")
    with step(echo, "land a micro-batch (new plays, late and duplicate events, new users) and refresh", timings):
        batch = land_batch(raw, users=200, new_users=20, seed=seed + 1)
        echo(f"   landed {batch['events']} events ({batch['late_events']} late) of {batch['users_with_events']} users, "
             f"{batch['duplicate_events']} duplicates of earlier events, {batch['new_users']} new users")
        refreshed = refresh()
        echo(f"   userrep refresh: {refreshed['users_with_new_features']:,} of {refreshed['users']:,} users had new features, "
             f"re-encoded {refreshed['re_encoded'].get('v1', 0):,} in v1, in {refreshed['seconds']:.1f}s")

    with duckdb.connect(str(warehouse), read_only=True) as con:
        encoded = con.execute("select count(*) from user_representation_v1").fetchone()[0]
        total_users = con.execute("select count(*) from user_features").fetchone()[0]
        quarantined = sum(
            con.execute(f"select count(*) from quarantine_{name}").fetchone()[0]
            for name in ("events", "items", "item_embeddings", "users", "onboarding")
        )
        tables = [r[0] for r in con.execute(
            "select table_name from information_schema.tables where table_name like 'user_representation%' "
            "or table_name in ('similar_users', 'podcast_propensity_scores', 'representation_models') order by 1"
        ).fetchall()]
    echo(
        f"\nuserrep demo: {encoded:,} of {total_users:,} users encoded by v1 "
        f"(versions live: {', '.join(registry.versions())}); {quarantined:,} raw rows in quarantine.\n"
        f"warehouse: {warehouse}\n  tables: {', '.join(tables)}\n"
        f"registry: {config.registry_dir()}\n"
        f"query:  duckdb {warehouse} \"select user_id, embedding from user_representation_v1 limit 3\"\n"
        f"        duckdb {warehouse} \"select * from similar_users where neighbour_rank <= 3 limit 9\"\n"
        f"total {sum(timings.values()):.0f}s"
    )
    return timings
