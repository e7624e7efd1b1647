"""`userrep evaluate --version vN`: is the representation worth shipping?

Downstream tasks with labels from the held-out future only (never from the feature window): the
representation against the raw feature vector, PCA of it to the same size and simple baselines,
per cohort. Every metric is the mean and spread (standard deviation) over cross-validation folds
x seeds (scikit-learn's splitters), each method on the same folds; a comparison is a tie when the
mean of the paired per-fold differences is smaller than their spread. The encoder runs through
onnxruntime exactly as in the warehouse.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import numpy as np
import scipy.sparse as sp
from sklearn.decomposition import PCA
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import f1_score, roc_auc_score
from sklearn.model_selection import KFold, StratifiedKFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from python_udfs.onnx_functions import OnnxFunction
from training.data import load_features
from userrep.movielens import read_holdout, sql_string
from userrep.registry import Registry, check_compatible
from userrep.tasks import TIME_WINDOW_TASKS, task_labels

COHORTS = ("all", "cold_start", "heavy")
# A target is judged only on at least this many users, and a binary one on at least this many
# users of each class: below that, one split's noise decides it.
MIN_USERS = 50
MIN_PER_CLASS = 10
# The representation should keep at least this share of the raw vector's quality.
RAW_SHARE_TARGET = 0.98
TASK_METRICS = {"binary": ("roc_auc",), "multiclass": ("macro_f1",), "retrieval": ("recall@10", "recall@50")}


@dataclass
class EvalSettings:
    folds: int = 5
    seeds: tuple[int, ...] = (0, 1, 2)
    max_users: int | None = 20_000  # the probes see a deterministic sample of at most this many users

    def splits(self, n: int, labels: np.ndarray | None = None):
        """(seed, train indices, test indices) for every fold of every seed."""
        for seed in self.seeds:
            splitter = (StratifiedKFold if labels is not None else KFold)(self.folds, shuffle=True, random_state=seed)
            for train, test in splitter.split(np.zeros(n), labels):
                yield seed, train, test


@dataclass
class RetrievalData:
    """Which items each user engaged with before as_of, and which new ones after (users x items)."""

    item_ids: np.ndarray  # the candidates: every item with an event before as_of
    history: sp.csr_matrix
    future_new: sp.csr_matrix  # future items the user had not engaged with before
    future_pairs: int  # (user, item) pairs in the future, before leaving out the two kinds below
    future_repeats: int  # pairs already in the user's history
    future_unseen_items: int  # pairs whose item has no event before as_of (nobody could learn it)


@dataclass
class EvalData:
    user_ids: np.ndarray
    features: np.ndarray
    representations: dict[str, np.ndarray]  # method name -> [n, k]: the version first, then any ablation
    reconstruction: np.ndarray | None
    groups: list
    onboarding_columns: np.ndarray  # positions of the onboarding mean groups in features
    cohorts: dict[str, np.ndarray]  # cohort name -> boolean mask over users
    binary_labels: dict[str, np.ndarray]
    genre: np.ndarray | None  # top future genre (object, None when no future item has one)
    attribute: tuple[str, np.ndarray] | None  # a user attribute that is not an input feature
    retrieval: RetrievalData | None = None
    # [n, 3] from user_calendar_features when the calendar sits beside the vector (time_features
    # anchored): every method's input gets it, as a downstream model would join it
    calendar: np.ndarray | None = None
    meta: dict = field(default_factory=dict)

    @property
    def representation(self) -> np.ndarray:
        return next(iter(self.representations.values()))


def onnx_outputs(path: Path, input_dim: int, output_dim: int, rows: np.ndarray) -> np.ndarray:
    function = OnnxFunction(name=path.name, path=path, input_dim=input_dim, output_dim=output_dim)
    return np.concatenate([function.run(rows[i : i + 8192]) for i in range(0, len(rows), 8192)]) if len(rows) else rows


def genre_lists(con, raw: Path) -> dict | None:
    """item -> its genres: the generator's item group, else the items' `genres` list (a|b|c)."""
    if (raw / "item_groups.parquet").exists():
        rows = con.execute(
            f"""select g.item_id, i.modality || ':' || g."group" from read_parquet({sql_string(raw / 'item_groups.parquet')}) g
                join read_parquet({sql_string(raw / 'items.parquet')}) i using (item_id)"""
        ).fetchall()
        return {item: [genre] for item, genre in rows}
    columns = [r[0] for r in con.execute(f"describe select * from read_parquet({sql_string(raw / 'items.parquet')})").fetchall()]
    if "genres" in columns:
        rows = con.execute(
            f"select item_id, genres from read_parquet({sql_string(raw / 'items.parquet')}) where genres not like '(no%'"
        ).fetchall()
        return {item: sorted(genres.split("|")) for item, genres in rows if genres}
    return None


def top_genres(users: np.ndarray, future: list[tuple], genres: dict | None) -> np.ndarray | None:
    """Each user's top future genre: every future item spreads its weight over its genres."""
    if not genres:
        return None
    index = {u: i for i, u in enumerate(users)}
    totals: list[dict] = [dict() for _ in users]
    for user, item, weight in future:
        i = index.get(user)
        if i is None or item not in genres:
            continue
        for genre in genres[item]:
            totals[i][genre] = totals[i].get(genre, 0.0) + max(weight, 1e-6) / len(genres[item])
    return np.array([max(sorted(t), key=t.get) if t else None for t in totals], dtype=object)


