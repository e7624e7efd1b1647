"""The `userrep` command: the steps dbt does not do, and the demo that chains them."""

from __future__ import annotations

import dataclasses
import json
import os
import time
from pathlib import Path

import click

from training.config import TrainConfig
from userrep import config
from userrep.config import ENVIRONMENT, Deployment

# Which variables each kind of command reads (listed by its --help).
LOCATING = ("USERREP_HOME", "USERREP_PROJECT_DIR")
DBT_RUN = (*LOCATING, "USERREP_RAW_DIR", "USERREP_WAREHOUSE", "USERREP_REGISTRY", "USERREP_MEMORY_LIMIT",
           "USERREP_SPARK_MASTER", "USERREP_SPARK_WAREHOUSE")


def reads(*names: str) -> str:
    """A command's epilog listing the USERREP_* variables it reads."""
    if not names:
        return "\b\nEnvironment: reads no USERREP_* variable."
    width = max(map(len, names))
    return "\b\nEnvironment (read by this command):\n" + "\n".join(f"  {n.ljust(width)}  {ENVIRONMENT[n]}" for n in names)


def current_deployment() -> Deployment:
    """This invocation's deployment, resolved once (from --home and the environment)."""
    root = click.get_current_context().find_root()
    if root.obj is None:
        root.obj = Deployment.from_env()
    return root.obj


def parse_vars(text: str | None) -> dict | None:
    """dbt's --vars: a YAML mapping, checked here so a typo fails in one line before dbt starts."""
    import yaml

    if not text:
        return None
    try:
        value = yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise click.BadParameter(f"not YAML: {str(error).splitlines()[0]}", param_hint="--vars") from None
    if not isinstance(value, dict):
        raise click.BadParameter(f"expected a mapping such as '{{as_of: 2018-08-27}}', got {text!r}", param_hint="--vars")
    return value

TRAIN_DEFAULTS = TrainConfig()


def _echo_counts(counts: dict) -> None:
    click.echo("  " + ", ".join(f"{k}={v:,}" if isinstance(v, int) else f"{k}={v}" for k, v in counts.items()))


class UserrepGroup(click.Group):
    """Known failures (dbt, registry, a busy warehouse, bad input) print their message, not a traceback."""

    def invoke(self, ctx):
        import duckdb

        from userrep.dbt import DbtError
        from userrep.registry import RegistryError
        from userrep.warehouse import WarehouseBusy, busy_error

        try:
            return super().invoke(ctx)
        except duckdb.IOException as error:
            busy = busy_error(str(error))
            raise click.ClickException(str(busy or error)) from error
        except (DbtError, RegistryError, WarehouseBusy, config.ConfigError, FileNotFoundError, ValueError,
                duckdb.Error) as error:
            raise click.ClickException(str(error)) from error


@click.group(cls=UserrepGroup)
@click.option("--home", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="The deployment's root (sets USERREP_HOME) [default: USERREP_HOME, else the dbt project directory].")
@click.version_option()
def cli(home):
    """Generalized user representations built inside the warehouse.

    \b
    One deployment lives under one root, HOME (--home or USERREP_HOME, default the dbt project):
      HOME/raw/                      raw parquet              (USERREP_RAW_DIR overrides)
      HOME/warehouse/userrep.duckdb  the DuckDB warehouse     (USERREP_WAREHOUSE overrides)
      HOME/registry/                 the model registry       (USERREP_REGISTRY overrides)
      HOME/published/                `userrep publish` output, a dbt model path
      HOME/reports/                  `userrep evaluate` output
    """
    if home is not None:
        os.environ["USERREP_HOME"] = str(home.resolve())  # dbt and every path below follow it


