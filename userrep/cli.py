"""The `userrep` command: the steps dbt does not do, and the demo that chains them."""

from __future__ import annotations

import time
from pathlib import Path

import click

from training.config import TrainConfig
from userrep import config

TRAIN_DEFAULTS = TrainConfig()


def _echo_counts(counts: dict) -> None:
    click.echo("  " + ", ".join(f"{k}={v:,}" if isinstance(v, int) else f"{k}={v}" for k, v in counts.items()))


class UserrepGroup(click.Group):
    """Known failures (dbt, registry, bad input) print their message, not a traceback."""

    def invoke(self, ctx):
        from userrep.dbt import DbtError
        from userrep.registry import RegistryError

        try:
            return super().invoke(ctx)
        except (DbtError, RegistryError, FileNotFoundError, ValueError) as error:
            raise click.ClickException(str(error)) from error


@click.group(cls=UserrepGroup)
@click.version_option()
def cli():
    """Generalized user representations built inside the warehouse."""


@cli.command()
@click.option("--users", default=20_000, show_default=True, help="Number of users.")
@click.option("--seed", default=0, show_default=True)
@click.option("--days", default=365, show_default=True, help="History before as_of.")
@click.option("--future-days", default=30, show_default=True, help="Held-out window after as_of (evaluation only).")
@click.option("--events-per-user", default=100.0, show_default=True)
@click.option("--out", type=click.Path(path_type=Path), default=None, help="Output directory [default: USERREP_RAW_DIR or data/raw].")
@click.option("--monthly-history", is_flag=True, help="One events file per calendar month, as a log split by time lands.")
def generate(users, seed, days, future_days, events_per_user, out, monthly_history):
    """Write a synthetic streaming world in the raw data contract."""
    from tqdm import tqdm

    from userrep.synthetic import WorldConfig, generate_world

    out = out or config.raw_dir()
    cfg = WorldConfig(users=users, seed=seed, days=days, future_days=future_days, events_per_user=events_per_user,
                      monthly_history=monthly_history)
    start = time.perf_counter()
    with tqdm(total=users, unit="user", desc="generate", disable=None) as bar:
        counts = generate_world(cfg, out, progress=bar.update)
    click.echo(f"wrote {out} in {time.perf_counter() - start:.1f}s (as_of {cfg.as_of})")
    _echo_counts(counts)