def binary_labels(con, raw: Path, users: np.ndarray, future: list[tuple] | None = None, genres: dict | None = None,
                  per_user_genre_tasks: int = 3) -> dict[str, np.ndarray]:
    """The yes/no tasks the data supports, user by user. A global time cut gives the window tasks
    (active in the next 7 days) and podcast listening when there are podcasts. A per-user holdout
    puts each user's future at another time, so a window after as_of means nothing there: its
    tasks are "has a future item of genre G" for the genres closest to half the users (at most 3,
    between 20% and 80%)."""
    raw = Path(raw)
    labels = {}
    per_user = read_holdout(raw).get("holdout") == "per-user"
    has_podcasts = con.execute("select count(*) from stg_raw__items where modality = 'podcast'").fetchall()[0][0] > 0
    for task in ([] if per_user else list(TIME_WINDOW_TASKS)) + (["podcast_propensity"] if has_podcasts else []):
        by_user = task_labels(con, task, raw)
        labels[task] = np.array([by_user[u] for u in users], bool)
    if per_user:
        if future is None:
            future = con.execute(f"select user_id, item_id, weight from read_parquet({sql_string(raw / 'future_events.parquet')})").fetchall()
        genres = genres if genres is not None else genre_lists(con, raw)
        index = {u: i for i, u in enumerate(users)}
        seen: dict[str, np.ndarray] = {}
        for user, item, _ in future:
            if user in index:
                for genre in (genres or {}).get(item, []):
                    seen.setdefault(genre, np.zeros(len(users), bool))[index[user]] = True
        balanced = sorted((abs(v.mean() - 0.5), g) for g, v in seen.items() if 0.2 <= v.mean() <= 0.8)
        for _, genre in balanced[:per_user_genre_tasks]:
            labels[f"future_{genre.lower().replace(' ', '_').replace('-', '_')}"] = seen[genre]
    return labels


def retrieval_data(con, users: np.ndarray, raw: Path) -> RetrievalData:
    import pyarrow as pa

    con.register("eval_users", pa.table({"user_id": pa.array(users.tolist(), pa.string()),
                                         "user_index": pa.array(np.arange(len(users)), pa.int64())}))
    candidates = """candidate_items as (select item_id, (row_number() over (order by item_id)) - 1 as item_index
                                        from (select distinct item_id from stg_raw__events))"""
    history = con.execute(f"""with {candidates}
                              select distinct u.user_index, i.item_index from stg_raw__events e
                              join eval_users u using (user_id) join candidate_items i using (item_id)""").fetchnumpy()
    future = con.execute(
        f"""with {candidates}
            select distinct u.user_index, coalesce(i.item_index, -1) as item_index
            from read_parquet({sql_string(raw / 'future_events.parquet')}) f
            join eval_users u using (user_id) left join candidate_items i using (item_id)""").fetchnumpy()
    item_ids = np.array([r[0] for r in con.execute(f"with {candidates} select item_id from candidate_items order by item_index")
                         .fetchall()], dtype=object)
    con.unregister("eval_users")
    shape = (len(users), len(item_ids))
    history_matrix = sp.csr_matrix((np.ones(len(history["user_index"]), np.float32),
                                    (history["user_index"], history["item_index"])), shape=shape)
    future_users, future_items = np.asarray(future["user_index"]), np.asarray(future["item_index"])
    known = future_items >= 0
    rows, cols = future_users[known], future_items[known]
    repeats = np.asarray(history_matrix[rows, cols]).ravel() > 0
    future_new = sp.csr_matrix((np.ones(int((~repeats).sum()), np.float32), (rows[~repeats], cols[~repeats])), shape=shape)
    return RetrievalData(item_ids, history_matrix, future_new, future_pairs=int(len(future_users)),
                         future_repeats=int(repeats.sum()), future_unseen_items=int((~known).sum()))