@cli.command(epilog=reads(*LOCATING, "USERREP_RAW_DIR"))
@click.option("--users", default=20_000, show_default=True, help="Number of users.")
@click.option("--seed", default=0, show_default=True)
@click.option("--days", default=365, show_default=True, help="History before as_of.")
@click.option("--future-days", default=30, show_default=True, help="Held-out window after as_of (evaluation only).")
@click.option("--events-per-user", default=100.0, show_default=True)
@click.option("--out", type=click.Path(path_type=Path), default=None, help="Output directory [default: HOME/raw].")
@click.option("--monthly-history", is_flag=True, help="One events file per calendar month, as a log split by time lands.")
@click.option("--replace", is_flag=True, help="Delete a non-empty --out first (refused without it).")
def generate(users, seed, days, future_days, events_per_user, out, monthly_history, replace):
    """Write a synthetic streaming world in the raw data contract."""
    from tqdm import tqdm

    from userrep.synthetic import WorldConfig, generate_world

    out = (out or current_deployment().raw).resolve()
    if out.exists() and any(out.iterdir()) and not replace:
        raise click.ClickException(f"{out} is not empty: pass --replace to delete it and write a new world there")
    cfg = WorldConfig(users=users, seed=seed, days=days, future_days=future_days, events_per_user=events_per_user,
                      monthly_history=monthly_history)
    start = time.perf_counter()
    with tqdm(total=users, unit="user", desc="generate", disable=None) as bar:
        counts = generate_world(cfg, out, progress=bar.update)
    click.echo(f"wrote {out} in {time.perf_counter() - start:.1f}s (as_of {cfg.as_of})")
    _echo_counts(counts)


