"""`userrep cost`: what one shared representation saves, measured on the deployment's own data.

Both ways of giving N downstream teams user features run for real, in a scratch directory under
HOME (removed at the end), on hard links of the deployment's raw files; the deployment's own
warehouse and registry are never touched:

- without a shared representation, each team keeps its own copy of the feature pipeline: a
  `dbt build --select +user_features` into its own warehouse (the D-float vector per user, and
  the daily sums its refreshes need), its task model trained on the D floats and scored in SQL
  by an ONNX function, and, after a batch lands, `userrep refresh` of its features and a
  rescoring of the users whose features changed;
- with one, a single `dbt build --select +user_features`, one autoencoder trained and encoded by
  `dbt build --select tag:published` (user_representation_v1), and per team its task model trained
  on the k floats and scored in SQL in the team's own database, reading the shared table
  (attached read-only); after the batch, one `userrep refresh` (features and re-encoding) and per
  team a rescoring of the users it re-encoded.

The teams' models are the `train-downstream` tasks, team i gets task i (cycling) and seed i, the
same on both sides. Every step runs in its own process, measured as the benchmarks measure a
stage (benchmarks.run.measured: os.wait4 gives wall, CPU and peak RSS). Totals for a number of
teams that was run are sums of measured steps; for more teams they are extrapolated from the
mean team and marked as such.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

PHASES = ("nightly_build", "refresh", "training", "scoring")
SIDES = ("without", "with")
TEAM_COUNTS = (1, 5, 20)
RESULTS_FILE = "cost.json"
PLOT_FILE = "cost.png"
SCORES_TABLE = "scores"
# the columns a team's scoring function reads: input vector, and the tag every row must carry
SCORING_INPUTS = {"with": ("embedding", "model_version"), "without": ("features", "feature_schema_hash")}


# ---------------------------------------------------------------- stages (one process each)

def build_stage(home: str, dbt_vars: dict | None, select: list[str], exclude: list[str]) -> dict:
    from userrep.config import Deployment
    from userrep.dbt import run_dbt

    run_dbt(["build", "--select", *select, *(["--exclude", *exclude] if exclude else [])], dbt_vars,
            deployment=Deployment.under(home))
    return {}


def train_representation_stage(home: str, train_config: dict) -> dict:
    from training.config import TrainConfig
    from training.train import train_and_register
    from userrep.config import Deployment
    from userrep.registry import Registry

    deployment = Deployment.under(home)
    manifest = train_and_register(deployment.warehouse, Registry(deployment.registry), TrainConfig(**train_config), progress=False)
    return {"version": manifest.version, "input_dim": manifest.input_dim, "latent_dim": manifest.latent_dim,
            "val_loss": round(manifest.metrics["val_loss"], 4)}


def train_team_stage(side: str, team_home: str, source_warehouse: str, raw_dir: str, task: str, seed: int,
                     representation_version: str | None, representations: str | None = None) -> dict:
    from training.downstream import train_downstream, train_downstream_on_features

    models = Path(team_home) / "models"
    if side == "with":
        manifest = train_downstream(task, representation_version, Path(source_warehouse), Path(raw_dir), models, seed,
                                    Path(representations))
    else:
        manifest = train_downstream_on_features(task, Path(source_warehouse), Path(raw_dir), models, seed)
    return {"model_version": manifest.version, "inputs": manifest.input_dim, "test_auc": round(manifest.metrics["test_auc"], 4)}


def score_stage(side: str, team_home: str, source_warehouse: str, task: str, changed_only: bool) -> dict:
    """Score every user (the nightly scoring) or only those whose input changed since the last
    scoring (after a refresh), in SQL through the registered ONNX function, as dbt's scores models do."""
    import duckdb

    from python_udfs.catalog import FunctionSpec, downstream_registry, score_function_name
    from python_udfs.onnx_functions import OnnxFunction
    from python_udfs.userrep_udfs import register

    registry = downstream_registry(Path(team_home) / "models", task)
    version = registry.latest()
    manifest = registry.verify(version)
    input_column, tag_column = SCORING_INPUTS[side]
    if side == "with":
        database = Path(team_home) / "scores.duckdb"
        source = f"shared.user_representation_{manifest.extra['representation_version']}"
        tag, tag_name = manifest.extra["representation_version"], "representation version"
    else:
        database = Path(source_warehouse)
        source, tag, tag_name = "user_features", manifest.feature_schema_hash, "feature schema"
    name = score_function_name(task, version)
    function = OnnxFunction(name=name, path=registry.path(version) / "model.onnx", input_dim=manifest.input_dim, output_dim=1,
                            expected_tag=tag, tag_name=tag_name)
    scored = f"select user_id, {name}({input_column}, {tag_column}) as score, current_timestamp as computed_at from {source}"
    with duckdb.connect(str(database)) as con:
        if side == "with":
            con.execute("attach ? as shared (read_only)", [str(source_warehouse)])
        register(con, FunctionSpec(name, function, manifest.input_dim, 1))
        if not changed_only:
            con.execute(f"create or replace table {SCORES_TABLE} as {scored}")
            return {"scored": con.execute(f"select count(*) from {SCORES_TABLE}").fetchone()[0]}
        con.execute("begin")
        con.execute(f"create temp table changed as select user_id from {source} "
                    f"where updated_at > (select max(computed_at) from {SCORES_TABLE})")
        con.execute(f"delete from {SCORES_TABLE} where user_id in (select user_id from changed)")
        con.execute(f"insert into {SCORES_TABLE} {scored} where user_id in (select user_id from changed)")
        con.execute("commit")
        return {"scored": con.execute("select count(*) from changed").fetchone()[0]}