def load_eval_data(warehouse: Path, raw: Path, registry: Registry | None = None, version: str | None = None,
                   max_users: int | None = 20_000, seed: int = 0) -> EvalData:
    """Features, labels and cohorts of (a deterministic sample of) the warehouse's users, with
    registry `version`'s representation and reconstruction when a version is given."""
    raw = Path(raw)
    manifest = registry.verify(version) if version else None
    holdout = read_holdout(raw)
    with duckdb.connect(str(warehouse), read_only=True) as con:
        if manifest:
            check_compatible(con, manifest)
        data = load_features(con, max_users, seed)
        users = np.array(data.user_ids, dtype=object)
        representations, rec = {}, None
        if manifest:
            rep = onnx_outputs(registry.path(version) / "encoder.onnx", manifest.input_dim, manifest.latent_dim, data.features)
            rec = onnx_outputs(registry.path(version) / "decoder.onnx", manifest.latent_dim, manifest.input_dim, rep)
            representations["representation"] = rep
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
        future = con.execute(
            f"select user_id, item_id, weight from read_parquet({sql_string(raw / 'future_events.parquet')}) order by all"
        ).fetchall()
        genres = genre_lists(con, raw)
        binary = binary_labels(con, raw, users, future, genres)
        genre = top_genres(users, future, genres)

        attribute = None
        if (raw / "user_traits.parquet").exists():
            traits = dict(con.execute(
                f"select user_id, life_stage from read_parquet({sql_string(raw / 'user_traits.parquet')})").fetchall())
            attribute = ("life_stage", np.array([traits.get(u) for u in users], dtype=object))
        retrieval = retrieval_data(con, users, raw)
        calendar = None
        if not any(g.kind == "recency" for g in data.groups):
            rows = {u: row for u, *row in con.execute(
                "select user_id, weeks_since_last_event_log2, tenure_weeks_log2, has_events::float from user_calendar_features").fetchall()}
            calendar = np.array([rows[u] for u in users], dtype=float)
    onboarding = np.concatenate([np.arange(g.feature_offset, g.feature_offset + g.dim) for g in data.groups
                                 if g.kind == "onboarding_mean"] or [np.array([], int)])
    return EvalData(
        user_ids=users, features=data.features, representations=representations, reconstruction=rec, groups=data.groups,
        onboarding_columns=onboarding, cohorts=cohorts, binary_labels=binary, genre=genre,
        attribute=attribute, retrieval=retrieval, calendar=calendar,
        meta={"version": version, "time_features": "sliding" if calendar is None else "anchored", "as_of": data.as_of, "users": len(users), "warehouse_users": data.total_rows,
              "input_dim": int(data.features.shape[1]), "holdout": holdout.get("holdout", "global"),
              "feature_schema_hash": data.schema_hash,
              "version_metrics": {k: v for k, v in manifest.metrics.items() if k != "history"} if manifest else {}},
    )


def probe():
    """The downstream model every method gets: a linear probe on standardised inputs. Newton-CG
    reaches the same optimum as lbfgs in far fewer iterations on the wide raw vector."""
    return make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000, C=0.5, solver="newton-cg"))


def feature_sets(data: EvalData, train: np.ndarray, k: int) -> dict[str, np.ndarray]:
    """Inputs each method gets: the representations and the baselines, fitted on the train split only."""
    scaler = StandardScaler().fit(data.features[train])
    pca = PCA(n_components=min(k, len(train), data.features.shape[1]), random_state=0).fit(scaler.transform(data.features[train]))
    sets = {**data.representations, "raw_features": data.features, f"pca_{k}": pca.transform(scaler.transform(data.features))}
    if data.calendar is not None:
        sets = {name: np.hstack([x, data.calendar]) for name, x in sets.items()}
    if len(data.onboarding_columns) and data.features[:, data.onboarding_columns].any():  # any onboarding data at all
        sets["onboarding_mean"] = data.features[:, data.onboarding_columns]
    return sets