@cli.command("load-movielens", epilog=reads(*LOCATING, "USERREP_RAW_DIR"))
@click.argument("path", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--out", type=click.Path(path_type=Path), default=None, help="[default: HOME/raw]")
@click.option("--holdout", type=click.Choice(["per-user", "global"]), default="per-user", show_default=True,
              help="per-user: each user's last ratings are their future; global: the last --future-days for everyone.")
@click.option("--future-fraction", default=0.2, show_default=True, help="per-user: the share of each user's ratings held out (at least one).")
@click.option("--future-days", default=28, show_default=True, help="global: the last days of ratings held out as the future window.")
@click.option("--cf-dim", default=32, show_default=True)
@click.option("--seed", default=0, show_default=True)
@click.option("--replace", is_flag=True, help="Overwrite a non-empty output directory.")
def load_movielens_cmd(path, out, holdout, future_fraction, future_days, cf_dim, seed, replace):
    """Convert a MovieLens CSV directory (ratings, movies, tags) into the raw data contract."""
    from userrep.movielens import dbt_vars, load_movielens

    raw = config.raw_dir()
    out = out.resolve() if out else raw
    counts = load_movielens(path, out, holdout=holdout, future_fraction=future_fraction, future_days=future_days,
                            cf_dim=cf_dim, seed=seed, replace=replace)
    within = counts.pop("users_with_an_event_within")
    horizons = counts.pop("horizons")
    click.echo(f"wrote {out} ({holdout} holdout)")
    _echo_counts(counts)
    click.echo("  users with a rating within: " + ", ".join(f"{h}d {n:,}" for h, n in within.items()) + f" (of {counts['users']:,})")
    click.echo(f"  horizons that fit this history: {horizons}")
    prefix = "" if out == raw else f"USERREP_RAW_DIR={out} "
    click.echo(f"build with: {prefix}userrep build --vars '{dbt_vars(counts['as_of'], horizons)}'")


@cli.command("fit-cf-encoder", epilog=reads())
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


ENGINE = click.option(
    "--engine", type=click.Choice(["duckdb", "spark"]), default="duckdb", show_default=True,
    help="spark: dbt runs in this process on target spark, on a SparkSession (USERREP_SPARK_MASTER) with the "
         "registry's functions; needs the spark extra and Java 17+. Tables: parquet under USERREP_SPARK_WAREHOUSE.")


@cli.command(epilog=reads(*DBT_RUN))
@click.option("--vars", "dbt_vars", default=None, help="dbt vars as YAML, e.g. '{as_of: 2018-08-27, horizons: [30, 365]}'.")
@click.option("--select", "-s", "select", multiple=True, help="dbt selector, e.g. tag:published (repeatable).")
@click.option("--exclude", multiple=True, help="dbt selector to leave out (repeatable).")
@click.option("--full-refresh", is_flag=True, help="Rebuild incremental models from scratch.")
@ENGINE
def build(dbt_vars, select, exclude, full_refresh, engine):
    """`dbt build` for this deployment: staging, features, published representations and their tests."""
    deployment = current_deployment()
    args = ["build", *(["--select", *select] if select else []), *(["--exclude", *exclude] if exclude else []),
            *(["--full-refresh"] if full_refresh else [])]
    start = time.perf_counter()
    if engine == "spark":
        from userrep.spark import run_dbt as run_on_spark

        run_on_spark(args, parse_vars(dbt_vars), deployment=deployment)
        built = deployment.spark_warehouse
    else:
        from userrep.dbt import run_dbt

        run_dbt(args, parse_vars(dbt_vars), deployment=deployment, quiet=False)
        built = deployment.warehouse
    click.echo(f"built {built} in {time.perf_counter() - start:.1f}s")


@cli.command(epilog=reads(*LOCATING, "USERREP_WAREHOUSE", "USERREP_REGISTRY"))
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
                                  raw_dir=config.raw_dir())
    m = manifest.metrics
    click.echo(
        f"registered {manifest.version} at {registry.path(manifest.version)}: {manifest.input_dim} -> {manifest.latent_dim} floats, "
        f"{m['steps']:,} steps ({m['epochs']:g} epochs), val loss {m['val_loss']:.4f} (new-user mask {m['val_new_user_loss']:.4f}), "
        f"{m['train_seconds']:.1f}s at {m['samples_per_second']:,.0f} samples/s, "
        f"ONNX parity {max(m['onnx_parity_max_abs_diff'].values()):.1e}"
    )
    a = manifest.alignment
    click.echo(f"space {manifest.representation_space}: {a['plan']}" + (
        f"; mean cosine to {manifest.aligned_to} {a['mean_cosine_held_out_users']:.4f} on held-out users"
        + ("; retention " + ", ".join(f"{t} {r:.3f}" for t, r in a["retention"].items() if r is not None)
           if isinstance(a.get("retention"), dict) else "") if manifest.aligned_to else ""))


@cli.command(epilog=reads(*LOCATING, "USERREP_WAREHOUSE", "USERREP_REGISTRY"))
@click.argument("version")
@click.option("--deprecation-date", default=None, help="ISO date after which dbt warns users of this version.")
@click.option("--downstream", "tasks", multiple=True, metavar="TASK",
              help="Also move TASK's published scores to VERSION (same space: the model is kept, not retrained).")
def publish(version, deprecation_date, tasks):
    """Add registry VERSION (e.g. v2) to this deployment as user_representation version N, pinned
    to the sha256 of its manifest."""
    from userrep.publish import move_downstream, publish_representation
    from userrep.registry import version_number

    deployment = current_deployment()
    state = publish_representation(version, deployment, deprecation_date=deprecation_date)
    for task in tasks:
        state = move_downstream(task, version, deployment)
    moved = "".join(f"; {t} {state['downstream'][t]['model_version']} now scores {version} (space {state['downstream'][t]['space']})"
                    for t in tasks)
    click.echo(
        f"published {version} into {deployment.published} (live: {', '.join(sorted(state['representations'], key=version_number))})"
        f"{moved}; build it with: userrep build --select tag:published"
    )


