"""The stability section of `userrep evaluate`: does a downstream model fitted on an earlier
version's vectors keep working, unchanged, on this version's?

For each yes/no task, a probe fitted on the earlier version's embeddings (training folds) scores
this version's embeddings of the test folds: retention = that AUC / the probe's AUC on the earlier
version's own embeddings of the same users. The same for a retrain with the same settings but
not aligned (the number to beat: without alignment a retrain is another space), and this
version's own quality against that retrain's (each with a probe fitted on its own vectors).
"""

from __future__ import annotations

import numpy as np

from userrep.evaluate import MIN_PER_CLASS, EvalSettings, probe

RETENTION_TARGET = 0.99  # of the earlier version's AUC, with the earlier version's probe
OWN_QUALITY_TARGET = 0.99  # of an unaligned retrain's AUC


def _auc(y: np.ndarray, score: np.ndarray) -> float:
    from sklearn.metrics import roc_auc_score

    return float(roc_auc_score(y, score)) if len(set(y)) > 1 else float("nan")


def _summary(values: list[float], target: float) -> dict:
    finite = np.array([v for v in values if np.isfinite(v)])
    if len(finite) < 2:
        return {"mean": None, "std": None, "folds": values, "status": "too few users"}
    mean, std = float(finite.mean()), float(finite.std(ddof=1))
    status = "met" if mean >= target else "tie" if target - mean <= std else "missed"
    return {"mean": mean, "std": std, "folds": [float(v) for v in values], "status": status}


def stability(labels: dict[str, np.ndarray], version: str, vectors: np.ndarray, earlier: dict[str, np.ndarray],
              unaligned: np.ndarray | None, settings: EvalSettings) -> dict:
    """`earlier`: version -> its embeddings of the same users (rows aligned with `vectors`)."""
    known = np.all([np.isfinite(e).all(axis=1) for e in earlier.values()], axis=0) if earlier else np.ones(len(vectors), bool)
    tasks = {}
    for task, y_all in labels.items():
        rows = np.flatnonzero(known)
        y = y_all[rows]
        entry = {"users": int(len(rows)), "positives": int(y.sum()), "retention": {}, "own_quality": None}
        if min(y.sum(), (~y).sum()) < max(settings.folds, MIN_PER_CLASS):
            entry["status"] = "too few users"
            tasks[task] = entry
            continue
        kept: dict = {base: {"aligned": [], "unaligned": [], "base_auc": []} for base in earlier}
        own, own_unaligned, ratio = [], [], []
        for _, train, test in settings.splits(len(rows), y):
            train_rows, test_rows = rows[train], rows[test]
            for base, base_vectors in earlier.items():
                model = probe().fit(base_vectors[train_rows], y[train])
                base_auc = _auc(y[test], model.predict_proba(base_vectors[test_rows])[:, 1])
                kept[base]["base_auc"].append(base_auc)
                kept[base]["aligned"].append(_auc(y[test], model.predict_proba(vectors[test_rows])[:, 1]) / base_auc)
                if unaligned is not None:
                    kept[base]["unaligned"].append(_auc(y[test], model.predict_proba(unaligned[test_rows])[:, 1]) / base_auc)
            mine = _auc(y[test], probe().fit(vectors[train_rows], y[train]).predict_proba(vectors[test_rows])[:, 1])
            own.append(mine)
            if unaligned is not None:
                theirs = _auc(y[test], probe().fit(unaligned[train_rows], y[train]).predict_proba(unaligned[test_rows])[:, 1])
                own_unaligned.append(theirs)
                ratio.append(mine / theirs)
        for base, values in kept.items():
            entry["retention"][base] = {
                "base_auc": float(np.nanmean(values["base_auc"])),
                "aligned": _summary(values["aligned"], RETENTION_TARGET),
                "unaligned": _summary(values["unaligned"], RETENTION_TARGET) if unaligned is not None else None,
            }
        entry["own_auc"] = float(np.nanmean(own))
        if unaligned is not None:
            entry["unaligned_own_auc"] = float(np.nanmean(own_unaligned))
            entry["own_quality"] = _summary(ratio, OWN_QUALITY_TARGET)
        tasks[task] = entry
    return {"version": version, "compared_with": list(earlier), "tasks": tasks,
            "users_with_every_earlier_vector": int(known.sum()), "users": int(len(vectors))}


def stability_lines(section: dict) -> list[str]:
    """The report's stability section in Markdown."""
    lines = ["", "## Stability", ""]
    if section.get("note"):
        return lines + [section["note"]]
    lines += [
        f"A probe fitted on an earlier version's vectors, applied unchanged to {section['version']}'s: retention = its AUC "
        f"on {section['version']} / its AUC on the earlier version (target >= {RETENTION_TARGET}); the same for a retrain "
        f"with the same settings, not aligned; and {section['version']}'s own AUC / the unaligned retrain's own AUC "
        f"(target >= {OWN_QUALITY_TARGET}). Mean ± standard deviation over folds x seeds; "
        f"{section['users_with_every_earlier_vector']:,} of {section['users']:,} users have a vector in every version compared.",
        "",
        "| task | users | earlier version | its own AUC | retention, aligned | retention, unaligned retrain | own AUC / unaligned | status |",
        "|---|---|---|---|---|---|---|---|",
    ]

    def cell(summary):
        return "n/a" if not summary or summary["mean"] is None else f"{summary['mean']:.3f} ± {summary['std']:.3f}"

    for task, entry in section["tasks"].items():
        users = f"{entry['users']:,} ({entry['positives']:,} positive)"
        if not entry["retention"]:
            lines.append(f"| {task} | {users} | n/a | n/a | n/a | n/a | n/a | too few users |")
            continue
        for base, kept in entry["retention"].items():
            statuses = [kept["aligned"]["status"]] + ([entry["own_quality"]["status"]] if entry["own_quality"] else [])
            status = next((s for s in ("too few users", "missed", "tie") if s in statuses), "met")
            lines.append(f"| {task} | {users} | {base} | {kept['base_auc']:.3f} | {cell(kept['aligned'])} | {cell(kept['unaligned'])} "
                         f"| {cell(entry['own_quality'])} | {status if status in ('met', 'tie') else '**' + status + '**'} |")
    return lines


def stability_section(warehouse, registry, version: str, data, settings: EvalSettings, echo=print) -> dict:
    """The section for `userrep evaluate --version`: against the version it was aligned to and the
    first version of its space, next to a retrain with the same settings that is not aligned."""
    import duckdb

    from training.align import version_embeddings
    from training.train import encode_rows, unaligned_twin

    manifest = registry.manifest(version)
    if not manifest.aligned_to:
        return {"note": f"{version} started space {manifest.representation_space} (not aligned to an earlier version): "
                        "no earlier version's downstream model to keep."}
    compared = list(dict.fromkeys([manifest.aligned_to, manifest.representation_space]))
    with duckdb.connect(str(warehouse), read_only=True) as con:
        earlier = {v: version_embeddings(con, registry, v, data.user_ids, data.features, data.meta["feature_schema_hash"])[0]
                   for v in compared}
    echo(f"stability: retraining {version}'s settings without alignment, to compare with ...")
    unaligned = encode_rows(unaligned_twin(warehouse, manifest), data.features)
    return stability(data.binary_labels, version, data.representation, earlier, unaligned, settings)