def refresh_stage(home: str, dbt_vars: dict | None) -> dict:
    from userrep.config import Deployment
    from userrep.refresh import refresh

    result = refresh(Deployment.under(home), dbt_vars)
    return {"users_with_new_features": result["users_with_new_features"], "re_encoded": result["re_encoded"]}


STAGES = {"build": build_stage, "train_representation": train_representation_stage, "train_team": train_team_stage,
          "score": score_stage, "refresh": refresh_stage}


# ---------------------------------------------------------------- the run

class CostError(RuntimeError):
    pass


def run_step(label: str, stage: str, echo, project: Path, **arguments) -> dict:
    """One stage in its own process; its wall, CPU and peak RSS, and what it returned."""
    from benchmarks.run import measured

    env = {k: v for k, v in os.environ.items() if k not in ("USERREP_HOME", "USERREP_RAW_DIR", "USERREP_WAREHOUSE", "USERREP_REGISTRY")}
    env["USERREP_PROJECT_DIR"] = str(project)
    try:
        result = measured([sys.executable, "-m", "userrep.cost", stage, json.dumps(arguments, default=str)], env=env)
    except RuntimeError as error:
        raise CostError(f"{label}: {error}") from None
    echo(f"  {label}: {result['wall_s']:.1f} s wall, {result['cpu_s']:.1f} s CPU, {result['peak_rss_mib']} MiB")
    return {"step": label, **result}


def link_file(source: Path, target: Path) -> None:
    """`target` becomes a hard link to `source` (a copy across file systems), replacing any file
    there without writing through to that file's other links."""
    target.parent.mkdir(parents=True, exist_ok=True)
    temporary = target.with_name(f".{target.name}.link")
    temporary.unlink(missing_ok=True)
    try:
        os.link(source, temporary)
    except OSError:
        shutil.copy2(source, temporary)
    os.replace(temporary, target)


def link_tree(source: Path, destination: Path) -> None:
    """`destination` holds the files of `source` as hard links: the history costs no space and is never written."""
    destination.mkdir(parents=True, exist_ok=True)
    for path in sorted(p for p in source.rglob("*") if p.is_file()):
        link_file(path, destination / path.relative_to(source))


def file_states(directory: Path) -> dict[Path, tuple]:
    """Each file under `directory` (relative path) with its inode, size and modification time."""
    return {p.relative_to(directory): (p.stat().st_ino, p.stat().st_size, p.stat().st_mtime_ns)
            for p in directory.rglob("*") if p.is_file()}


