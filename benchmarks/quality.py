"""Representation quality at every size: the ablation behind `userrep train`'s defaults.

    python -m benchmarks.quality --worlds synthetic-1k,synthetic-5k,synthetic-20k,synthetic-100k,movielens

For each world (built once with this checkout's dbt project, under benchmarks/worlds/quality/),
it trains the autoencoder with the defaults and with group masking turned off, and evaluates
them next to the raw feature vector and PCA of it to the same size, per task and cohort, with
the spread over cross-validation folds x seeds (userrep.evaluate). Variants of the defaults
(`--variant name:key=value,...`) are how the defaults were chosen. Results go to
benchmarks/results/quality-<world>.json and .md.
"""

from __future__ import annotations

import argparse
import re
import datetime as dt
import json
import subprocess
import time
from pathlib import Path

import numpy as np

from userrep.project import copy_project
from userrep.evaluate import TASK_METRICS
from userrep.synthetic import WorldConfig, generate_world

ROOT = Path(__file__).resolve().parent
WORLDS = ROOT / "worlds" / "quality"
RESULTS = ROOT / "results"
SHARED_MOVIELENS = ROOT.parent.parent / "shared" / "datasets" / "movielens-latest-small"
SYNTHETIC_SIZES = {"synthetic-1k": 1_000, "synthetic-5k": 5_000, "synthetic-20k": 20_000, "synthetic-100k": 100_000}


def world_root(name: str) -> Path:
    return WORLDS / name


def build_world(name: str) -> Path:
    """raw/, project/ and warehouse.duckdb of a named world; built once, reused while complete.
    A name ending in -anchored builds the same data with the dbt var time_features: anchored."""
    from userrep.dbt import run_dbt

    world = world_root(name)
    done = world / "built.json"
    if done.exists():
        return world
    started = time.perf_counter()
    data = name.removesuffix("-anchored")
    dbt_vars = {"time_features": "anchored"} if data != name else {}
    if data in SYNTHETIC_SIZES:
        generate_world(WorldConfig(users=SYNTHETIC_SIZES[data], seed=0), world / "raw")
    elif data.startswith("movielens"):
        from userrep.movielens import load_movielens

        holdout = "global" if data.endswith("-global") else "per-user"
        counts = load_movielens(SHARED_MOVIELENS, world / "raw", holdout=holdout)
        dbt_vars.update({"as_of": counts["as_of"], "horizons": counts["horizons"]})
    else:
        raise ValueError(f"unknown world {name!r}: expected one of {', '.join([*SYNTHETIC_SIZES, 'movielens', 'movielens-global'])}"
                         ", each optionally ending in -anchored")
    copy_project(world / "project")
    for stale in world.glob("warehouse.duckdb*"):
        stale.unlink()
    run_dbt(["build", "--exclude", "path:models/published"], dbt_vars or None, raw_dir=world / "raw", warehouse=world / "warehouse.duckdb",
            target_path=world / "target", registry=world / "registry", project=world / "project")
    done.write_text(json.dumps({"vars": dbt_vars or None, "build_seconds": round(time.perf_counter() - started, 1),
                                "commit": git_commit()}) + "\n")
    return world


def git_commit() -> str:
    result = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True)
    return result.stdout.strip() or "unknown"


VARIANTS = {
    "representation": {},  # userrep train's defaults
    "no_masking": {"mask_prob": 0.0, "new_user_prob": 0.0},
}


def parse_variant(text: str) -> tuple[str, dict]:
    """`name:key=value,key=value` -> (name, TrainConfig overrides); values are Python literals."""
    import ast

    name, _, assignments = text.partition(":")
    overrides = {}
    for assignment in filter(None, re.split(r",(?=\w+=)", assignments)):  # commas inside [512,256] stay
        key, _, value = assignment.partition("=")
        try:
            overrides[key] = ast.literal_eval(value)
        except (ValueError, SyntaxError):
            overrides[key] = value
    return name, overrides


def train_variant(world: Path, overrides: dict, seed: int, user_features: np.ndarray) -> tuple[np.ndarray, dict]:
    """Train on the world's user_features with TrainConfig(**overrides); the representation of
    `user_features` (the encoder as exported, standardisation folded in) and the training facts."""
    import duckdb
    import torch

    from training.data import load_features
    from training.model import ExportedEncoder
    from training.train import TrainConfig, fit

    cfg = TrainConfig(**{**overrides, "seed": seed})
    with duckdb.connect(str(world / "warehouse.duckdb"), read_only=True) as con:
        data = load_features(con, cfg.sample, cfg.seed)
    result = fit(data, cfg, progress=False)
    encoder = ExportedEncoder(result.model, torch.from_numpy(result.mean), torch.from_numpy(result.std)).eval()
    with torch.no_grad():
        z = np.concatenate([encoder(torch.tensor(user_features[i : i + 8192])).numpy()
                            for i in range(0, len(user_features), 8192)])
    facts = {"train_seconds": round(result.seconds, 1), "steps": result.steps, "best_step": result.best_step,
             "training_users": len(data.user_ids)}
    return z, facts