def recall_at(scores: np.ndarray, truth: sp.csr_matrix, ks=(10, 50)) -> dict[str, float]:
    """Mean over users of the share of their new future items among their top k scored items."""
    top_k = min(max(ks), scores.shape[1])
    part = np.argpartition(-scores, top_k - 1, axis=1)[:, :top_k]
    order = np.take_along_axis(part, np.argsort(-np.take_along_axis(scores, part, axis=1), axis=1, kind="stable"), axis=1)
    totals = np.asarray(truth.sum(axis=1)).ravel()
    result = {}
    for k in ks:
        hits = np.asarray(truth[np.arange(len(order))[:, None], order[:, :k]].sum(axis=1)).ravel()
        result[f"recall@{k}"] = float(np.mean(hits / totals)) if len(totals) else float("nan")
    return result


class Folds:
    """Per task: every method's metric on every (fold, cohort), kept per fold for paired comparisons."""

    def __init__(self, data: EvalData, eligible: np.ndarray):
        self.data, self.eligible = data, eligible
        self.values: dict = {}  # method -> cohort -> metric -> [value per fold]

    def add(self, method: str, test: np.ndarray, metric_fn) -> None:
        """`test`: the fold's test rows (indices into all users); metric_fn(rows) -> {metric: value}."""
        for cohort, mask in self.data.cohorts.items():
            rows = test[mask[test]]
            values = metric_fn(rows) if len(rows) else {}
            for metric, value in values.items():
                self.values.setdefault(method, {}).setdefault(cohort, {}).setdefault(metric, []).append(value)

    def summary(self, positives: np.ndarray | None = None) -> dict:
        """method -> cohort -> {n, positives, <metric>, <metric>_std, <metric>_folds}."""
        out = {}
        for method, cohorts in self.values.items():
            out[method] = {}
            for cohort, metrics in cohorts.items():
                mask = self.data.cohorts[cohort] & self.eligible
                entry = {"n": int(mask.sum())}
                if positives is not None:
                    entry["positives"] = int((positives & mask).sum())
                for metric, values in metrics.items():
                    finite = np.array([v for v in values if np.isfinite(v)])
                    entry[metric] = float(finite.mean()) if len(finite) else None
                    entry[f"{metric}_std"] = float(finite.std(ddof=1)) if len(finite) > 1 else None
                    entry[f"{metric}_folds"] = [float(v) for v in values]
                out[method][cohort] = entry
        return out


def _auc(y: np.ndarray, p: np.ndarray) -> float:
    return float(roc_auc_score(y, p)) if len(set(y)) > 1 else float("nan")