def stored_bytes(*paths: Path) -> int:
    """What the paths hold on disk (files' sizes; a directory's files, recursively)."""
    total = 0
    for path in paths:
        if path.is_file():
            total += path.stat().st_size
        elif path.is_dir():
            total += sum(p.stat().st_size for p in path.rglob("*") if p.is_file())
    return total


def team_plan(tasks: list[str], teams: int) -> list[dict]:
    """Team i (from 1) trains task i, cycling through the tasks, with seed i."""
    return [{"team": f"team_{i:02d}", "task": tasks[(i - 1) % len(tasks)], "seed": i} for i in range(1, teams + 1)]


def usable_tasks(warehouse: Path, raw_dir: Path) -> tuple[list[str], dict[str, str]]:
    """The downstream tasks whose labels hold both classes (a model can be fitted and its AUC measured),
    and why each other task cannot be used."""
    import duckdb

    from userrep.tasks import TASKS, task_labels

    usable, refused = [], {}
    with duckdb.connect(str(warehouse), read_only=True) as con:
        users = con.execute("select count(*) from user_features").fetchone()[0]
        for task in sorted(TASKS):
            positives = sum(task_labels(con, task, raw_dir).values())
            if 0 < positives < users:
                usable.append(task)
            else:
                refused[task] = f"{positives:,} of {users:,} users positive"
    return usable, refused