@cli.command(epilog=reads(*LOCATING))
@click.argument("version")
def unpublish(version):
    """Take VERSION out of this deployment's published models (refused while a downstream model
    is pinned to it). Its warehouse table and registry files stay."""
    from userrep.publish import unpublish as run_unpublish
    from userrep.registry import version_number

    deployment = current_deployment()
    state = run_unpublish(version, deployment)
    live = ", ".join(sorted(state["representations"], key=version_number)) or "none"
    similar = f"; similar_users now follows {state['similar_users']}" if state["similar_users"] else ""
    click.echo(
        f"unpublished {version} from {deployment.published} (live: {live}{similar}); its table "
        f"user_representation_{version} stays in the warehouse, no longer refreshed"
    )


def _task_names() -> list[str]:
    from userrep.tasks import TASKS

    return sorted(TASKS)


@cli.command("train-downstream", epilog=reads(*LOCATING, "USERREP_RAW_DIR", "USERREP_WAREHOUSE", "USERREP_REGISTRY"),
             help="Train TASK on a representation, register it and publish its scores model. "
                  f"TASK is one of: {', '.join(_task_names())}.")
@click.argument("task", type=click.Choice(_task_names()))
@click.option("--version", "representation_version", required=True, help="Representation version to train on, e.g. v1.")
@click.option("--seed", default=0, show_default=True)
def train_downstream_cmd(task, representation_version, seed):
    from training.downstream import train_downstream
    from userrep.publish import publish_downstream

    manifest = train_downstream(task, representation_version, config.warehouse_path(), config.raw_dir(), config.registry_dir(), seed)
    publish_downstream(task, manifest.version, representation_version)
    click.echo(
        f"{task} {manifest.version} on representation {representation_version} (space {manifest.extra['space']}): test AUC "
        f"{manifest.metrics['test_auc']:.3f} (positive rate {manifest.metrics['positive_rate']:.2f}); scores model {task}_scores "
        f"published; it scores every version of space {manifest.extra['space']} (move it with `userrep publish vN --downstream {task}`)"
    )


@cli.command(epilog=reads(*LOCATING, "USERREP_RAW_DIR", "USERREP_WAREHOUSE", "USERREP_REGISTRY"))
@click.option("--version", "version", required=True, help="Registry version to evaluate, e.g. v1.")
@click.option("--out", type=click.Path(path_type=Path), default=None, help="[default: HOME/reports/<version>]")
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
    index = write_report(results, data, out or config.reports_dir() / version, registry.path(version) / "loss_curve.png",
                         cost_dir=config.reports_dir() / "cost")
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


@cli.command(epilog=reads("USERREP_MEMORY_LIMIT"))
@click.option("--users", default=100_000, show_default=True, type=click.IntRange(min=1),
              help="Scale world size (1000000 with --events-per-user 113: 100.1M events).")
@click.option("--events-per-user", default=100.0, show_default=True, help="Over the whole history.")
@click.option("--days", default=365, show_default=True, help="Days of history (with --events-per-user, the rate of plays).")
@click.option("--monthly-history", is_flag=True, help="The history in one file per calendar month.")
@click.option("--root", type=click.Path(path_type=Path), default=Path("benchmarks/worlds"), show_default=True)
@click.option("--no-demo", is_flag=True, help="Skip timing `userrep demo`.")
@click.option("--engine", type=click.Choice(["duckdb", "spark"]), default="duckdb", show_default=True,
              help="spark: full builds (DuckDB, Spark local[2] and local[1]), a 10k-user refresh on both and Spark's "
                   "fixed cost, on a 1,000-user world and the --users world (365 days of history in one file).")
@click.option("--time-features", type=click.Choice(["sliding", "anchored"]), default="sliding", show_default=True,
              help="The dbt var time_features of the world's project.")
def bench(users, events_per_user, days, monthly_history, root, no_demo, engine, time_features):
    """Measure every stage (features vs scipy.sparse, refresh, training, encoding, end to end)."""
    if engine == "spark":
        from benchmarks.spark import run_spark_bench

        click.echo(f"results: {run_spark_bench(users, root.resolve(), events_per_user)}")
        return
    from benchmarks.run import run_bench

    results = run_bench(users, root.resolve(), events_per_user, demo=not no_demo, days=days, monthly_history=monthly_history,
                        time_features=time_features)
    click.echo(f"results: {results}")


