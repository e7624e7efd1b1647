"""An independent numpy implementation of user_features, straight from the raw parquet files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import scipy.sparse as sp
import yaml

DAY_US = 86_400_000_000


def _days(column) -> np.ndarray:
    return column.to_numpy().astype("datetime64[us]").astype(np.int64) // DAY_US


def log2_weeks(days: np.ndarray) -> np.ndarray:
    """floor(log2(1 + days / 7)) in integers: the bit length of (days + 7) // 7, less one."""
    return np.array([int(weeks).bit_length() - 1 for weeks in (np.asarray(days, dtype=np.int64) + 7) // 7], dtype=float)


def project_vars() -> dict:
    """The vars as dbt_project.yml sets them."""
    return yaml.safe_load((Path(__file__).resolve().parents[2] / "dbt_project.yml").read_text())["vars"]


def project_horizons() -> list[int]:
    return sorted(project_vars()["horizons"])


def reference_features(raw: Path, horizons=None, time_features=None) -> tuple[list[str], list[str], np.ndarray, int]:
    """Returns (user_ids, group_names, features[n_users, D], as_of_day).

    time_features 'sliding': each horizon is the h days ending on as_of, and recency and tenure
    are in the vector. 'anchored': each horizon is the h days ending on the user's last event day,
    within the days the longest horizon reaches back from as_of, and recency and tenure are not in
    the vector (user_calendar_features has them)."""
    horizons = horizons or project_horizons()
    time_features = time_features or project_vars()["time_features"]
    users = pq.read_table(raw / "users.parquet")
    user_ids = np.array(users.column("user_id").to_pylist())
    user_index = {u: i for i, u in enumerate(user_ids)}
    items = pq.read_table(raw / "items.parquet")
    item_ids = items.column("item_id").to_pylist()
    item_index = {it: i for i, it in enumerate(item_ids)}
    item_modality = np.array(items.column("modality").to_pylist())

    events = pq.read_table(raw / "events")
    e_user = np.array([user_index[u] for u in events.column("user_id").to_pylist()])
    e_item = np.array([item_index[i] for i in events.column("item_id").to_pylist()])
    e_ts = events.column("ts").to_numpy().astype("datetime64[us]").astype(np.int64)
    e_weight = events.column("weight").to_numpy()
    # one event per (user, item, ts), keeping the highest weight
    order = np.lexsort((-e_weight, e_ts, e_item, e_user))
    key = np.stack([e_user[order], e_item[order], e_ts[order]], axis=1)
    first = np.ones(len(order), bool)
    first[1:] = np.any(key[1:] != key[:-1], axis=1)
    keep = order[first]
    e_user, e_item, e_weight, e_day = e_user[keep], e_item[keep], e_weight[keep], e_ts[keep] // DAY_US
    as_of = int(e_day.max())
    n_users, n_items = len(user_ids), len(item_ids)
    last = np.full(n_users, -1)
    np.maximum.at(last, e_user, e_day)
    if time_features == "anchored":
        # days before the user's last event; days before the longest horizon's reach are not kept
        age = np.where(e_day > as_of - max(horizons), last[e_user] - e_day, max(horizons))
    else:
        age = as_of - e_day

    def user_item(mask, values):
        return sp.csr_matrix((values[mask], (e_user[mask], e_item[mask])), shape=(n_users, n_items))

    embeddings = pq.read_table(raw / "item_embeddings.parquet").to_pydict()
    encoders = {}
    for enc, item, vec in zip(embeddings["encoder"], embeddings["item_id"], embeddings["embedding"]):
        encoders.setdefault(enc, {})[item_index[item]] = vec
    tables = {}
    for enc in sorted(encoders):
        dim = len(next(iter(encoders[enc].values())))
        matrix, has = np.zeros((n_items, dim)), np.zeros(n_items)
        for i, vec in encoders[enc].items():
            matrix[i], has[i] = vec, 1.0
        tables[enc] = (matrix, has)

    names, blocks, presence_names, presence = [], [], [], []
    for enc, (matrix, has) in tables.items():
        for h in horizons:
            w = user_item(age < h, e_weight)
            total = w @ has
            sums = w @ matrix
            mean = np.divide(sums, total[:, None], out=np.zeros_like(sums), where=total[:, None] > 0)
            names.append(f"{enc}__mean_{h}d")
            blocks.append(mean)
            presence_names.append(f"{enc}__mean_{h}d__present")
            presence.append((total > 0).astype(float)[:, None])

    picks = pq.read_table(raw / "onboarding.parquet").to_pydict()
    pairs = sorted({(user_index[u], item_index[i]) for u, i in zip(picks["user_id"], picks["item_id"])})
    p_user = np.array([p[0] for p in pairs])
    p_item = np.array([p[1] for p in pairs])
    onboarding = sp.csr_matrix((np.ones(len(pairs)), (p_user, p_item)), shape=(n_users, n_items))
    for enc, (matrix, has) in tables.items():
        count = onboarding @ has
        sums = onboarding @ matrix
        names.append(f"{enc}__onboarding_mean")
        blocks.append(np.divide(sums, count[:, None], out=np.zeros_like(sums), where=count[:, None] > 0))
        presence_names.append(f"{enc}__onboarding_mean__present")
        presence.append((count > 0).astype(float)[:, None])

    ones = np.ones(len(e_user))
    for modality in sorted(set(item_modality)):
        for h in horizons:
            counts = np.asarray(user_item((age < h) & (item_modality[e_item] == modality), ones).sum(axis=1)).ravel()
            names.append(f"{modality}__log_events_{h}d")
            blocks.append(np.log1p(counts)[:, None])

    if time_features != "anchored":
        names.append("weeks_since_last_event_log2")
        blocks.append(log2_weeks(np.where(last >= 0, as_of - last, 0))[:, None])
        names.append("tenure_weeks_log2")
        blocks.append(log2_weeks(np.maximum(as_of - _days(users.column("signup_ts")), 0))[:, None])
    for attribute in sorted(c for c in users.column_names if c not in ("user_id", "signup_ts")):
        values = np.array(users.column(attribute).to_pylist(), dtype=object)
        levels = sorted({v for v in values if v is not None})
        names.append(attribute)
        blocks.append(np.stack([(values == v).astype(float) for v in levels], axis=1))
    names += presence_names
    blocks += presence
    if time_features != "anchored":
        names.append("weeks_since_last_event_log2__present")
        blocks.append((last >= 0).astype(float)[:, None])
    return list(user_ids), names, np.concatenate(blocks, axis=1), as_of