def run_world(name: str, variants: dict[str, dict], train_seeds: list[int], settings) -> dict:
    from userrep.evaluate import check_targets, evaluate, load_eval_data

    world = build_world(name)
    data = load_eval_data(world / "warehouse.duckdb", world / "raw", max_users=settings.max_users)
    training = {}
    for variant, overrides in variants.items():
        for seed in train_seeds:
            method = variant if len(train_seeds) == 1 else f"{variant}_seed{seed}"
            started = time.perf_counter()
            data.representations[method], training[method] = train_variant(world, overrides, seed, data.features)
            print(f"  {name} {method}: trained in {time.perf_counter() - started:.0f}s {training[method]}", flush=True)
    started = time.perf_counter()
    results = evaluate(data, settings)
    results["targets"] = [check for method in data.representations for check in check_targets(results, method)]
    results["training"] = training
    results["variants"] = variants
    results["world"] = {"name": name, **json.loads((world / "built.json").read_text())}
    print(f"  {name}: evaluated in {time.perf_counter() - started:.0f}s", flush=True)
    return results


def markdown(results: dict) -> str:
    from userrep.report import fmt, methods_in_order, metrics_of, population, target_lines

    meta, world = results["meta"], results["world"]
    lines = [f"### {world['name']}: {meta['users']:,} users, {meta['input_dim']} features -> "
             f"{results['bytes_per_user']['representation'] // 4} floats ({meta['holdout']} holdout)", "",
             f"Mean ± standard deviation over {meta['folds']} folds x {len(meta['seeds'])} seeds; built at {world['commit']}, "
             f"dbt vars {world['vars']}.", ""]
    for task, entry in results["tasks"].items():
        cohorts = ["all", "cold_start", "heavy"]
        for metric in metrics_of(entry):
            lines += [f"| {task} {metric} | " + " | ".join(f"{c} ({population(entry, c)})" for c in cohorts) + " |",
                      "|---" * 4 + "|"]
            for method in methods_in_order(entry):
                cells = [entry["methods"][method].get(c, {}) for c in cohorts]
                lines.append(f"| {method} | " + " | ".join(fmt(c.get(metric), c.get(f"{metric}_std")) for c in cells) + " |")
            lines.append("")
    lines += ["Ablation:", "", ablation_table(results), "", "Targets:", "", *target_lines(results["targets"]), "",
              "Training: " + "; ".join(f"{m}: {t}" for m, t in results["training"].items()), ""]
    return "\n".join(lines)


def ablation_table(results: dict) -> str:
    """One world's ablation in one table: every task, metric and cohort, the methods side by side."""
    from userrep.report import fmt, population

    methods = [m for m in ("representation", "no_masking", "raw_features", f"pca_{results['bytes_per_user']['representation'] // 4}",
                           "onboarding_mean", "popularity", "majority") if any(m in e["methods"] for e in results["tasks"].values())]
    lines = ["| task | metric | cohort | users | " + " | ".join(methods) + " |", "|---" * (4 + len(methods)) + "|"]
    for task, entry in results["tasks"].items():
        for metric in TASK_METRICS[entry["kind"]]:
            for cohort in ("all", "cold_start", "heavy"):
                cells = [entry["methods"].get(m, {}).get(cohort, {}) for m in methods]
                if not any(c.get(metric) is not None for c in cells):
                    continue
                lines.append(f"| {task} | {metric} | {cohort} | {population(entry, cohort)} | "
                             + " | ".join(fmt(c.get(metric), c.get(f"{metric}_std")) if c else "-" for c in cells) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    from userrep.evaluate import EvalSettings

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--worlds", default="synthetic-1k,synthetic-5k,synthetic-20k,movielens")
    parser.add_argument("--variant", action="append", default=[], help="name:key=value,... (TrainConfig overrides)")
    parser.add_argument("--only-variants", action="store_true", help="Train only the --variant ones, not the defaults and no_masking.")
    parser.add_argument("--train-seeds", default="0")
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--max-users", type=int, default=20_000)
    parser.add_argument("--tag", default="", help="Suffix of the result files.")
    parser.add_argument("--build-only", action="store_true")
    parser.add_argument("--render-only", action="store_true", help="Rewrite the .md (and targets) from the saved .json.")
    args = parser.parse_args(argv)
    from threadpoolctl import threadpool_limits

    threadpool_limits(1)  # BLAS threads fighting other jobs for two cores were many times slower than one
    variants = {} if args.only_variants else dict(VARIANTS)
    variants.update(parse_variant(v) for v in args.variant)
    settings = EvalSettings(folds=args.folds, seeds=tuple(range(args.repeats)), max_users=args.max_users or None)
    RESULTS.mkdir(parents=True, exist_ok=True)
    for name in args.worlds.split(","):
        if args.build_only:
            print(f"{name}: {build_world(name)}", flush=True)
            continue
        stem = RESULTS / f"quality-{name}{'-' + args.tag if args.tag else ''}"
        if args.render_only:
            from userrep.evaluate import check_targets

            results = json.loads(stem.with_suffix(".json").read_text())
            results["targets"] = [check for method in results["meta"]["methods"] for check in check_targets(results, method)]
        else:
            results = run_world(name, variants, [int(s) for s in args.train_seeds.split(",")], settings)
            results["date"], results["commit"] = dt.date.today().isoformat(), git_commit()
        stem.with_suffix(".json").write_text(json.dumps(results, indent=2, default=float))
        text = markdown(results)
        stem.with_suffix(".md").write_text(text)
        print(text, flush=True)


if __name__ == "__main__":
    main()
