"""`userrep evaluate --version vN`: is the representation worth shipping?

Downstream tasks with labels from the held-out future window (never from the feature window),
the representation against baselines on the same splits, per cohort. scikit-learn does the
models and the metrics. The encoder runs through onnxruntime exactly as in the warehouse.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import numpy as np
from sklearn.decomposition import PCA
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.metrics import f1_score, roc_auc_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from python_udfs.onnx_functions import OnnxFunction
from training.data import load_features
from userrep.registry import Registry, check_compatible
from userrep.tasks import task_labels


@dataclass
class EvalData:
    user_ids: np.ndarray
    features: np.ndarray
    representation: np.ndarray
    reconstruction: np.ndarray
    groups: list
    onboarding_columns: np.ndarray  # positions of the onboarding mean groups in features
    cohorts: dict[str, np.ndarray]  # cohort name -> boolean mask over users
    binary_labels: dict[str, np.ndarray]
    genre: np.ndarray | None  # dominant future genre (object, None when no future plays)
    genre_map: dict | None  # item_id -> genre label
    attribute: tuple[str, np.ndarray] | None  # a user attribute that is not an input feature
    future_items: list[set]
    item_ids: np.ndarray | None = None
    item_vectors: np.ndarray | None = None
    retrieval_encoder: str | None = None
    history_popularity: np.ndarray | None = None
    meta: dict = field(default_factory=dict)


def _onnx(path: Path, input_dim: int, output_dim: int, rows: np.ndarray) -> np.ndarray:
    function = OnnxFunction(name=path.name, path=path, input_dim=input_dim, output_dim=output_dim)
    return np.concatenate([function.run(rows[i : i + 8192]) for i in range(0, len(rows), 8192)]) if len(rows) else rows


def _genre_map(con, raw: Path) -> dict | None:
    """item -> genre label: the generator's item_groups.parquet, else the first of an items `genres` list."""
    if (raw / "item_groups.parquet").exists():
        rows = con.execute(
            f"""select g.item_id, i.modality || ':' || g."group" from read_parquet('{raw}/item_groups.parquet') g
                join read_parquet('{raw}/items.parquet') i using (item_id)"""
        ).fetchall()
        return dict(rows)
    columns = [r[0] for r in con.execute(f"describe select * from read_parquet('{raw}/items.parquet')").fetchall()]
    if "genres" in columns:
        return dict(con.execute(
            f"select item_id, split_part(genres, '|', 1) from read_parquet('{raw}/items.parquet') where genres not like '(no%'"
        ).fetchall())
    return None


def load_eval_data(warehouse: Path, raw: Path, registry: Registry, version: str) -> EvalData:
    manifest = registry.verify(version)
    with duckdb.connect(str(warehouse), read_only=True) as con:
        check_compatible(con, manifest)
        data = load_features(con)
        users = np.array(data.user_ids, dtype=object)
        rep = _onnx(registry.path(version) / "encoder.onnx", manifest.input_dim, manifest.latent_dim, data.features)
        rec = _onnx(registry.path(version) / "decoder.onnx", manifest.latent_dim, manifest.input_dim, rep)
        stats = dict(con.execute(
            """select u.user_id, struct_pack(signup := u.signup_ts, events := coalesce(e.n, 0))
               from stg_raw__users u left join (select user_id, count(*) n from stg_raw__events group by 1) e using (user_id)"""
        ).fetchall())
        as_of = np.datetime64(data.as_of)
        signup = np.array([np.datetime64(stats[u]["signup"]) for u in users], dtype="datetime64[us]")
        events = np.array([stats[u]["events"] for u in users])
        heavy_cut = np.quantile(events, 0.9)
        cohorts = {
            "all": np.ones(len(users), bool),
            "cold_start": (signup >= as_of - np.timedelta64(6, "D")) | (events <= 5),
            "heavy": events >= max(heavy_cut, 1),
        }
        binary = {}
        has_podcasts = con.execute("select count(*) from stg_raw__items where modality = 'podcast'").fetchall()[0][0] > 0
        for task in ["active_next_7d"] + (["podcast_propensity"] if has_podcasts else []):
            labels = task_labels(con, task, raw)
            binary[task] = np.array([labels[u] for u in users], bool)

        genre_map = _genre_map(con, raw)
        future = con.execute(
            f"select user_id, item_id, weight from read_parquet('{raw}/future_events.parquet') order by all"
        ).fetchall()
        index = {u: i for i, u in enumerate(users)}
        future_items = [set() for _ in users]
        genre_weight: list[dict] = [dict() for _ in users]
        for user, item, weight in future:
            i = index.get(user)
            if i is None:
                continue
            future_items[i].add(item)
            if genre_map and item in genre_map:
                g = genre_map[item]
                genre_weight[i][g] = genre_weight[i].get(g, 0.0) + max(weight, 1e-6)
        genre = np.array([max(sorted(w), key=w.get) if w else None for w in genre_weight], dtype=object) if genre_map else None

        attribute = None
        if (raw / "user_traits.parquet").exists():
            traits = dict(con.execute(f"select user_id, life_stage from read_parquet('{raw}/user_traits.parquet')").fetchall())
            attribute = ("life_stage", np.array([traits.get(u) for u in users], dtype=object))

        # retrieval happens in the space of the encoder covering the most items
        encoder = con.execute("select encoder from stg_raw__item_embeddings group by 1 order by count(*) desc, 1 limit 1").fetchall()[0][0]
        emb = con.sql(f"select item_id, embedding from stg_raw__item_embeddings where encoder = '{encoder}' order by item_id").to_arrow_table()
        item_ids = np.array(emb.column("item_id").to_pylist(), dtype=object)
        item_vectors = np.array(emb.column("embedding").to_pylist(), np.float32)
        popularity = dict(con.execute("select item_id, count(*) from stg_raw__events group by 1").fetchall())
    onboarding = np.concatenate([np.arange(g.feature_offset, g.feature_offset + g.dim) for g in data.groups
                                 if g.kind == "onboarding_mean"] or [np.array([], int)])
    return EvalData(
        user_ids=users, features=data.features, representation=rep, reconstruction=rec, groups=data.groups,
        onboarding_columns=onboarding, cohorts=cohorts, binary_labels=binary, genre=genre, genre_map=genre_map,
        attribute=attribute, future_items=future_items, item_ids=item_ids, item_vectors=item_vectors,
        retrieval_encoder=encoder, history_popularity=np.array([popularity.get(i, 0) for i in item_ids], float),
        meta={"version": version, "as_of": data.as_of, "users": len(users), "input_dim": int(data.features.shape[1]),
              "latent_dim": int(rep.shape[1]), "version_metrics": {k: v for k, v in manifest.metrics.items() if k != "history"}},
    )


