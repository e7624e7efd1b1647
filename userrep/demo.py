"""`make demo`: the whole chain on the synthetic world, in a root of its own, with a short summary.

The demo never reads a USERREP_* path: it works under its own root (default PROJECT/demo/),
which it creates with a marker file. A rerun clears only the paths a demo writes under a root
holding that marker; a non-empty root without it is refused, so no user data is ever deleted.
"""

from __future__ import annotations

import shutil
import time
from contextlib import contextmanager
from pathlib import Path

from userrep.config import ConfigError, Deployment

MARKER = ".userrep-demo"


@contextmanager
def step(echo, label: str, timings: dict):
    echo(f"-> {label}")
    start = time.perf_counter()
    yield
    timings[label] = time.perf_counter() - start
    echo(f"   done in {timings[label]:.1f}s")


def prepare_root(root: Path) -> Deployment:
    """The demo's deployment under `root`, emptied of what an earlier demo wrote there."""
    root = Path(root).resolve()
    if root.exists() and not root.is_dir():
        raise ConfigError(f"the demo's root {root} is a file")
    if root.exists() and any(root.iterdir()) and not (root / MARKER).exists():
        raise ConfigError(
            f"{root} is not empty and was not made by userrep demo (no {MARKER} in it); "
            "the demo deletes what it writes there on every run: give it an empty or new directory with --home"
        )
    root.mkdir(parents=True, exist_ok=True)
    (root / MARKER).write_text("Made by `userrep demo`, which replaces raw/, warehouse/, registry/, published/, reports/ "
                               "and target/ here on every run.\n")
    deployment = Deployment.under(root)
    for path in (deployment.raw, deployment.warehouse.parent, deployment.registry, deployment.published,
                 deployment.reports, root / "target"):
        shutil.rmtree(path, ignore_errors=True)
    deployment.warehouse.parent.mkdir()
    return deployment


def run_demo(root: Path, project: Path, users: int, seed: int, steps: int, echo=print) -> dict:
    from training.downstream import train_downstream
    from training.train import TrainConfig, train_and_register
    from userrep.dbt import run_dbt
    from userrep.publish import publish_downstream, publish_representation
    from userrep.refresh import refresh
    from userrep.registry import Registry
    from userrep.synthetic import WorldConfig, generate_world, land_batch
    from userrep.warehouse import connect

    deployment = prepare_root(root)
    raw, warehouse, registry = deployment.raw, deployment.warehouse, Registry(deployment.registry)
    dbt = {"deployment": deployment, "project": project, "target_path": deployment.home / "target"}
    timings: dict = {}
    echo(f"userrep demo in {deployment.home}")
    with step(echo, f"generate a synthetic world of {users:,} users into {raw}", timings):
        counts = generate_world(WorldConfig(users=users, seed=seed), raw)
        echo(f"   {counts['events']:,} events, {counts['future_events']:,} held-out future events, {counts['items']:,} items")
    with step(echo, "dbt build: staging, quarantine, daily sums, user_features", timings):
        run_dbt(["build"], **dbt)
    with step(echo, "train the autoencoder and register v1", timings):
        manifest = train_and_register(warehouse, registry, TrainConfig(steps=steps, seed=seed), progress=False)
        m = manifest.metrics
        echo(f"   {manifest.input_dim} -> {manifest.latent_dim} floats, val loss {m['val_loss']:.3f}, "
             f"{m['samples_per_second']:,.0f} samples/s, ONNX parity {m['onnx_parity_max_abs_diff']['encoder']:.1e}")
    with step(echo, "publish v1 and encode every user in the warehouse", timings):
        publish_representation("v1", deployment)
        run_dbt(["build", "--select", "tag:published"], **dbt)
    with step(echo, "train a downstream task (podcast propensity) on v1 and score it in SQL", timings):
        task = train_downstream("podcast_propensity", "v1", warehouse, raw, deployment.registry, seed)
        publish_downstream("podcast_propensity", task.version, "v1", deployment)
        run_dbt(["build", "--select", "podcast_propensity_scores"], **dbt)
        echo(f"   test AUC {task.metrics['test_auc']:.3f} from {manifest.latent_dim} floats per user")
    with step(echo, "land a micro-batch (new plays, late and duplicate events, new users) and refresh", timings):
        batch = land_batch(raw, users=200, new_users=20, seed=seed + 1)
        echo(f"   landed {batch['events']} events ({batch['late_events']} late) of {batch['users_with_events']} users, "
             f"{batch['duplicate_events']} duplicates of earlier events, {batch['new_users']} new users")
        refreshed = refresh(deployment, project=project, target_path=dbt["target_path"])
        echo(f"   userrep refresh: {refreshed['users_with_new_features']:,} of {refreshed['users']:,} users had new features, "
             f"re-encoded {refreshed['re_encoded'].get('v1', 0):,} in v1 and rescored "
             f"{refreshed['rescored'].get('podcast_propensity', 0):,} podcast propensities, in {refreshed['seconds']:.1f}s")

    with connect(warehouse) as con:
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
    sql = f"userrep sql --warehouse {_shown(warehouse)}"
    echo(
        f"\nuserrep demo: {encoded:,} of {total_users:,} users encoded by v1 "
        f"(versions live: {', '.join(registry.versions())}); {quarantined:,} raw rows in quarantine.\n"
        f"warehouse: {warehouse}\n  tables: {', '.join(tables)}\n"
        f"registry: {deployment.registry}\n"
        f"query:  {sql} \"select user_id, embedding from user_representation_v1 order by user_id limit 3\"\n"
        f"        {sql} \"select user_id, neighbour_id, neighbour_rank, cosine_similarity from similar_users "
        f"order by user_id, neighbour_rank limit 9\"\n"
        f"total {sum(timings.values()):.0f}s"
    )
    return timings


def _shown(path: Path) -> str:
    """`path` relative to the current directory when it lies below it, else absolute."""
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)