def measure_cost(deployment, project: Path, teams: int, dbt_vars: dict | None, train_config: dict, batch_users: int | None,
                 batch_new_users: int | None, seed: int = 1, keep_work: bool = False, echo=print) -> dict:
    """Run both sides for `teams` teams on the deployment's raw data: the measured steps of every component."""
    from benchmarks.run import machine

    if not (deployment.raw / "future_events.parquet").exists():
        raise CostError(f"{deployment.raw / 'future_events.parquet'} not found: the teams' task labels come from the held-out future window")
    work = Path(tempfile.mkdtemp(prefix=".cost-", dir=deployment.home))
    results = {"date": dt.date.today().isoformat(), "commit": project_commit(project), "machine": machine(),
               "load_average": {"start": list(os.getloadavg())}, "deployment": str(deployment.home), "vars": dbt_vars,
               "teams_run": teams, "train_config": train_config}
    run = CostRun(deployment.raw, work, project, dbt_vars, echo)
    try:
        results["with"] = run.with_shared_representation(results, teams, train_config, batch_users, batch_new_users, seed)
        results["without"] = run.without_shared_representation(results, keep_work)
    finally:
        if keep_work:
            echo(f"kept the work directory {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    results["load_average"]["end"] = list(os.getloadavg())
    return results


def phases(nightly_build=(), refresh=(), training=(), scoring=()) -> dict:
    return {"nightly_build": list(nightly_build), "refresh": list(refresh), "training": list(training), "scoring": list(scoring)}


class CostRun:
    """Both sides' steps, in a work directory; every deployment in it reads hard links of `history`."""

    def __init__(self, history: Path, work: Path, project: Path, dbt_vars: dict | None, echo):
        self.history, self.work, self.project, self.dbt_vars, self.echo = history, work, project, dbt_vars, echo
        self.plan: list[dict] = []
        self.batch_files: list[Path] = []
        self.batch_source: Path | None = None

    def step(self, label: str, stage: str, **arguments) -> dict:
        return run_step(label, stage, self.echo, self.project, **arguments)

    def build(self, label: str, home: Path, select: list[str], exclude: list[str] = ()) -> dict:
        return self.step(label, "build", home=home, dbt_vars=self.dbt_vars, select=select, exclude=list(exclude))

    def with_shared_representation(self, results: dict, teams: int, train_config: dict, batch_users: int | None,
                                   batch_new_users: int | None, seed: int) -> dict:
        """One feature build, the autoencoder, one encode; per team a model on k floats scored in its own
        database. Then the batch lands, one refresh, and every team rescores."""
        import duckdb

        from userrep.config import Deployment
        from userrep.publish import publish_representation
        from userrep.synthetic import land_batch

        self.echo(f"with a shared representation (work directory {self.work})")
        shared = Deployment.under(self.work / "with")
        link_tree(self.history, shared.raw)
        features = self.build("feature build", shared.home, ["+user_features"])
        with duckdb.connect(str(shared.warehouse), read_only=True) as con:
            results["users"] = con.execute("select count(*) from user_features").fetchone()[0]
            results["events"] = con.execute("select sum(raw_rows) from run_plan_event_files where change != 'removed'").fetchone()[0]
        tasks, results["tasks_left_out"] = usable_tasks(shared.warehouse, shared.raw)
        if not tasks:
            raise CostError("no downstream task has both positive and negative labels in future_events.parquet ("
                            + "; ".join(f"{t}: {why}" for t, why in results["tasks_left_out"].items()) + ")")
        trained = self.step("autoencoder training", "train_representation", home=shared.home, train_config=train_config)
        version = trained["version"]
        results.update(feature_dim=trained["input_dim"], latent_dim=trained["latent_dim"])
        publish_representation(version, shared)
        encode = self.build(f"encode {version}", shared.home, ["tag:published"], ["similar_users"])
        shared_component = {"phases": phases(nightly_build=[features, encode], training=[trained])}
        self.plan = team_plan(tasks, teams)
        team_components, team_arguments = [], []
        for team in self.plan:
            home = self.work / "with-teams" / team["team"]
            home.mkdir(parents=True)
            arguments = {"side": "with", "team_home": home, "source_warehouse": shared.warehouse, "task": team["task"]}
            train = self.step(f"{team['team']} trains {team['task']} on {trained['latent_dim']} floats", "train_team",
                              raw_dir=shared.raw, seed=team["seed"], representation_version=version,
                              representations=shared.registry, **arguments)
            score = self.step(f"{team['team']} scores", "score", changed_only=False, **arguments)
            team_components.append({**team, "test_auc": train["test_auc"], "phases": phases(training=[train], scoring=[score])})
            team_arguments.append(arguments)

        users = batch_users if batch_users is not None else max(results["users"] // 100, 1)
        new_users = batch_new_users if batch_new_users is not None else max(results["users"] // 1000, 1)
        before = file_states(shared.raw)
        batch = land_batch(shared.raw, users=users, new_users=new_users, seed=seed)
        self.batch_source = shared.raw
        self.batch_files = sorted(path for path, state in file_states(shared.raw).items() if before.get(path) != state)
        results["batch"] = {**batch, "files": [str(f) for f in self.batch_files]}
        self.echo(f"landed a batch: {batch['events']:,} events of {batch['users_with_events']:,} users, {new_users:,} new users")
        shared_component["phases"]["refresh"].append(
            self.step("refresh (features, re-encode)", "refresh", home=shared.home, dbt_vars=self.dbt_vars))
        for team, arguments in zip(team_components, team_arguments):
            team["phases"]["refresh"].append(self.step(f"{team['team']} rescores", "score", changed_only=True, **arguments))
            team["bytes"] = stored_bytes(arguments["team_home"] / "scores.duckdb", arguments["team_home"] / "models")
        shared_component["bytes"] = stored_bytes(shared.warehouse, shared.registry)
        return {"shared": shared_component, "teams": team_components}

    def without_shared_representation(self, results: dict, keep_work: bool) -> dict:
        """Per team: its own feature build, a model on the D floats scored in its warehouse, the same
        batch landed, its own refresh and a rescoring."""
        from userrep.config import Deployment

        self.echo("without a shared representation: every team builds its own features")
        team_components = []
        for team in self.plan:
            own = Deployment.under(self.work / "without" / team["team"])
            link_tree(self.history, own.raw)
            build = self.build(f"{team['team']} feature build", own.home, ["+user_features"])
            arguments = {"side": "without", "team_home": own.home, "source_warehouse": own.warehouse, "task": team["task"]}
            train = self.step(f"{team['team']} trains {team['task']} on {results['feature_dim']} floats", "train_team",
                              raw_dir=own.raw, seed=team["seed"], representation_version=None, **arguments)
            score = self.step(f"{team['team']} scores", "score", changed_only=False, **arguments)
            for relative in self.batch_files:
                link_file(self.batch_source / relative, own.raw / relative)
            refresh = self.step(f"{team['team']} refresh (features)", "refresh", home=own.home, dbt_vars=self.dbt_vars)
            rescore = self.step(f"{team['team']} rescores", "score", changed_only=True, **arguments)
            team_components.append({**team, "test_auc": train["test_auc"], "bytes": stored_bytes(own.warehouse, own.home / "models"),
                                    "phases": phases(nightly_build=[build], refresh=[refresh, rescore], training=[train],
                                                     scoring=[score])})
            if not keep_work:  # each team's warehouse is about the size of the shared one: one at a time on disk
                shutil.rmtree(own.home)
        return {"teams": team_components}


def project_commit(project: Path) -> str | None:
    try:
        commit = subprocess.run(["git", "-C", str(project), "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                                check=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(project), "status", "--porcelain", "--untracked-files=no"], capture_output=True,
                               text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None
    return commit + ("+uncommitted changes" if dirty else "")


# ---------------------------------------------------------------- totals, break-even

def component_costs(component: dict) -> dict:
    """wall and CPU seconds per phase and for one cycle (every phase once), bytes stored, peak RSS."""
    costs = {}
    for phase in PHASES:
        steps = component["phases"][phase]
        costs[f"{phase}_wall_s"] = sum(s["wall_s"] for s in steps)
        costs[f"{phase}_cpu_s"] = sum(s["cpu_s"] for s in steps)
    costs["cycle_wall_s"] = sum(costs[f"{p}_wall_s"] for p in PHASES)
    costs["cycle_cpu_s"] = sum(costs[f"{p}_cpu_s"] for p in PHASES)
    costs["bytes"] = component["bytes"]
    costs["peak_rss_mib"] = max((s["peak_rss_mib"] for p in PHASES for s in component["phases"][p]), default=0)
    return costs


ADDITIVE = [f"{p}_{unit}" for p in PHASES for unit in ("wall_s", "cpu_s")] + ["cycle_wall_s", "cycle_cpu_s", "bytes"]


def per_side(results: dict, side: str) -> tuple[list[dict], list[dict]]:
    """The side's shared components (none without a representation) and its teams' costs."""
    shared = [component_costs(results[side]["shared"])] if "shared" in results[side] else []
    return shared, [component_costs(t) for t in results[side]["teams"]]


def side_totals(results: dict, side: str, teams: int) -> dict:
    """The side's totals for `teams` teams: sums of measured steps when that many teams ran, else the
    shared part plus `teams` times the mean team run (extrapolated). Peak RSS is the largest step's:
    the steps run one at a time."""
    shared, team_costs = per_side(results, side)
    measured = teams <= len(team_costs)
    totals = {"teams": teams, "measured": measured}
    for key in ADDITIVE:
        fixed = sum(c[key] for c in shared)
        if measured:
            totals[key] = fixed + sum(c[key] for c in team_costs[:teams])
        else:
            totals[key] = fixed + teams * sum(c[key] for c in team_costs) / len(team_costs)
    totals["peak_rss_mib"] = max(c["peak_rss_mib"] for c in shared + team_costs)
    return totals


def break_even(results: dict, key: str) -> dict:
    """The fewest teams for which the shared representation costs no more than every team's own
    features: the first team count run where it does, else solved on the extrapolation (None: never)."""
    run = results["teams_run"]
    for teams in range(1, run + 1):
        if side_totals(results, "with", teams)[key] <= side_totals(results, "without", teams)[key]:
            return {"teams": teams, "measured": True}
    (shared,), with_teams = per_side(results, "with")
    _, without_teams = per_side(results, "without")
    saved_per_team = (sum(c[key] for c in without_teams) - sum(c[key] for c in with_teams)) / run
    if saved_per_team <= 0:
        return {"teams": None, "measured": False}
    return {"teams": max(run + 1, math.ceil(shared[key] / saved_per_team)), "measured": False}


# ---------------------------------------------------------------- report

def mib(n: float) -> str:
    return f"{n / 2**20:,.1f}"


def seconds(wall: float, cpu: float) -> str:
    return f"{wall:,.1f} / {cpu:,.1f}"


def team_range(values: list[float], fmt) -> str:
    if not values:
        return "-"
    mean = sum(values) / len(values)
    return fmt(mean) if len(values) == 1 else f"{fmt(mean)} ({fmt(min(values))}-{fmt(max(values))})"


def counts_shown(results: dict) -> list[int]:
    return sorted(set(TEAM_COUNTS) | {results["teams_run"]})


def report_lines(results: dict, plot: str | None = PLOT_FILE, heading: str = "#") -> list[str]:
    """The measurement as Markdown: what ran, each component's measured steps, totals by team count, break-even."""
    run = results["teams_run"]
    load = results["load_average"]
    d, k = results.get("feature_dim"), results.get("latent_dim")
    lines = [
        f"{heading} What one shared representation saves",
        "",
        f"Measured by `userrep cost --teams {run}` on {results['date']} (commit {results['commit'] or 'unknown'}) on "
        f"{results['machine']['cpu']}, {results['machine']['cores']} cores; load average {load['start'][0]:.2f} at the start, "
        f"{load['end'][0]:.2f} at the end. {results['users']:,} users, {results['events']:,} events, D = {d} raw floats per "
        f"user, k = {k} floats in the representation; a refresh batch of {results['batch']['events']:,} events of "
        f"{results['batch']['users_with_events']:,} users and {results['batch']['new_users']:,} new users.",
        "",
        "Without a shared representation each team builds its own D-float feature table (`dbt build --select "
        "+user_features` in its own warehouse), trains its task model on the D floats and scores it in SQL; a refresh "
        "is `userrep refresh` of its features and a rescoring of the changed users. With one, a single feature build, "
        "the autoencoder's training and one encode (`user_representation_v1`); each team trains its model on the k "
        "floats and scores it in its own database, reading the shared table; a refresh is one `userrep refresh` and a "
        "rescoring per team. Seconds are wall / CPU, each step in its own process; bytes are the warehouse and model "
        "files each component keeps (raw data, shared by both sides, not counted).",
        "",
        f"{heading}# Measured, per component",
        "",
        "| component | nightly build s | refresh s | training s | scoring s | stored MiB | peak RSS MiB | test AUC |",
        "|---|---|---|---|---|---|---|---|",
    ]
    shared = component_costs(results["with"]["shared"])
    lines.append("| with: shared (features, autoencoder, encode) | "
                 + " | ".join(seconds(shared[f"{p}_wall_s"], shared[f"{p}_cpu_s"]) if results["with"]["shared"]["phases"][p] else "-"
                              for p in PHASES)
                 + f" | {mib(shared['bytes'])} | {shared['peak_rss_mib']:,} | - |")
    for side, label in (("with", f"with: per team (k = {k} inputs)"), ("without", f"without: per team (D = {d} inputs)")):
        teams = results[side]["teams"]
        costs = [component_costs(t) for t in teams]
        cells = []
        for p in PHASES:
            if not any(t["phases"][p] for t in teams):
                cells.append("- (nothing to do)" if side == "with" and p == "nightly_build" else "-")
                continue
            cells.append(team_range([c[f"{p}_wall_s"] for c in costs], lambda v: f"{v:,.1f}") + " / "
                         + team_range([c[f"{p}_cpu_s"] for c in costs], lambda v: f"{v:,.1f}"))
        lines.append(f"| {label} | " + " | ".join(cells) + f" | {team_range([c['bytes'] for c in costs], mib)} | "
                     f"{max(c['peak_rss_mib'] for c in costs):,} | {team_range([t['test_auc'] for t in teams], lambda v: f'{v:.3f}')} |")
    lines += ["", f"Per team: the mean of the {run} teams run (range in brackets). Peak RSS: the largest step's.", "",
              f"{heading}# Totals by number of teams", "",
              "| teams | side | nightly build s | refresh s | training s | scoring s | one cycle s | stored MiB | peak RSS MiB | figures |",
              "|---|---|---|---|---|---|---|---|---|---|"]
    for teams in counts_shown(results):
        for side in SIDES:
            t = side_totals(results, side, teams)
            lines.append(f"| {teams} | {side} | " + " | ".join(seconds(t[f"{p}_wall_s"], t[f"{p}_cpu_s"]) for p in PHASES)
                         + f" | {seconds(t['cycle_wall_s'], t['cycle_cpu_s'])} | {mib(t['bytes'])} | {t['peak_rss_mib']:,} | "
                         + ("measured" if t["measured"] else f"extrapolated from the {run} teams run") + " |")
    lines += ["", "One cycle is one nightly build, one refresh, one training and one scoring; the autoencoder's training is "
              "counted in every cycle although it runs once per version.", "", f"{heading}# Break-even", "",
              "The fewest teams for which the shared representation costs no more than every team keeping its own features:", ""]
    for key, label in [("cycle_wall_s", "one cycle, wall"), ("cycle_cpu_s", "one cycle, CPU"), ("bytes", "stored bytes"),
                       *[(f"{p}_wall_s", f"{p.replace('_', ' ')}, wall") for p in PHASES]]:
        lines.append(f"- {label}: {break_even_text(results, key)}")
    if results.get("tasks_left_out"):
        lines += ["", "Tasks left out (labels of one class only): "
                  + "; ".join(f"{task} ({why})" for task, why in results["tasks_left_out"].items()) + "."]
    if plot:
        lines += ["", f"![cost by number of teams]({plot})"]
    return lines


def break_even_text(results: dict, key: str) -> str:
    found = break_even(results, key)
    if found["teams"] is None:
        return "never (each team costs at least as much with the shared representation)"
    return f"{found['teams']} team{'s' if found['teams'] != 1 else ''} (" + (
        "measured" if found["measured"] else f"extrapolated beyond the {results['teams_run']} teams run") + ")"


def plot_costs(results: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    run = results["teams_run"]
    counts = list(range(1, max(max(TEAM_COUNTS), run) + 1))
    panels = [("cycle_wall_s", "one cycle, wall seconds", 1), ("cycle_cpu_s", "one cycle, CPU seconds", 1),
              ("bytes", "stored MiB", 2**20)]
    fig, axes = plt.subplots(1, len(panels), figsize=(4.2 * len(panels), 3.6))
    for ax, (key, title, scale) in zip(axes, panels):
        for side, colour in (("without", "#7f7f7f"), ("with", "#d62728")):
            values = [side_totals(results, side, n)[key] / scale for n in counts]
            shown = [n for n in counts if n <= run]
            ax.plot(shown, values[: len(shown)], "o-", color=colour, label=f"{side} (measured)", markersize=3)
            if run < counts[-1]:
                ax.plot(counts[run - 1:], values[run - 1:], "--", color=colour, label=f"{side} (extrapolated)")
        found = break_even(results, key)
        if found["teams"] is not None and found["teams"] <= counts[-1]:
            ax.axvline(found["teams"], color="#1f77b4", linestyle=":", label=f"break-even: {found['teams']}")
        ax.set_xlabel("downstream teams")
        ax.set_title(title, fontsize=9)
        ax.legend(fontsize=7)
    fig.suptitle(f"with vs without one shared representation ({results['users']:,} users, {run} teams run)", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def write_results(results: dict, out: Path) -> Path:
    out.mkdir(parents=True, exist_ok=True)
    (out / RESULTS_FILE).write_text(json.dumps(results, indent=2, default=str))  # YAML dates in --vars
    plot_costs(results, out / PLOT_FILE)
    index = out / "index.md"
    index.write_text("\n".join(report_lines(results)) + "\n")
    return index


def report_section(cost_dir: Path, out: Path, heading: str = "##") -> list[str]:
    """The section of another report (`userrep evaluate`'s): the measurement in `cost_dir`, its plot copied into `out`."""
    path = Path(cost_dir) / RESULTS_FILE
    if not path.exists():
        return [f"{heading} What one shared representation saves", "",
                f"Not measured on this deployment yet: `userrep cost --teams 5` measures it into {cost_dir}."]
    plot = None
    if (Path(cost_dir) / PLOT_FILE).exists():
        shutil.copy(Path(cost_dir) / PLOT_FILE, Path(out) / PLOT_FILE)
        plot = PLOT_FILE
    return report_lines(json.loads(path.read_text()), plot=plot, heading=heading)


if __name__ == "__main__":
    stage, arguments = sys.argv[1], json.loads(sys.argv[2])
    print(json.dumps(STAGES[stage](**arguments)))
