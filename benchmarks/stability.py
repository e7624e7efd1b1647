"""Stable space: does a downstream model fitted on v1 keep working on v2 and v3?

    python -m benchmarks.stability --worlds synthetic-20k,movielens

On each world (benchmarks.quality builds it), v1 is trained, then v2 aligned to v1 and v3 aligned
to v2 (userrep train's default), each with its own seed, and for v2 and v3 a retrain with the same
seed and settings that is not aligned. The stability section of `userrep evaluate` is computed for
v2 (against v1) and v3 (against v2 and v1). Results go to benchmarks/results/stability-<world>.json
and .md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import shutil
import time

import numpy as np

from benchmarks.quality import RESULTS, build_world, git_commit, parse_variant


def run_world(name: str, overrides: dict, settings) -> dict:
    import duckdb
    import torch

    from training.align import encode_with
    from training.config import TrainConfig
    from training.data import load_features
    from training.model import ExportedEncoder
    from training.train import encode_rows, fit, train_and_register
    from userrep.evaluate import load_eval_data
    from userrep.registry import Registry
    from userrep.stability import stability

    world = build_world(name)
    registry = Registry(world / "registry-stability")
    shutil.rmtree(registry.root, ignore_errors=True)
    base = dict(overrides)
    facts = {}
    for seed in (0, 1, 2):
        started = time.perf_counter()
        manifest = train_and_register(world / "warehouse.duckdb", registry, TrainConfig(**{**base, "seed": seed}), progress=False,
                                      raw_dir=world / "raw")
        facts[manifest.version] = {"seconds": round(time.perf_counter() - started, 1), "space": manifest.space,
                                   "aligned_to": manifest.aligned_to,
                                   **{k: v for k, v in manifest.alignment.items() if k != "plan"}}
        print(f"  {name} {manifest.version}: {facts[manifest.version]}", flush=True)
    data = load_eval_data(world / "warehouse.duckdb", world / "raw", registry, "v3", max_users=settings.max_users)
    vectors = {v: encode_with(registry, registry.manifest(v), data.features) for v in ("v1", "v2", "v3")}
    unaligned = {}
    for version, seed in (("v2", 1), ("v3", 2)):
        cfg = TrainConfig(**{**base, "seed": seed})
        with duckdb.connect(str(world / "warehouse.duckdb"), read_only=True) as con:
            features = load_features(con, cfg.sample, cfg.seed)
        result = fit(features, cfg, progress=False)
        encoder = ExportedEncoder(result.model, torch.from_numpy(result.mean), torch.from_numpy(result.std)).eval()
        unaligned[version] = encode_rows(encoder, data.features)
    sections = {
        "v2": stability(data.binary_labels, "v2", vectors["v2"], {"v1": vectors["v1"]}, unaligned["v2"], settings),
        "v3": stability(data.binary_labels, "v3", vectors["v3"], {"v2": vectors["v2"], "v1": vectors["v1"]}, unaligned["v3"], settings),
    }
    cosines = {f"{a}-{b}": float(np.mean((vectors[a] * vectors[b]).sum(1))) for a, b in (("v1", "v2"), ("v2", "v3"), ("v1", "v3"))}
    return {"world": {"name": name, **json.loads((world / "built.json").read_text())}, "commit": git_commit(),
            "date": dt.date.today().isoformat(), "train": base, "versions": facts, "mean_cosine_eval_users": cosines,
            "users": int(len(data.user_ids)), "folds": settings.folds, "seeds": list(settings.seeds), "sections": sections}


def markdown(results: dict) -> str:
    from userrep.stability import stability_lines

    lines = [f"### {results['world']['name']}: {results['users']:,} users ({results['date']}, {results['commit']})", "",
             f"Training settings: {results['train']}. Mean cosine between versions' vectors of the same users: "
             + ", ".join(f"{k} {v:.4f}" for k, v in results["mean_cosine_eval_users"].items()) + "."]
    for version, section in results["sections"].items():
        lines += [line.replace("## Stability", f"#### {version}") for line in stability_lines(section)]
    lines += ["", "Versions: " + "; ".join(f"{v}: {f}" for v, f in results["versions"].items()), ""]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    from threadpoolctl import threadpool_limits

    from userrep.evaluate import EvalSettings

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--worlds", default="synthetic-20k,movielens")
    parser.add_argument("--train", default="", help="key=value,... TrainConfig overrides for every version")
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--max-users", type=int, default=20_000)
    parser.add_argument("--tag", default="")
    args = parser.parse_args(argv)
    threadpool_limits(1)  # BLAS threads fighting other jobs for two cores were many times slower than one
    overrides = parse_variant(f"train:{args.train}")[1]
    settings = EvalSettings(folds=args.folds, seeds=tuple(range(args.repeats)), max_users=args.max_users or None)
    RESULTS.mkdir(parents=True, exist_ok=True)
    for name in args.worlds.split(","):
        results = run_world(name, overrides, settings)
        stem = RESULTS / f"stability-{name}{'-' + args.tag if args.tag else ''}"
        stem.with_suffix(".json").write_text(json.dumps(results, indent=2, default=float))
        text = markdown(results)
        stem.with_suffix(".md").write_text(text)
        print(text, flush=True)


if __name__ == "__main__":
    main()