@cli.command("load-movielens")
@click.argument("path", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--out", type=click.Path(path_type=Path), default=None, help="[default: USERREP_RAW_DIR or data/raw]")
@click.option("--holdout", type=click.Choice(["per-user", "global"]), default="per-user", show_default=True,
              help="per-user: each user's last ratings are their future; global: the last --future-days for everyone.")
@click.option("--future-fraction", default=0.2, show_default=True, help="per-user: the share of each user's ratings held out (at least one).")
@click.option("--future-days", default=28, show_default=True, help="global: the last days of ratings held out as the future window.")
@click.option("--cf-dim", default=32, show_default=True)
@click.option("--seed", default=0, show_default=True)
def load_movielens_cmd(path, out, holdout, future_fraction, future_days, cf_dim, seed):
    """Convert a MovieLens CSV directory (ratings, movies, tags) into the raw data contract."""
    from userrep.movielens import dbt_vars, load_movielens

    out = out or config.raw_dir()
    counts = load_movielens(path, out, holdout=holdout, future_fraction=future_fraction, future_days=future_days,
                            cf_dim=cf_dim, seed=seed)
    within = counts.pop("users_with_an_event_within")
    horizons = counts.pop("horizons")
    click.echo(f"wrote {out} ({holdout} holdout)")
    _echo_counts(counts)
    click.echo("  users with a rating within: " + ", ".join(f"{h}d {n:,}" for h, n in within.items()) + f" (of {counts['users']:,})")
    click.echo(f"  horizons that fit this history: {horizons}")
    click.echo(f"build with: USERREP_RAW_DIR={out} dbt build --vars '{dbt_vars(counts['as_of'], horizons)}'")


@cli.command("fit-cf-encoder")
@click.argument("events", type=click.Path(exists=True, path_type=Path))
@click.option("--out", type=click.Path(path_type=Path), required=True, help="item_embeddings parquet to write or update.")
@click.option("--name", default="cf", show_default=True, help="Encoder name (its earlier rows in --out are replaced).")
@click.option("--dim", default=32, show_default=True)
@click.option("--min-users", default=2, show_default=True, help="Items seen by fewer users get no embedding.")
@click.option("--seed", default=0, show_default=True)
def fit_cf_encoder_cmd(events, out, name, dim, min_users, seed):
    """Fit a collaborative item encoder (PPMI + truncated SVD) from any event log."""
    from userrep.item_encoders import fit_cf_encoder, write_encoder

    table = fit_cf_encoder(events, dim=dim, min_users=min_users, seed=seed, encoder=name)
    write_encoder(table, out)
    click.echo(f"encoder {name}: {table.num_rows:,} items x {dim} dims -> {out}")


@cli.command()
@click.option("--as-of", default=None, help="Feature day (YYYY-MM-DD) [default: latest event day].")
@click.option("--select", "selector", default=None, help="dbt selector, e.g. tag:nrt.")
@click.option("--full-refresh", is_flag=True, help="Rebuild incremental models from scratch.")
def build(as_of, selector, full_refresh):
    """`dbt build` the project: staging, features, published representations and their tests."""
    from userrep.dbt import run_dbt

    args = ["build"] + (["--select", selector] if selector else []) + (["--full-refresh"] if full_refresh else [])
    start = time.perf_counter()
    run_dbt(args, {"as_of": as_of} if as_of else None, quiet=False)
    click.echo(f"built {config.warehouse_path()} in {time.perf_counter() - start:.1f}s")


@cli.command()
@click.option("--latent-dim", default=TRAIN_DEFAULTS.latent_dim, show_default=True)
@click.option("--hidden", default=",".join(map(str, TRAIN_DEFAULTS.hidden)), show_default=True,
              help="Encoder hidden sizes (decoder mirrors them).")
@click.option("--steps", default=TRAIN_DEFAULTS.steps, show_default=True, help="Optimizer steps, whatever the number of users.")
@click.option("--batch-size", default=TRAIN_DEFAULTS.batch_size, show_default=True)
@click.option("--lr", default=TRAIN_DEFAULTS.lr, show_default=True, help="Peak learning rate (warm-up, then cosine decay).")
@click.option("--sample", default=TRAIN_DEFAULTS.sample, show_default=True, help="Train on at most this many users (0: all).")
@click.option("--seed", default=0, show_default=True)
@click.option("--align-to", default=None, help="Version whose space the new one joins [default: the latest version].")
@click.option("--no-align", is_flag=True, help="Start a new space: downstream models of earlier versions will not fit it.")
def train(latent_dim, hidden, steps, batch_size, lr, sample, seed, align_to, no_align):
    """Train the autoencoder on user_features and register the next version (v1, v2, ...).

    A new version is aligned to the latest one by default: its vectors stay in the same space, so
    downstream models fitted on earlier versions of that space keep working."""
    from training.train import train_and_register
    from userrep.registry import Registry

    if align_to and no_align:
        raise click.UsageError("--align-to and --no-align contradict each other")
    cfg = TrainConfig(latent_dim=latent_dim, hidden=[int(h) for h in hidden.split(",") if h], steps=steps,
                      batch_size=batch_size, lr=lr, sample=sample or None, seed=seed)
    registry = Registry()
    manifest = train_and_register(config.warehouse_path(), registry, cfg, align_to=align_to, no_align=no_align,
                                  raw_dir=config.raw_dir(), echo=click.echo)
    m = manifest.metrics
    click.echo(
        f"registered {manifest.version} at {registry.path(manifest.version)}: {manifest.input_dim} -> {manifest.latent_dim} floats, "
        f"{m['steps']:,} steps ({m['epochs']:g} epochs), val loss {m['val_loss']:.4f} (new-user mask {m['val_new_user_loss']:.4f}), "
        f"{m['train_seconds']:.1f}s at {m['samples_per_second']:,.0f} samples/s, "
        f"ONNX parity {max(m['onnx_parity_max_abs_diff'].values()):.1e}"
    )
    a = manifest.alignment
    click.echo(f"space {manifest.representation_space}" + (
        f": aligned to {manifest.aligned_to}, mean cosine {a['mean_cosine_held_out_users']:.4f} on held-out users"
        + ("; retention " + ", ".join(f"{t} {r:.3f}" for t, r in a["retention"].items() if r is not None)
           if isinstance(a.get("retention"), dict) else "") if manifest.aligned_to else " (new)"))


@cli.command()
@click.argument("version")
@click.option("--deprecation-date", default=None, help="ISO date after which dbt warns users of this version.")
@click.option("--downstream", "tasks", multiple=True, metavar="TASK",
              help="Also move TASK's published scores to VERSION (same space: the model is kept, not retrained).")
def publish(version, deprecation_date, tasks):
    """Add registry VERSION (e.g. v2) to the dbt project as user_representation version N."""
    from userrep.publish import move_downstream, publish_representation, published_dir

    state = publish_representation(version, deprecation_date=deprecation_date)
    for task in tasks:
        state = move_downstream(task, version)
    moved = "".join(f"; {t} {state['downstream'][t]['model_version']} now scores {version} (space {state['downstream'][t]['space']})"
                    for t in tasks)
    click.echo(
        f"published {version} into {published_dir()} (live: {', '.join(sorted(state['representations']))}){moved}; "
        f"build it with: dbt build --select user_representation" + (" " + " ".join(f"{t}_scores" for t in tasks) if tasks else "")
    )


@cli.command("train-downstream")
@click.argument("task")
@click.option("--version", "representation_version", required=True, help="Representation version to train on, e.g. v1.")
@click.option("--seed", default=0, show_default=True)
def train_downstream_cmd(task, representation_version, seed):
    """Train TASK (e.g. podcast_propensity) on a representation, register it and publish its scores model."""
    from training.downstream import train_downstream
    from userrep.publish import publish_downstream

    manifest = train_downstream(task, representation_version, config.warehouse_path(), config.raw_dir(), config.registry_dir(), seed)
    publish_downstream(task, manifest.version, representation_version)
    click.echo(
        f"{task} {manifest.version} on representation {representation_version} (space {manifest.extra['space']}): test AUC "
        f"{manifest.metrics['test_auc']:.3f} (positive rate {manifest.metrics['positive_rate']:.2f}); scores model {task}_scores "
        f"published; it scores every version of space {manifest.extra['space']} (move it with `userrep publish vN --downstream {task}`)"
    )


@cli.command()
@click.option("--version", "version", required=True, help="Registry version to evaluate, e.g. v1.")
@click.option("--out", type=click.Path(path_type=Path), default=None, help="[default: reports/<version>]")
@click.option("--folds", default=5, show_default=True, help="Cross-validation folds.")
@click.option("--repeats", default=3, show_default=True, help="Seeds of the fold assignment (each a full cross-validation).")
@click.option("--max-users", default=20_000, show_default=True, help="Evaluate a fixed sample of at most this many users (0: all).")
def evaluate(version, out, folds, repeats, max_users):
    """Downstream tasks, baselines and cohorts with their spread: writes a report with plots and metrics.json."""
    from userrep.evaluate import EvalSettings, load_eval_data
    from userrep.evaluate import evaluate as run_evaluation
    from userrep.registry import Registry
    from userrep.report import write_report
    from userrep.stability import stability_section

    registry = Registry()
    settings = EvalSettings(folds=folds, seeds=tuple(range(repeats)), max_users=max_users or None)
    data = load_eval_data(config.warehouse_path(), config.raw_dir(), registry, version, max_users=settings.max_users)
    results = run_evaluation(data, settings)
    results["stability"] = stability_section(config.warehouse_path(), registry, version, data, settings, echo=click.echo)
    index = write_report(results, data, out or Path("reports") / version, registry.path(version) / "loss_curve.png")
    click.echo(f"report: {index}")
    for check in results["targets"]:
        spread = "" if check["difference"] is None else f", difference {check['difference']:+.3f} ± {check['spread']:.3f}"
        click.echo(f"  [{check['status']}] {check['task']} ({check['metric']}, {check['cohort']}, {check['n']:,} users): "
                   f"{check['target']}: {check['method']:.3f} vs {check['baseline']:.3f}{spread}"
                   if check["method"] is not None and check["baseline"] is not None else
                   f"  [{check['status']}] {check['task']} ({check['metric']}, {check['cohort']}, {check['n']:,} users): {check['target']}")
    section = results["stability"]
    for task, entry in section.get("tasks", {}).items():
        for base, kept in entry["retention"].items():
            aligned, unaligned = kept["aligned"], kept["unaligned"]
            if aligned["mean"] is not None:
                click.echo(f"  [{aligned['status']}] {task}: a {base} model keeps {aligned['mean']:.3f} of its AUC on {version} "
                           f"(unaligned retrain: {unaligned['mean']:.3f})")
        if entry["own_quality"] and entry["own_quality"]["mean"] is not None:
            click.echo(f"  [{entry['own_quality']['status']}] {task}: {version}'s own AUC is {entry['own_quality']['mean']:.3f} "
                       "of an unaligned retrain's")
    if section.get("note"):
        click.echo(f"  stability: {section['note']}")


@cli.command()
@click.option("--users", default=100_000, show_default=True, help="Scale world size (1000000 with --events-per-user 113: 100.1M events).")
@click.option("--events-per-user", default=100.0, show_default=True, help="Over the whole history.")
@click.option("--days", default=365, show_default=True, help="Days of history (with --events-per-user, the rate of plays).")
@click.option("--monthly-history", is_flag=True, help="The history in one file per calendar month.")
@click.option("--root", type=click.Path(path_type=Path), default=Path("benchmarks/worlds"), show_default=True)
@click.option("--no-demo", is_flag=True, help="Skip timing `userrep demo`.")
def bench(users, events_per_user, days, monthly_history, root, no_demo):
    """Measure every stage (features vs scipy.sparse, refresh, training, encoding, end to end)."""
    from benchmarks.run import run_bench

    results = run_bench(users, root.resolve(), events_per_user, demo=not no_demo, days=days, monthly_history=monthly_history)
    click.echo(f"results: {results}")


@cli.command()
def refresh():
    """Near-real-time refresh: new event files and new users to every published version."""
    from userrep.refresh import refresh as run_refresh

    result = run_refresh()
    click.echo(
        f"refreshed in {result['seconds']:.1f}s: {result['new_event_files']} new event file(s), "
        f"{result['users_with_new_features']:,} of {result['users']:,} users with new features, re-encoded "
        + (", ".join(f"{v}: {n:,}" for v, n in result["re_encoded"].items()) or "no published version")
    )


@cli.command("land-batch")
@click.option("--users", default=200, show_default=True, help="Existing users with new plays.")
@click.option("--new-users", default=20, show_default=True, help="Users who just signed up (onboarding picks only).")
@click.option("--next-day", is_flag=True, help="Put the plays on the day after the latest one (as_of moves).")
@click.option("--seed", default=1, show_default=True)
def land_batch_cmd(users, new_users, next_day, seed):
    """Simulate a micro-batch landing in the raw directory (for demos and benchmarks)."""
    from userrep.synthetic import land_batch

    click.echo(land_batch(config.raw_dir(), users, new_users, seed, next_day=next_day))


@cli.command()
@click.option("--users", default=20_000, show_default=True)
@click.option("--seed", default=0, show_default=True)
@click.option("--steps", default=TRAIN_DEFAULTS.steps, show_default=True, help="Training steps of the autoencoder.")
def demo(users, seed, steps):
    """The main job on the embedded synthetic world, end to end, from a clean slate."""
    from userrep.demo import run_demo

    run_demo(users=users, seed=seed, steps=steps, echo=click.echo)


if __name__ == "__main__":
    cli()
