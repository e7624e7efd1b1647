"""The evaluation report: metrics.json, Markdown tables and PNG plots in reports/<version>/."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np

from userrep.evaluate import COHORTS, MIN_PER_CLASS, MIN_USERS, EvalData
from userrep.stability import stability_lines

METHOD_ORDER = ["representation", "raw_features", "pca", "onboarding_mean", "majority", "popularity"]


def methods_in_order(entry: dict) -> list[str]:
    return sorted(entry.get("methods", {}), key=lambda m: next((i for i, p in enumerate(METHOD_ORDER) if m.startswith(p)), 99))


def metrics_of(entry: dict) -> list[str]:
    """The metric names a task's cells carry (recall@10 before recall@50)."""
    names = {m for method in entry.get("methods", {}).values() for cell in method.values() for m in cell
             if m not in ("n", "positives") and not m.endswith(("_std", "_folds"))}
    return sorted(names, key=lambda m: (m.split("@")[0], int(m.split("@")[1]) if "@" in m else 0))


def fmt(value, spread=None) -> str:
    if value is None or (isinstance(value, float) and not np.isfinite(value)):
        return "n/a"
    return f"{value:.3f}" if spread is None else f"{value:.3f} ± {spread:.3f}"


def population(entry: dict, cohort: str) -> str:
    """Users (and positives) behind a cohort's numbers."""
    cell = next((m[cohort] for m in entry.get("methods", {}).values() if cohort in m), None)
    if cell is None:
        return "0"
    return f"{cell['n']:,}" + (f" ({cell['positives']:,} positive)" if "positives" in cell else "")


def task_lines(task: str, entry: dict) -> list[str]:
    lines = ["", f"## {task} ({entry['metric'].split('@')[0] if entry['kind'] == 'retrieval' else entry['metric']})", ""]
    about = {"binary": f"{entry['users']:,} users, {entry.get('positives', 0):,} positive.",
             "multiclass": (f"{entry['users']:,} users in {entry.get('classes', 0)} classes "
                            f"({entry.get('left_out_rare_class_users', 0):,} users of rarer classes and "
                            f"{entry.get('unlabelled_users', 0):,} without a label left out)."),
             "retrieval": (f"{entry['users']:,} users with new future items: {entry.get('future_items', 0):,} (user, item) pairs "
                           f"among {entry.get('items', 0):,} candidate items (items with an event before as_of), ranked "
                           "without the user's own history. Left out: "
                           f"{entry.get('future_repeats', 0):,} pairs the user had before and "
                           f"{entry.get('future_unseen_items', 0):,} of items nobody had before.")}
    lines.append(about[entry["kind"]])
    metrics = metrics_of(entry)
    if not metrics:
        lines += ["", "Not evaluated: too few labelled users (a class needs at least one user per fold)."]
        return lines
    cohorts = [c for c in COHORTS if any(c in m for m in entry["methods"].values())]
    for metric in metrics:
        lines += ["", f"| {metric} | " + " | ".join(cohorts) + " |", "|---" * (1 + len(cohorts)) + "|"]
        for method in methods_in_order(entry):
            cells = [entry["methods"][method].get(c, {}) for c in cohorts]
            lines.append(f"| {method} | " + " | ".join(fmt(cell.get(metric), cell.get(f"{metric}_std")) for cell in cells) + " |")
        lines.append("| users | " + " | ".join(population(entry, c) for c in cohorts) + " |")
    return lines


def target_lines(checks: list[dict]) -> list[str]:
    lines = ["| task | cohort | target | measured | difference ± spread | users | status |", "|---|---|---|---|---|---|---|"]
    for c in checks:
        users = f"{c['n']:,}" + (f" ({c['positives']:,} positive)" if c.get("positives") is not None else "")
        spread = "n/a" if c["difference"] is None else f"{c['difference']:+.3f} ± {c['spread']:.3f}"
        status = c["status"] if c["status"] in ("met", "tie") else f"**{c['status']}**"
        lines.append(f"| {c['task']} | {c['cohort']} | {c['target']} ({c['metric']}) | {fmt(c['method'])} vs {fmt(c['baseline'])} "
                     f"| {spread} | {users} | {status} |")
    return lines