def evaluate(data: EvalData, settings: EvalSettings | None = None) -> dict:
    settings = settings or EvalSettings()
    n = len(data.user_ids)
    k = data.representation.shape[1]
    results: dict = {"tasks": {}, "meta": {**data.meta, "folds": settings.folds, "seeds": list(settings.seeds),
                                           "methods": list(data.representations)}}
    baselines_cache: dict = {}

    def inputs(seed: int, train_rows: np.ndarray) -> dict[str, np.ndarray]:
        key = (seed, train_rows.tobytes())
        if key not in baselines_cache:
            baselines_cache.clear()  # one split at a time: PCA of every split would not fit at 100k users
            baselines_cache[key] = feature_sets(data, train_rows, k)
        return baselines_cache[key]

    for task, y in data.binary_labels.items():
        folds = Folds(data, np.ones(n, bool))
        entry = {"metric": "roc_auc", "kind": "binary", "users": n, "positives": int(y.sum())}
        if min(y.sum(), (~y).sum()) >= settings.folds:
            for seed, train, test in settings.splits(n, y):
                for name, x in inputs(seed, train).items():
                    score = np.full(n, np.nan)
                    score[test] = probe().fit(x[train], y[train]).predict_proba(x[test])[:, 1]
                    folds.add(name, test, lambda rows: {"roc_auc": _auc(y[rows], score[rows])})
                folds.add("majority", test, lambda rows: {"roc_auc": 0.5 if len(set(y[rows])) > 1 else float("nan")})
        entry["methods"] = folds.summary(positives=y)
        results["tasks"][task] = entry

    for task, labels in [("future_genre", data.genre), *([data.attribute] if data.attribute else [])]:
        if labels is None:
            continue
        known = np.array([v is not None for v in labels])
        values, counts = np.unique(labels[known].astype(str), return_counts=True)
        # stratified folds need every class in every fold; rarer classes are left out (and counted)
        classes = values[counts >= 2 * settings.folds]
        y = np.array([str(v) if v is not None else "" for v in labels], dtype=object)
        eligible = known & np.isin(y, classes)
        entry = {"metric": "macro_f1", "kind": "multiclass", "users": int(eligible.sum()), "classes": int(len(classes)),
                 "left_out_rare_class_users": int((known & ~eligible).sum()), "unlabelled_users": int((~known).sum())}
        folds = Folds(data, eligible)
        rows_of = np.flatnonzero(eligible)
        if len(classes) >= 2:
            for seed, train_pos, test_pos in settings.splits(len(rows_of), y[rows_of].astype(str)):
                train, test = rows_of[train_pos], rows_of[test_pos]
                for name, x in inputs(seed, train).items():
                    pred = np.empty(n, dtype=object)
                    pred[test] = probe().fit(x[train], y[train].astype(str)).predict(x[test])
                    folds.add(name, test, lambda rows: {"macro_f1": float(f1_score(
                        y[rows].astype(str), pred[rows].astype(str), average="macro", zero_division=0))})
                classes_in_train, train_counts = np.unique(y[train].astype(str), return_counts=True)
                majority = classes_in_train[train_counts.argmax()]
                folds.add("majority", test, lambda rows: {"macro_f1": float(f1_score(
                    y[rows].astype(str), np.full(len(rows), majority), average="macro", zero_division=0))})
        entry["methods"] = folds.summary()
        results["tasks"][task] = entry

    if data.retrieval is not None:
        results["tasks"]["future_retrieval"] = retrieval(data, settings, inputs)

    if data.reconstruction is not None:
        results["reconstruction"] = reconstruction_by_group(data)
    results["bytes_per_user"] = {"representation": int(k * 4), "raw_features": int(data.features.shape[1] * 4)}
    results["targets"] = check_targets(results)
    return results