@cli.command(epilog=reads(*LOCATING, "USERREP_RAW_DIR", "USERREP_MEMORY_LIMIT")
             + "\n\nThe deployment's warehouse and registry are not read or written: both sides run in a scratch directory under HOME.")
@click.option("--teams", default=5, show_default=True, type=click.IntRange(min=1),
              help="Downstream teams run on each side (more are extrapolated from them).")
@click.option("--vars", "dbt_vars", default=None, help="dbt vars as YAML: the same as the builds of this deployment.")
@click.option("--steps", default=TRAIN_DEFAULTS.steps, show_default=True, help="Training steps of the autoencoder.")
@click.option("--latent-dim", default=TRAIN_DEFAULTS.latent_dim, show_default=True)
@click.option("--batch-users", default=None, type=click.IntRange(min=1),
              help="Users with new plays in the refresh batch [default: 1% of the users].")
@click.option("--batch-new-users", default=None, type=click.IntRange(min=0),
              help="New users in the refresh batch [default: 0.1% of the users, at least 1].")
@click.option("--out", type=click.Path(path_type=Path), default=None, help="[default: HOME/reports/cost]")
@click.option("--keep-work", is_flag=True, help="Keep the scratch directory (every side's warehouse) for inspection.")
def cost(teams, dbt_vars, steps, latent_dim, batch_users, batch_new_users, out, keep_work):
    """Measure what one shared representation saves: TEAMS downstream teams each building their own
    user features (D floats) against one feature build, one encode and per team a model on k floats;
    writes a report with the totals for 1, 5 and 20 teams, a plot and the break-even."""
    from userrep.cost import CostError, break_even_text, measure_cost, write_results

    deployment = current_deployment()
    train_config = dataclasses.asdict(TrainConfig(steps=steps, latent_dim=latent_dim))
    try:
        results = measure_cost(deployment, config.project_dir(), teams, parse_vars(dbt_vars), train_config, batch_users,
                               batch_new_users, keep_work=keep_work, echo=click.echo)
    except CostError as error:
        raise click.ClickException(str(error)) from None
    index = write_results(results, out or deployment.reports / "cost")
    click.echo(f"report: {index}")
    for key, label in (("cycle_wall_s", "wall seconds"), ("cycle_cpu_s", "CPU seconds"), ("bytes", "bytes stored")):
        click.echo(f"  break-even, {label}: {break_even_text(results, key)}")


@cli.command(epilog=reads(*DBT_RUN))
@click.option("--wait", "wait_seconds", default=0.0, show_default=True, type=click.FloatRange(min=0),
              help="Seconds to wait for another process (a nightly build) to release the warehouse.")
@click.option("--vars", "dbt_vars", default=None, help="dbt vars as YAML: the same as the builds of this deployment.")
@ENGINE
def refresh(wait_seconds, dbt_vars, engine):
    """Near-real-time refresh: new event files and new users to every published version and the
    downstream scores pinned to it (= dbt run --select tag:nrt). A SIGTERM or SIGINT is passed to dbt."""
    from userrep.refresh import describe, refresh as run_refresh

    result = run_refresh(current_deployment(), parse_vars(dbt_vars), wait_seconds=wait_seconds, engine=engine)
    click.echo(f"refreshed in {result['seconds']:.1f}s: {describe(result)}")


@cli.command(epilog=reads(*DBT_RUN))
@click.option("--interval", default=1.0, show_default=True, type=click.FloatRange(min=0.1),
              help="Seconds between looks at the raw directory.")