def _classifier():
    return make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000, C=0.5))


def feature_sets(data: EvalData, train: np.ndarray, k: int) -> dict[str, np.ndarray]:
    """Inputs each method gets: the representation and the baselines, fitted on the train split only."""
    scaler = StandardScaler().fit(data.features[train])
    pca = PCA(n_components=k, random_state=0).fit(scaler.transform(data.features[train]))
    sets = {
        "representation": data.representation,
        "raw_features": data.features,
        f"pca_{k}": pca.transform(scaler.transform(data.features)),
    }
    if len(data.onboarding_columns):
        sets["onboarding_mean"] = data.features[:, data.onboarding_columns]
    return sets


def _recall(scores: np.ndarray, truth: list[set], item_ids: np.ndarray, ks=(10, 50)) -> dict[str, float]:
    top = np.argsort(-scores, axis=1, kind="stable")[:, : max(ks)]
    result = {}
    for k in ks:
        hits = [len(set(item_ids[row[:k]]) & t) / len(t) for row, t in zip(top, truth)]
        result[f"recall@{k}"] = float(np.mean(hits)) if hits else float("nan")
    return result


def evaluate(data: EvalData, seed: int = 0) -> dict:
    rng = np.random.default_rng(seed)
    n = len(data.user_ids)
    test = np.zeros(n, bool)
    test[rng.permutation(n)[: n // 4]] = True
    train = ~test
    k = data.representation.shape[1]
    inputs = feature_sets(data, train, k)
    results: dict = {"tasks": {}, "meta": data.meta}

    def per_cohort(metric_fn, eligible: np.ndarray) -> dict:
        out = {}
        for cohort, mask in data.cohorts.items():
            rows = test & eligible & mask
            out[cohort] = {"n": int(rows.sum()), **metric_fn(rows)} if rows.sum() >= 10 else {"n": int(rows.sum())}
        return out

    for task, y in data.binary_labels.items():
        entry = {"metric": "roc_auc", "positive_rate": float(y.mean()), "methods": {}}
        for name, x in inputs.items():
            model = _classifier().fit(x[train], y[train])
            p = model.predict_proba(x)[:, 1]
            entry["methods"][name] = per_cohort(
                lambda rows: {"roc_auc": float(roc_auc_score(y[rows], p[rows])) if len(set(y[rows])) > 1 else float("nan")},
                np.ones(n, bool))
        entry["methods"]["majority"] = per_cohort(lambda rows: {"roc_auc": 0.5}, np.ones(n, bool))
        results["tasks"][task] = entry

    for task, labels in [("future_genre", data.genre), (data.attribute[0] if data.attribute else None,
                                                        data.attribute[1] if data.attribute else None)]:
        if task is None or labels is None:
            continue
        eligible = np.array([v is not None for v in labels])
        classes = sorted({v for v in labels[eligible & train]})
        if len(classes) < 2:
            continue
        y = np.array([v if v is not None else "" for v in labels], dtype=object)
        fit_rows = train & eligible & np.isin(y, classes)
        entry = {"metric": "macro_f1", "classes": len(classes), "methods": {}}
        for name, x in inputs.items():
            model = _classifier().fit(x[fit_rows], y[fit_rows].astype(str))
            pred = model.predict(x)
            entry["methods"][name] = per_cohort(
                lambda rows: {"macro_f1": float(f1_score(y[rows].astype(str), pred[rows], average="macro"))}, eligible)
        majority = max(classes, key=lambda c: int((y[fit_rows] == c).sum()))
        entry["methods"]["majority"] = per_cohort(
            lambda rows: {"macro_f1": float(f1_score(y[rows].astype(str), np.full(rows.sum(), majority), average="macro"))}, eligible)
        results["tasks"][task] = entry

    if data.item_vectors is not None:
        catalog = {item: i for i, item in enumerate(data.item_ids)}
        truth = [{i for i in items if i in catalog} for items in data.future_items]
        eligible = np.array([len(t) > 0 for t in truth])
        # the target: the mean embedding of what the user played in the future window
        target = np.zeros((n, data.item_vectors.shape[1]), np.float32)
        for u in np.flatnonzero(eligible):
            target[u] = data.item_vectors[[catalog[i] for i in truth[u]]].mean(axis=0)
        entry = {"metric": "recall@10", "encoder": data.retrieval_encoder, "items": int(len(data.item_ids)), "methods": {}}
        # every method's similarity gets the same popularity prior (both standardised), so the
        # comparison is about what the user vector adds to popularity
        prior = np.log1p(data.history_popularity)
        prior = (prior - prior.mean()) / (prior.std() or 1.0)

        def ranked(similarity):
            similarity = (similarity - similarity.mean(axis=1, keepdims=True)) / (similarity.std(axis=1, keepdims=True) + 1e-9)
            return similarity + prior
        for name, x in inputs.items():
            model = make_pipeline(StandardScaler(), Ridge(alpha=10.0)).fit(x[train & eligible], target[train & eligible])
            query = model.predict(x)

            def metric(rows, query=query):
                idx = np.flatnonzero(rows)
                return _recall(ranked(query[idx] @ data.item_vectors.T), [truth[i] for i in idx], data.item_ids)

            entry["methods"][name] = per_cohort(metric, eligible)

        def popular(rows):
            idx = np.flatnonzero(rows)
            return _recall(np.tile(data.history_popularity, (len(idx), 1)), [truth[i] for i in idx], data.item_ids)

        entry["methods"]["popularity"] = per_cohort(popular, eligible)
        results["tasks"]["future_retrieval"] = entry

    results["reconstruction"] = reconstruction_by_group(data)
    results["bytes_per_user"] = {"representation": int(k * 4), "raw_features": int(data.features.shape[1] * 4)}
    results["targets"] = check_targets(results)
    return results


def reconstruction_by_group(data: EvalData) -> list[dict]:
    """Per feature group: mean squared error of decoder(encoder(x)) divided by the group's variance."""
    rows = []
    for g in data.groups:
        cols = slice(g.feature_offset, g.feature_offset + g.dim)
        x, r = data.features[:, cols], data.reconstruction[:, cols]
        variance = float(x.var(axis=0).sum())
        rows.append({"group": g.group_name, "kind": g.kind, "dim": g.dim,
                     "normalised_mse": float(((x - r) ** 2).mean(axis=0).sum() / variance) if variance > 0 else 0.0})
    return rows


def _value(results, task, method, cohort, metric):
    return results["tasks"].get(task, {}).get("methods", {}).get(method, {}).get(cohort, {}).get(metric)


def check_targets(results: dict) -> list[dict]:
    """The issue's targets, side by side with what was measured."""
    checks = []
    pca = next((m for m in next(iter(results["tasks"].values()), {}).get("methods", {}) if m.startswith("pca_")), None)
    for task, entry in results["tasks"].items():
        if entry["metric"] != "roc_auc":
            continue
        rep, raw = _value(results, task, "representation", "all", "roc_auc"), _value(results, task, "raw_features", "all", "roc_auc")
        base = _value(results, task, pca, "all", "roc_auc")
        checks.append({"target": f"{task}: representation AUC >= 97% of raw-feature AUC", "measured": f"{rep:.3f} vs {raw:.3f} ({rep / raw:.1%})",
                       "met": rep >= 0.97 * raw})
        checks.append({"target": f"{task}: representation AUC >= {pca} AUC", "measured": f"{rep:.3f} vs {base:.3f}", "met": rep >= base})
    for task, metric in [("future_genre", "macro_f1"), ("future_retrieval", "recall@10")]:
        rep = _value(results, task, "representation", "cold_start", metric)
        onboarding = _value(results, task, "onboarding_mean", "cold_start", metric)
        if rep is not None and onboarding is not None:
            checks.append({"target": f"cold start, {task}: representation beats the onboarding-mean baseline ({metric})",
                           "measured": f"{rep:.3f} vs {onboarding:.3f}", "met": rep > onboarding})
    return checks