class RidgeRecommender:
    """Scores of every candidate item from a user vector: multi-output ridge regression onto the
    users' new future items (standardised inputs; the intercept is the items' popularity among
    the training users). The ridge penalty is picked on a split of the training users."""

    PENALTIES = (0.01, 0.1, 1.0, 10.0)  # times the number of training users

    def __init__(self, x: np.ndarray, y: sp.csr_matrix, history: sp.csr_matrix, seed: int = 0):
        rng = np.random.default_rng(seed)
        inner = rng.permutation(len(x))
        fit_rows, check_rows = inner[len(x) // 5 :], inner[: len(x) // 5]
        path = RidgePath(x[fit_rows], y[fit_rows])
        self.penalty = max(self.PENALTIES, key=lambda p: recall_at(
            path.scores(x[check_rows], history[check_rows], p), y[check_rows], ks=(50,))["recall@50"])
        self.path = RidgePath(x, y)

    def scores(self, x: np.ndarray, history: sp.csr_matrix) -> np.ndarray:
        return self.path.scores(x, history, self.penalty)


class RidgePath:
    """Ridge solutions for any penalty from one eigendecomposition of the gram matrix:
    (G + a I)^-1 B = V diag(1 / (e + a)) V' B, so trying a penalty costs one product, not a solve."""

    def __init__(self, x: np.ndarray, y: sp.csr_matrix):
        self.rows = len(x)
        self.mean, self.scale = x.mean(0), x.std(0) + 1e-6
        xs = ((x - self.mean) / self.scale).astype(np.float64)
        self.intercept = np.asarray(y.mean(axis=0)).ravel()
        self.eigenvalues, self.eigenvectors = np.linalg.eigh(xs.T @ xs)
        targets = np.asarray((y.T @ xs).T) - np.outer(xs.sum(0), self.intercept)
        self.projected_targets = self.eigenvectors.T @ targets

    def scores(self, x: np.ndarray, history: sp.csr_matrix, penalty: float) -> np.ndarray:
        """Item scores of these users at ridge penalty `penalty` x the number of training rows."""
        projected = (((x - self.mean) / self.scale) @ self.eigenvectors) / (self.eigenvalues + penalty * self.rows)
        scores = projected @ self.projected_targets + self.intercept
        scores[history.nonzero()] = -np.inf  # already seen: not a new item
        return scores


def retrieval(data: EvalData, settings: EvalSettings, inputs) -> dict:
    """Recall@10/50 of the new items each user engages with in the future, ranked by a ridge map
    from each method's vector to item scores; `popularity` ranks by the training users' future."""
    r = data.retrieval
    totals = np.asarray(r.future_new.sum(axis=1)).ravel()
    eligible = totals > 0
    entry = {"metric": "recall@10", "kind": "retrieval", "items": int(len(r.item_ids)), "users": int(eligible.sum()),
             "future_items": int(totals.sum()), "future_repeats": r.future_repeats, "future_unseen_items": r.future_unseen_items}
    folds = Folds(data, eligible)
    rows_of = np.flatnonzero(eligible)
    if len(rows_of) >= 2 * settings.folds:
        for seed, train_pos, test_pos in settings.splits(len(rows_of)):
            train, test = rows_of[train_pos], rows_of[test_pos]
            position = np.zeros(len(data.user_ids), np.int64)
            position[test] = np.arange(len(test))  # a test user's row in the fold's score matrix
            for name, x in inputs(seed, train).items():
                scores = RidgeRecommender(x[train], r.future_new[train], r.history[train], seed).scores(x[test], r.history[test])
                folds.add(name, test, lambda rows: recall_at(scores[position[rows]], r.future_new[rows]))
            popular = np.tile(np.asarray(r.future_new[train].mean(axis=0)).ravel(), (len(test), 1))
            popular[r.history[test].nonzero()] = -np.inf
            folds.add("popularity", test, lambda rows: recall_at(popular[position[rows]], r.future_new[rows]))
    entry["methods"] = folds.summary()
    return entry


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


def _cell(results: dict, task: str, method: str, cohort: str) -> dict:
    return results["tasks"].get(task, {}).get("methods", {}).get(method, {}).get(cohort, {})


def compare(results: dict, task: str, metric: str, method: str, baseline: str, cohort: str = "all", share: float = 1.0) -> dict:
    """Is `method` at least `share` x `baseline`? Paired over the same folds: `met` when the mean
    difference is >= 0, `tie` when it is negative but within one standard deviation of the
    per-fold differences, `missed` below that, `too few users` when the sample cannot say."""
    a, b = _cell(results, task, method, cohort), _cell(results, task, baseline, cohort)
    measured = {"method": a.get(metric), "baseline": b.get(metric), "n": a.get("n", 0), "positives": a.get("positives")}
    folds_a, folds_b = np.array(a.get(f"{metric}_folds", []), float), np.array(b.get(f"{metric}_folds", []), float)
    entry = results["tasks"].get(task, {})
    too_few = measured["n"] < MIN_USERS or (
        entry.get("kind") == "binary" and min(measured["positives"] or 0, measured["n"] - (measured["positives"] or 0)) < MIN_PER_CLASS)
    paired = np.isfinite(folds_a) & np.isfinite(folds_b) if len(folds_a) == len(folds_b) else np.zeros(0, bool)
    if too_few or paired.sum() < 2:
        return {**measured, "status": "too few users", "difference": None, "spread": None}
    diffs = folds_a[paired] - share * folds_b[paired]
    difference, spread = float(diffs.mean()), float(diffs.std(ddof=1))
    status = "met" if difference >= 0 else "tie" if -difference <= spread else "missed"
    return {**measured, "status": status, "difference": difference, "spread": spread}


def check_targets(results: dict, method: str = "representation") -> list[dict]:
    """The targets, each next to what was measured: on every task, the representation >= PCA of the
    same size and >= 0.98 x the raw vector; on cold start, above the onboarding picks' mean."""
    checks = []
    for task, entry in results["tasks"].items():
        if method not in entry.get("methods", {}):
            continue
        pca = next((m for m in entry["methods"] if m.startswith("pca_")), None)
        for metric in TASK_METRICS[entry["kind"]]:
            for baseline, share, label in [(pca, 1.0, f"{method} >= {pca}"),
                                           ("raw_features", RAW_SHARE_TARGET, f"{method} >= {RAW_SHARE_TARGET} x raw_features")]:
                if baseline in entry["methods"]:
                    checks.append({"task": task, "metric": metric, "cohort": "all", "target": label,
                                   **compare(results, task, metric, method, baseline, "all", share)})
            if "onboarding_mean" in entry["methods"]:
                checks.append({"task": task, "metric": metric, "cohort": "cold_start", "target": f"{method} >= onboarding_mean",
                               **compare(results, task, metric, method, "onboarding_mean", "cold_start")})
    return checks