@click.option("--vars", "dbt_vars", default=None, help="dbt vars as YAML: the same as the builds of this deployment.")
def watch(interval, dbt_vars):
    """Refresh as files land: one long-running process that keeps dbt loaded, refreshes now and then
    each time the raw directory changes (a file settled for one poll). Failed refreshes are reported
    and retried at the next change; SIGTERM or Ctrl-C stops it."""
    from userrep.watch import watch as run_watch

    run_watch(current_deployment(), parse_vars(dbt_vars), interval, click.echo)


@cli.command("land-batch", epilog=reads(*LOCATING, "USERREP_RAW_DIR"))
@click.option("--users", default=200, show_default=True, help="Existing users with new plays.")
@click.option("--new-users", default=20, show_default=True, help="Users who just signed up (onboarding picks only).")
@click.option("--next-day", is_flag=True, help="Put the plays on the day after the latest one (as_of moves).")
@click.option("--seed", default=1, show_default=True)
def land_batch_cmd(users, new_users, next_day, seed):
    """Simulate a micro-batch landing in the raw directory (for demos and benchmarks): all of it or nothing."""
    from userrep.synthetic import land_batch

    raw = current_deployment().raw
    b = land_batch(raw, users, new_users, seed, next_day=next_day)
    click.echo(
        f"landed {raw / 'events' / b['file']}: {b['events']:,} events of {b['users_with_events']:,} users "
        f"({b['late_events']:,} late, plus {b['duplicate_events']:,} copies of earlier events), {b['new_users']:,} new users"
    )


@cli.command(epilog=reads(*LOCATING, "USERREP_WAREHOUSE"))
@click.argument("query")
@click.option("--warehouse", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="DuckDB file to query [default: the deployment's warehouse].")
@click.option("--max-rows", default=50, show_default=True, help="Rows printed at most.")
def sql(query, warehouse, max_rows):
    """Print the result of one read-only QUERY (a SELECT, or EXPLAIN) on the warehouse."""
    from userrep.warehouse import read_only_query

    columns, rows, more = read_only_query(warehouse or current_deployment().warehouse, query, max_rows)
    click.echo(format_table(columns, rows))
    if more:
        click.echo(f"(first {max_rows} rows shown; --max-rows for more)")


def format_table(columns: list[str], rows: list[tuple], width: int = 60) -> str:
    def cell(value) -> str:
        text = "NULL" if value is None else json.dumps(value, default=str) if isinstance(value, (list, dict)) else str(value)
        return text if len(text) <= width else text[: width - 3] + "..."

    cells = [[cell(v) for v in row] for row in rows]
    widths = [max([len(c)] + [len(r[i]) for r in cells]) for i, c in enumerate(columns)]
    lines = [" | ".join(c.ljust(w) for c, w in zip(columns, widths)), "-+-".join("-" * w for w in widths)]
    lines += [" | ".join(v.ljust(w) for v, w in zip(row, widths)) for row in cells]
    lines.append(f"({len(rows)} row{'s' if len(rows) != 1 else ''})")
    return "\n".join(lines)


@cli.command(epilog=reads("USERREP_PROJECT_DIR", "USERREP_MEMORY_LIMIT")
             + "\n\nThe demo ignores USERREP_HOME, USERREP_RAW_DIR, USERREP_WAREHOUSE and USERREP_REGISTRY.")
@click.option("--users", default=20_000, show_default=True)
@click.option("--seed", default=0, show_default=True)
@click.option("--steps", default=TRAIN_DEFAULTS.steps, show_default=True, help="Training steps of the autoencoder.")
@click.option("--home", "root", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="The demo's own root [default: PROJECT/demo]; a non-empty one must have been made by the demo.")
def demo(users, seed, steps, root):
    """The main job on the embedded synthetic world, end to end, in a root of its own."""
    from userrep.demo import run_demo

    project = config.project_dir()
    run_demo(root or project / "demo", project, users=users, seed=seed, steps=steps, echo=click.echo)


if __name__ == "__main__":
    cli()
