"""The evaluation report: metrics.json, Markdown tables and PNG plots in reports/<version>/."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np

from userrep.evaluate import EvalData

METHOD_ORDER = ["representation", "raw_features", "pca", "onboarding_mean", "majority", "popularity"]


def _methods(entry: dict) -> list[str]:
    return sorted(entry["methods"], key=lambda m: next((i for i, p in enumerate(METHOD_ORDER) if m.startswith(p)), 99))


def _fmt(value) -> str:
    return "n/a" if value is None or (isinstance(value, float) and np.isnan(value)) else f"{value:.3f}"


def plot_metrics(results: dict, path: Path, cohort: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    tasks = list(results["tasks"])
    fig, axes = plt.subplots(1, len(tasks), figsize=(3.2 * len(tasks), 3.4), squeeze=False)
    for ax, task in zip(axes[0], tasks):
        entry = results["tasks"][task]
        methods = _methods(entry)
        values = [entry["methods"][m].get(cohort, {}).get(entry["metric"], np.nan) for m in methods]
        ax.bar(range(len(methods)), values, color=["#d62728" if m == "representation" else "#7f7f7f" for m in methods])
        ax.set_xticks(range(len(methods)), methods, rotation=60, ha="right", fontsize=7)
        ax.set_title(f"{task}\n{entry['metric']}", fontsize=8)
    fig.suptitle(f"cohort: {cohort}", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_map(data: EvalData, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from sklearn.decomposition import PCA

    labels = data.genre if data.genre is not None else np.array([None] * len(data.user_ids), dtype=object)
    known = np.array([v is not None for v in labels])
    rng = np.random.default_rng(0)
    rows = np.flatnonzero(known)
    rows = rows[rng.permutation(len(rows))[:4000]]
    xy = PCA(n_components=2, random_state=0).fit_transform(data.representation[rows])
    classes = sorted(set(labels[rows]))
    fig, ax = plt.subplots(figsize=(6, 5))
    cmap = plt.get_cmap("tab20")
    for i, c in enumerate(classes):
        mask = labels[rows] == c
        ax.scatter(xy[mask, 0], xy[mask, 1], s=4, color=cmap(i % 20), label=str(c))
    ax.set_title("representations (PCA to 2-D), coloured by the user's dominant future genre", fontsize=8)
    if len(classes) <= 20:
        ax.legend(fontsize=6, markerscale=3, ncol=2)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def write_report(results: dict, data: EvalData, out: Path, loss_curve: Path | None) -> Path:
    out.mkdir(parents=True, exist_ok=True)
    (out / "metrics.json").write_text(json.dumps(results, indent=2, sort_keys=True, default=float))
    for cohort in ("all", "cold_start", "heavy"):
        plot_metrics(results, out / f"metrics_{cohort}.png", cohort)
    plot_map(data, out / "representation_map.png")
    if loss_curve and loss_curve.exists():
        shutil.copy(loss_curve, out / "loss_curve.png")

    meta = results["meta"]
    lines = [
        f"# userrep evaluation: {meta['version']}",
        "",
        f"{meta['users']:,} users, features as of {meta['as_of']}: {meta['input_dim']} raw floats -> "
        f"{meta['latent_dim']} floats ({results['bytes_per_user']['representation']} bytes per user instead of "
        f"{results['bytes_per_user']['raw_features']}). Labels come from the held-out future window only. "
        "Every method gets the same train/test split (75/25); cohorts are subsets of the test users.",
        "",
        "## Targets",
        "",
        "| target | measured | met |",
        "|---|---|---|",
    ]
    lines += [f"| {c['target']} | {c['measured']} | {'yes' if c['met'] else '**no**'} |" for c in results["targets"]]
    for task, entry in results["tasks"].items():
        lines += ["", f"## {task} ({entry['metric']})", ""]
        cohorts = list(next(iter(entry["methods"].values())))
        metrics = sorted({m for method in entry["methods"].values() for c in method.values() for m in c if m != "n"},
                         key=lambda m: (m.split("@")[0], int(m.split("@")[1]) if "@" in m else 0))
        header = " | ".join(f"{c} {m}" for c in cohorts for m in metrics)
        lines += [f"| method | {header} |", "|---" * (1 + len(cohorts) * len(metrics)) + "|"]
        for method in _methods(entry):
            cells = " | ".join(_fmt(entry["methods"][method].get(c, {}).get(m)) for c in cohorts for m in metrics)
            lines.append(f"| {method} | {cells} |")
        sizes = ", ".join(f"{c}: {entry['methods']['representation'][c]['n']}" for c in cohorts)
        lines.append(f"\nTest users per cohort: {sizes}.")
    lines += ["", "## Reconstruction error per feature group", "",
              "Mean squared error of decoder(encoder(x)) over the group's variance (0 is perfect, 1 is no better than the mean).",
              "", "| group | kind | dim | normalised MSE |", "|---|---|---|---|"]
    lines += [f"| {r['group']} | {r['kind']} | {r['dim']} | {r['normalised_mse']:.3f} |" for r in results["reconstruction"]]
    lines += ["", "## Plots", "", "![all users](metrics_all.png)", "", "![cold start](metrics_cold_start.png)", "",
              "![heavy users](metrics_heavy.png)", "", "![map](representation_map.png)", "", "![loss](loss_curve.png)", ""]
    index = out / "index.md"
    index.write_text("\n".join(lines))
    return index