def plot_metrics(results: dict, path: Path, cohort: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = []
    for task, entry in results["tasks"].items():
        for metric in metrics_of(entry)[:1]:
            methods = [m for m in methods_in_order(entry) if entry["methods"][m].get(cohort, {}).get(metric) is not None]
            if methods:
                panels.append((task, metric, entry, methods))
    fig, axes = plt.subplots(1, max(len(panels), 1), figsize=(3.2 * max(len(panels), 1), 3.4), squeeze=False)
    for ax, (task, metric, entry, methods) in zip(axes[0], panels):
        cells = [entry["methods"][m][cohort] for m in methods]
        ax.bar(range(len(methods)), [c[metric] for c in cells], yerr=[c.get(f"{metric}_std") or 0 for c in cells],
               color=["#d62728" if m == "representation" else "#7f7f7f" for m in methods], capsize=2)
        ax.set_xticks(range(len(methods)), methods, rotation=60, ha="right", fontsize=7)
        ax.set_title(f"{task}\n{metric}, {population(entry, cohort)} users", fontsize=8)
    if not panels:
        axes[0][0].axis("off")
        axes[0][0].text(0.5, 0.5, f"no task has enough labelled users\nin the {cohort} cohort", ha="center", va="center")
    fig.suptitle(f"cohort: {cohort} (mean ± standard deviation over folds x seeds)", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_map(data: EvalData, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from sklearn.decomposition import PCA

    labels = data.genre if data.genre is not None else np.array([None] * len(data.user_ids), dtype=object)
    rng = np.random.default_rng(0)
    rows = np.arange(len(labels))[rng.permutation(len(labels))[:4000]]
    xy = PCA(n_components=2, random_state=0).fit_transform(data.representation[rows])
    values = np.array(["no label" if v is None else str(v) for v in labels[rows]], dtype=object)
    classes, counts = np.unique(values, return_counts=True)
    shown = set(classes[np.argsort(-counts, kind="stable")[:19]])  # the rest share one colour
    values = np.array([v if v in shown else "other" for v in values], dtype=object)
    fig, ax = plt.subplots(figsize=(6, 5))
    cmap = plt.get_cmap("tab20")
    for i, c in enumerate(sorted(set(values))):
        mask = values == c
        ax.scatter(xy[mask, 0], xy[mask, 1], s=4, color=cmap(i % 20), label=f"{c} ({mask.sum()})")
    ax.set_title("representations (PCA to 2-D), coloured by the user's top future genre", fontsize=8)
    ax.legend(fontsize=6, markerscale=3, ncol=2)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def write_report(results: dict, data: EvalData, out: Path, loss_curve: Path | None, cost_dir: Path | None = None) -> Path:
    """cost_dir: where `userrep cost` wrote its measurement, for the report's section on it."""
    out.mkdir(parents=True, exist_ok=True)
    (out / "metrics.json").write_text(json.dumps(results, indent=2, sort_keys=True, default=float))
    for cohort in COHORTS:
        plot_metrics(results, out / f"metrics_{cohort}.png", cohort)
    plot_map(data, out / "representation_map.png")
    if loss_curve and loss_curve.exists():
        shutil.copy(loss_curve, out / "loss_curve.png")

    meta = results["meta"]
    sample = "" if meta["users"] == meta.get("warehouse_users", meta["users"]) else f" (a fixed sample of the {meta['warehouse_users']:,})"
    lines = [
        f"# userrep evaluation: {meta['version']}",
        "",
        f"{meta['users']:,} users{sample}, features as of {meta['as_of']} ({meta['holdout']} holdout): {meta['input_dim']} raw "
        f"floats -> {results['bytes_per_user']['representation'] // 4} floats ({results['bytes_per_user']['representation']} "
        f"bytes per user instead of {results['bytes_per_user']['raw_features']}). Labels come from the held-out future only. "
        f"Every number is the mean ± standard deviation over {meta['folds']} cross-validation folds x {len(meta['seeds'])} seeds; "
        "every method sees the same folds; cohorts are subsets of each fold's test users.",
        "",
        "## Targets",
        "",
        "A target is met when the paired per-fold difference is >= 0, a tie when it is below 0 by less than its "
        f"standard deviation, and not judged on fewer than {MIN_USERS} users or {MIN_PER_CLASS} users of a class.",
        "",
        *(target_lines(results["targets"]) if results["targets"] else ["No target could be checked: no task has labels."]),
    ]
    for task, entry in results["tasks"].items():
        lines += task_lines(task, entry)
    if results.get("stability"):
        lines += stability_lines(results["stability"])
    if results.get("reconstruction"):
        lines += ["", "## Reconstruction error per feature group", "",
                  "Mean squared error of decoder(encoder(x)) over the group's variance (0 is perfect, 1 is no better than the mean).",
                  "", "| group | kind | dim | normalised MSE |", "|---|---|---|---|"]
        lines += [f"| {r['group']} | {r['kind']} | {r['dim']} | {r['normalised_mse']:.3f} |" for r in results["reconstruction"]]
    if cost_dir is not None:
        from userrep.cost import report_section

        lines += ["", *report_section(cost_dir, out)]
    lines += ["", "## Plots", "", "![all users](metrics_all.png)", "", "![cold start](metrics_cold_start.png)", "",
              "![heavy users](metrics_heavy.png)", "", "![map](representation_map.png)", ""]
    if (out / "loss_curve.png").exists():
        lines += ["![loss](loss_curve.png)", ""]
    index = out / "index.md"
    index.write_text("\n".join(lines))
    return index
