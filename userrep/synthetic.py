"""Synthetic streaming world: the embedded default dataset for the demo, the tests and the benchmarks.

The world plants structure that the later stages can measure:
item latents grouped by genre (music) and topic (podcasts), three encoders that each see those
latents imperfectly, users with a long-term taste, a recent drift, heavy-tailed activity, churn,
a podcast propensity, demographics correlated with taste and onboarding picks consistent with it.
Events after ``as_of`` go to ``future_events.parquet`` (evaluation labels only, never features).
The history is one file, ``events/history.parquet``, or with ``monthly_history`` one file per
calendar month (``events/2025-07.parquet``, ...), as an event log split by time lands: a refresh
skips the months before the longest horizon, and a full build reads more files. Batches land as
``events/part-NNNNN.parquet``.

Users are generated in chunks of ``users_per_chunk``, each from its own seed, so memory stays
flat with the world size; the seed and the chunk size together define the world.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

SECONDS_PER_DAY = 86_400
AGE_BUCKETS = ["18-24", "25-34", "35-44", "45-54", "55+"]
COUNTRIES = ["BR", "DE", "GB", "IN", "SE", "US"]
LIFE_STAGES = ["student", "professional", "parent", "retired"]


@dataclass(frozen=True)
class WorldConfig:
    users: int = 20_000
    seed: int = 0
    days: int = 365  # history before as_of that feeds features
    future_days: int = 30  # held-out window after as_of, for evaluation only
    as_of: date = date(2026, 6, 30)
    genres: int = 12
    topics: int = 8
    tracks: int = 6_000
    podcasts: int = 2_000
    latent_dim: int = 16
    events_per_user: float = 100.0  # mean over users; activity is log-normal (heavy-tailed)
    mean_session_tracks: float = 8.0
    drift_days: int = 21  # the recent weeks where drifting users lean elsewhere
    users_per_chunk: int = 10_000
    monthly_history: bool = False  # one events file per calendar month instead of one file
    encoder_dims: dict = field(
        default_factory=lambda: {"track_cf": 64, "track_audio": 32, "podcast_topic": 32}
    )


EVENT_SCHEMA = pa.schema(
    [
        ("user_id", pa.string()),
        ("item_id", pa.string()),
        ("ts", pa.timestamp("us", tz="UTC")),
        ("weight", pa.float64()),
        ("event_type", pa.string()),
    ]
)


@dataclass
class Catalog:
    item_ids: np.ndarray  # str, tracks first then podcasts, grouped by genre / topic
    modality: np.ndarray  # str
    group: np.ndarray  # genre index for tracks, topic index for podcasts
    duration_s: np.ndarray
    latents: np.ndarray
    track_ranges: list  # per genre: (start, stop) into the item arrays
    podcast_ranges: list  # per topic


def _ranges(sizes: np.ndarray, offset: int = 0) -> list:
    stops = offset + np.cumsum(sizes)
    return list(zip((stops - sizes).tolist(), stops.tolist()))


def build_catalog(cfg: WorldConfig, rng: np.random.Generator) -> Catalog:
    genre_centroids = rng.normal(size=(cfg.genres, cfg.latent_dim)) * 1.5
    # Every podcast topic sits near a music genre, so taste carries across modalities.
    topic_home = np.arange(cfg.topics) % cfg.genres
    topic_centroids = genre_centroids[topic_home] * 0.6 + rng.normal(size=(cfg.topics, cfg.latent_dim))

    track_sizes = rng.multinomial(cfg.tracks - cfg.genres, np.full(cfg.genres, 1 / cfg.genres)) + 1
    podcast_sizes = rng.multinomial(cfg.podcasts - cfg.topics, np.full(cfg.topics, 1 / cfg.topics)) + 1
    track_group = np.repeat(np.arange(cfg.genres), track_sizes)
    podcast_group = np.repeat(np.arange(cfg.topics), podcast_sizes)
    latents = np.concatenate(
        [
            genre_centroids[track_group] + rng.normal(scale=0.7, size=(cfg.tracks, cfg.latent_dim)),
            topic_centroids[podcast_group] + rng.normal(scale=0.7, size=(cfg.podcasts, cfg.latent_dim)),
        ]
    )
    item_ids = np.concatenate(
        [
            np.char.add("t", np.char.zfill(np.arange(cfg.tracks).astype(str), 6)),
            np.char.add("p", np.char.zfill(np.arange(cfg.podcasts).astype(str), 6)),
        ]
    )
    modality = np.array(["music"] * cfg.tracks + ["podcast"] * cfg.podcasts)
    duration = np.concatenate(
        [rng.uniform(120, 330, cfg.tracks), rng.uniform(900, 3600, cfg.podcasts)]
    )
    return Catalog(
        item_ids=item_ids,
        modality=modality,
        group=np.concatenate([track_group, podcast_group]),
        duration_s=duration,
        latents=latents,
        track_ranges=_ranges(track_sizes),
        podcast_ranges=_ranges(podcast_sizes, offset=cfg.tracks),
    )


def encode_items(cfg: WorldConfig, catalog: Catalog, rng: np.random.Generator) -> pa.Table:
    """Three imperfect modality encoders: each sees a noisy projection of part of the latents."""
    n_tracks = cfg.tracks
    half = cfg.latent_dim // 2
    views = {
        # collaborative: all latent dims, moderate noise, plus a popularity direction
        "track_cf": (slice(0, n_tracks), slice(0, cfg.latent_dim), 0.6),
        # audio: only half the latent dims (what the sound reveals), more noise
        "track_audio": (slice(0, n_tracks), slice(0, half), 0.9),
        # podcast topics: text-derived, all dims, a different projection and noise
        "podcast_topic": (slice(n_tracks, None), slice(0, cfg.latent_dim), 0.7),
    }
    encoders, items, vectors = [], [], []
    for name, dim in cfg.encoder_dims.items():
        rows, cols, noise = views[name]
        z = catalog.latents[rows][:, cols]
        projection = rng.normal(size=(z.shape[1], dim)) / np.sqrt(z.shape[1])
        v = np.tanh(z @ projection + rng.normal(scale=noise, size=(z.shape[0], dim)))
        encoders.append(np.full(z.shape[0], name))
        items.append(catalog.item_ids[rows])
        vectors.append(v.astype(np.float32))
    embeddings = pa.concat_arrays(
        [
            pa.FixedSizeListArray.from_arrays(pa.array(v.reshape(-1)), v.shape[1]).cast(pa.list_(pa.float32()))
            for v in vectors
        ]
    )
    return pa.table(
        {
            "encoder": pa.array(np.concatenate(encoders)),
            "item_id": pa.array(np.concatenate(items)),
            "embedding": embeddings,
        }
    )


def _categorical(rng: np.random.Generator, probs: np.ndarray) -> np.ndarray:
    """One draw per row of a row-stochastic matrix."""
    cum = np.cumsum(probs, axis=1)
    u = rng.random(len(probs))[:, None] * cum[:, -1:]
    return np.minimum((u > cum).sum(axis=1), probs.shape[1] - 1)


def _popular_pick(rng: np.random.Generator, ranges: list, groups: np.ndarray, power: float = 3.0) -> np.ndarray:
    """An item of each given group, skewed to the group's first (most popular) items."""
    bounds = np.asarray(ranges)
    start, stop = bounds[groups, 0], bounds[groups, 1]
    return start + np.floor((stop - start) * rng.random(len(groups)) ** power).astype(np.int64)


@dataclass
class UserChunk:
    users: pa.Table
    traits: pa.Table
    onboarding: pa.Table
    events: pa.Table
    future: pa.Table


def generate_user_chunk(cfg: WorldConfig, catalog: Catalog, start: int, stop: int, world_seed: int) -> UserChunk:
    rng = np.random.default_rng([world_seed, start])
    n = stop - start
    g, t = cfg.genres, cfg.topics
    as_of_end = datetime.combine(cfg.as_of + timedelta(days=1), datetime.min.time(), timezone.utc)
    horizon_end_s = int(as_of_end.timestamp()) + cfg.future_days * SECONDS_PER_DAY
    period_start_s = int(as_of_end.timestamp()) - cfg.days * SECONDS_PER_DAY

    # Taste: a concentrated genre mixture; about half the users drift to another one lately.
    taste = rng.dirichlet(np.full(g, 0.25), size=n)
    drifting = rng.random(n) < 0.5
    drift_taste = np.where(drifting[:, None], 0.3 * taste + 0.7 * rng.dirichlet(np.full(g, 0.25), size=n), taste)
    topic_of_genre = np.zeros((g, t))
    topic_of_genre[np.arange(t) % g, np.arange(t)] = 1.0
    topic_of_genre += 0.05
    topic_taste = taste @ topic_of_genre
    topic_taste /= topic_taste.sum(axis=1, keepdims=True)

    # Demographics follow taste: each genre has its own age profile and country profile.
    genre_age = np.random.default_rng([world_seed, 7]).dirichlet(np.full(len(AGE_BUCKETS), 0.7), size=g)
    genre_country = np.random.default_rng([world_seed, 8]).dirichlet(np.full(len(COUNTRIES), 1.5), size=g)
    age = _categorical(rng, taste @ genre_age)
    country = _categorical(rng, taste @ genre_country)

    # Podcasts: older listeners lean in; some non-listeners start during the recent drift.
    podcast_listener = rng.random(n) < 0.15 + 0.1 * age
    podcast_share = np.where(podcast_listener, rng.uniform(0.15, 0.6, n), 0.0)
    converts = (~podcast_listener) & (rng.random(n) < 0.12)
    recent_podcast_share = np.where(converts, rng.uniform(0.2, 0.5, n), podcast_share)
    life_stage = _categorical(
        rng, np.stack([4.0 - age, 2.0 + 0 * age, 1.0 + age * (age < 3) + podcast_listener * 2, 0.2 + (age == 4) * 4.0], 1)
    )

    # Sign-up: most users long before the period, some during it, a few in the last days (cold start).
    signup_days_ago = np.where(
        rng.random(n) < 0.05, rng.uniform(0, 7, n), rng.uniform(0, 2 * cfg.days, n)
    )
    signup_s = (int(as_of_end.timestamp()) - signup_days_ago * SECONDS_PER_DAY).astype(np.int64)
    active_from_s = np.maximum(signup_s, period_start_s)
    # Churn: a third of the users stop at a random moment between sign-up and the window's end.
    churn_s = np.where(
        rng.random(n) < 0.33,
        active_from_s + rng.random(n) * (horizon_end_s - active_from_s),
        horizon_end_s,
    ).astype(np.int64)
    activity = rng.lognormal(0.0, 1.0, n)
    active_days = np.maximum(churn_s - active_from_s, 0) / SECONDS_PER_DAY
    # Scale so the world's mean lands near events_per_user (sessions hold ~mean_session_tracks events).
    rate = activity * cfg.events_per_user / (cfg.mean_session_tracks * np.e**0.5 * max(active_days.mean(), 1.0))
    rate[rng.random(n) < 0.02] = 0.0  # signed up, never played
    n_sessions = rng.poisson(rate * active_days)

    # Sessions: a start time, a modality and a length.
    s_user = np.repeat(np.arange(n), n_sessions)
    s_start = active_from_s[s_user] + (rng.random(len(s_user)) * (churn_s - active_from_s)[s_user]).astype(np.int64)
    recent = s_start >= int(as_of_end.timestamp()) - cfg.drift_days * SECONDS_PER_DAY
    share = np.where(recent, recent_podcast_share[s_user], podcast_share[s_user])
    s_podcast = rng.random(len(s_user)) < share
    s_len = np.where(s_podcast, 1 + rng.poisson(0.6, len(s_user)), 1 + rng.geometric(1 / cfg.mean_session_tracks, len(s_user)))

    # Events.
    e_session = np.repeat(np.arange(len(s_user)), s_len)
    e_user = s_user[e_session]
    e_pos = np.arange(len(e_session)) - np.repeat(np.cumsum(s_len) - s_len, s_len)
    e_podcast = s_podcast[e_session]
    e_recent = recent[e_session]
    genre_probs = np.where(e_recent[:, None], drift_taste[e_user], taste[e_user])
    e_genre = _categorical(rng, genre_probs)
    e_topic = _categorical(rng, topic_taste[e_user])
    track = _popular_pick(rng, catalog.track_ranges, e_genre)
    podcast = _popular_pick(rng, catalog.podcast_ranges, e_topic, power=2.0)
    e_item = np.where(e_podcast, podcast, track)
    duration = catalog.duration_s[e_item]
    skipped = rng.random(len(e_item)) < np.where(e_podcast, 0.05, 0.12)
    fraction = np.where(skipped, rng.uniform(0.0, 0.08, len(e_item)), rng.beta(5.0, 1.0, len(e_item)))
    weight = np.round(duration * fraction, 1)
    gap = np.where(e_podcast, 2400, 200)
    e_ts = s_start[e_session] + e_pos * gap + rng.integers(0, 30, len(e_item))
    keep = e_ts < horizon_end_s
    order = np.lexsort((e_ts, e_user))
    order = order[keep[order]]

    user_ids = np.char.add("u", np.char.zfill(np.arange(start, stop).astype(str), 7))
    is_future = e_ts[order] >= int(as_of_end.timestamp())

    def events_table(rows: np.ndarray) -> pa.Table:
        return pa.table(
            {
                "user_id": pa.array(user_ids[e_user[rows]]),
                "item_id": pa.array(catalog.item_ids[e_item[rows]]),
                "ts": pa.array(e_ts[rows] * 1_000_000, pa.timestamp("us", tz="UTC")),
                "weight": pa.array(weight[rows]),
                "event_type": pa.array(np.where(weight[rows] < 30, "skip", "play")),
            },
            schema=EVENT_SCHEMA,
        )

    # Onboarding: 3-6 popular tracks from the user's top genres, a podcast for listeners.
    n_picks = rng.integers(3, 7, n)
    p_user = np.repeat(np.arange(n), n_picks)
    p_items = _popular_pick(rng, catalog.track_ranges, _categorical(rng, taste[p_user] ** 2), power=4.0)
    pod_users = np.flatnonzero(podcast_listener)
    pod_items = _popular_pick(rng, catalog.podcast_ranges, _categorical(rng, topic_taste[pod_users]), power=4.0)
    p_user = np.concatenate([p_user, pod_users])
    p_items = np.concatenate([p_items, pod_items])
    p_order = np.argsort(p_user, kind="stable")
    pick_ts = (signup_s[p_user[p_order]] + 60 + np.arange(len(p_order)) % 50) * 1_000_000

    return UserChunk(
        users=pa.table(
            {
                "user_id": pa.array(user_ids),
                "signup_ts": pa.array(signup_s * 1_000_000, pa.timestamp("us", tz="UTC")),
                "country": pa.array(np.asarray(COUNTRIES)[country]),
                "age_bucket": pa.array(np.asarray(AGE_BUCKETS)[age]),
            }
        ),
        traits=pa.table(
            {
                "user_id": pa.array(user_ids),
                "life_stage": pa.array(np.asarray(LIFE_STAGES)[life_stage]),
                "top_genre": pa.array(taste.argmax(axis=1)),
                "recent_top_genre": pa.array(drift_taste.argmax(axis=1)),
                "podcast_listener": pa.array(podcast_listener),
                "churned": pa.array(churn_s < horizon_end_s),
            }
        ),
        onboarding=pa.table(
            {
                "user_id": pa.array(user_ids[p_user[p_order]]),
                "item_id": pa.array(catalog.item_ids[p_items[p_order]]),
                "ts": pa.array(pick_ts, pa.timestamp("us", tz="UTC")),
            }
        ),
        events=events_table(order[~is_future]),
        future=events_table(order[is_future]),
    )


def generate_world(cfg: WorldConfig, out: Path, progress=None) -> dict:
    """Write the raw contract (and evaluation-only files) to ``out``. Returns row counts."""
    out = Path(out)
    if out.exists():
        shutil.rmtree(out)
    (out / "events").mkdir(parents=True)
    rng = np.random.default_rng(cfg.seed)
    catalog = build_catalog(cfg, rng)
    pq.write_table(
        pa.table(
            {
                "item_id": pa.array(catalog.item_ids),
                "modality": pa.array(catalog.modality),
                "duration_s": pa.array(np.round(catalog.duration_s, 1)),
            }
        ),
        out / "items.parquet",
    )
    pq.write_table(encode_items(cfg, catalog, rng), out / "item_embeddings.parquet")
    pq.write_table(
        pa.table({"item_id": pa.array(catalog.item_ids), "group": pa.array(catalog.group)}),
        out / "item_groups.parquet",
    )

    counts = {"users": 0, "events": 0, "future_events": 0, "onboarding": 0}
    writers = {}  # one per output file, opened at its first rows
    try:
        for start in range(0, cfg.users, cfg.users_per_chunk):
            stop = min(start + cfg.users_per_chunk, cfg.users)
            chunk = generate_user_chunk(cfg, catalog, start, stop, cfg.seed)
            history = (_by_month(chunk.events, out / "events") if cfg.monthly_history
                       else {out / "events" / "history.parquet": chunk.events})
            outputs = {
                out / "users.parquet": chunk.users,
                out / "user_traits.parquet": chunk.traits,
                out / "onboarding.parquet": chunk.onboarding,
                out / "future_events.parquet": chunk.future,
                **history,
            }
            for path, table in outputs.items():
                if path not in writers:
                    writers[path] = pq.ParquetWriter(path, table.schema)
                writers[path].write_table(table, row_group_size=1_000_000)
            for name, table in (("users", chunk.users), ("onboarding", chunk.onboarding), ("future_events", chunk.future),
                                ("events", chunk.events)):
                counts[name] += table.num_rows
            if progress:
                progress(stop - start)
    finally:
        for w in writers.values():
            w.close()
    counts["items"] = len(catalog.item_ids)
    return counts


def _by_month(events: pa.Table, events_dir: Path) -> dict:
    """A chunk's events split by calendar month of `ts`, keyed by the month's file path."""
    months = events.column("ts").to_numpy().astype("datetime64[M]")
    return {events_dir / f"{month}.parquet": events.filter(pa.array(months == month)) for month in np.unique(months)}


def land_batch(raw: Path, users: int, new_users: int, seed: int, next_day: bool = False, late_days: int = 3,
               duplicates: int = 10, plays_per_user: int = 3) -> dict:
    """Simulate a micro-batch arriving after the world was built: a new event file with 1 to
    2 * plays_per_user - 1 plays (mean plays_per_user) for each of
    `users` existing users (on the latest day, or the day after with `next_day`), some late events
    from the last `late_days` days, exact copies of already-landed events (from the file with the
    latest event), and `new_users` who just signed up, with onboarding picks when the data has an
    onboarding file, and no events yet. Weights and event types are drawn from that latest file, so
    a batch looks like the data it joins (seconds played, ratings, ...).
    Reads the files' statistics and one file, not the whole history: a landing must not evict
    the warehouse from memory before the refresh it feeds. Completes or leaves nothing: every file
    is written under a temporary name and renamed into place at the end."""
    raw = Path(raw)
    rng = np.random.default_rng([seed, 99])
    events_dir = raw / "events"
    event_files = sorted(events_dir.glob("*.parquet"))
    if not event_files:
        raise FileNotFoundError(f"no event files in {events_dir}: a batch lands next to an existing history")
    latest_file, latest_ts = max(((path, _latest_ts(path)) for path in event_files), key=lambda f: f[1])
    last_day = int(np.datetime64(latest_ts, "D").astype(np.int64))
    day = last_day + (1 if next_day else 0)
    items = pq.read_table(raw / "items.parquet", columns=["item_id"]).column("item_id").to_numpy(zero_copy_only=False)
    users_table = pq.read_table(raw / "users.parquet")
    known_users = users_table.column("user_id").to_numpy(zero_copy_only=False)
    existing = pq.read_table(latest_file)
    existing = existing.select([name for name in EVENT_SCHEMA.names if name in existing.column_names])

    chosen = rng.choice(known_users, size=min(users, len(known_users)), replace=False)
    per_user = rng.integers(1, 2 * plays_per_user, len(chosen))
    e_user = np.repeat(chosen, per_user)
    offsets_s = rng.integers(0, SECONDS_PER_DAY - 120, len(e_user))
    late = rng.random(len(e_user)) < 0.2
    days = np.where(late, day - rng.integers(1, late_days + 1, len(e_user)), day)
    ts = (days * SECONDS_PER_DAY + offsets_s) * 1_000_000
    like = existing.take(rng.integers(0, existing.num_rows, len(e_user)))  # each play's weight and type
    fresh = pa.table(
        {
            "user_id": pa.array(e_user),
            "item_id": pa.array(rng.choice(items, len(e_user))),
            "ts": pa.array(ts, pa.timestamp("us", tz="UTC")),
            **{name: like.column(name) for name in existing.column_names if name not in ("user_id", "item_id", "ts")},
        }
    ).cast(existing.schema)
    copies = existing.take(rng.choice(existing.num_rows, min(duplicates, existing.num_rows), replace=False))
    parts = [int(p.stem.removeprefix("part-")) for p in events_dir.glob("part-*.parquet") if p.stem[5:].isdigit()]
    name = f"part-{max(parts, default=-1) + 1:05d}.parquet"

    staged: dict[Path, pa.Table] = {events_dir / name: pa.concat_tables([fresh, copies])}
    if new_users:
        staged.update(_new_users(raw, rng, new_users, day, users_table))
    temporaries = {path: path.with_name(f".{path.name}.landing") for path in staged}
    try:
        for path, table in staged.items():
            pq.write_table(table, temporaries[path])
        for path in sorted(staged, key=lambda p: p.parent == events_dir):  # the event file last
            temporaries[path].replace(path)
    finally:
        for temporary in temporaries.values():
            temporary.unlink(missing_ok=True)
    return {"file": name, "events": int(len(e_user)), "late_events": int(late.sum()),
            "duplicate_events": copies.num_rows, "users_with_events": int(len(chosen)), "new_users": new_users}


def _latest_ts(path: Path) -> np.datetime64:
    """The file's latest `ts`, from its row groups' statistics (read from the column without them)."""
    meta = pq.ParquetFile(path).metadata
    column = meta.schema.to_arrow_schema().get_field_index("ts")
    stats = [meta.row_group(i).column(column).statistics for i in range(meta.num_row_groups)]
    if stats and all(s is not None and s.has_min_max for s in stats):
        return max(np.datetime64(s.max.replace(tzinfo=None), "us") for s in stats)
    return pq.read_table(path, columns=["ts"]).column("ts").to_numpy().max()


def _new_users(raw: Path, rng, new_users: int, day: int, users_table: pa.Table) -> dict[Path, pa.Table]:
    """users.parquet (and onboarding.parquet when there is one) with `new_users` more users who
    signed up a minute before the end of `day`; their attributes and picks are drawn from the data's."""
    taken = set(users_table.column("user_id").to_pylist())
    fresh_ids, n = [], len(taken)
    while len(fresh_ids) < new_users:
        if f"u{n:07d}" not in taken:
            fresh_ids.append(f"u{n:07d}")
        n += 1
    ids = np.array(fresh_ids)
    signup = np.full(new_users, (day * SECONDS_PER_DAY + SECONDS_PER_DAY - 60) * 1_000_000)
    newcomers = pa.table(
        {
            "user_id": pa.array(ids),
            "signup_ts": pa.array(signup, pa.timestamp("us", tz="UTC")),
            **{c: pa.array(rng.choice(users_table.column(c).unique().to_numpy(zero_copy_only=False), new_users))
               for c in users_table.column_names if c not in ("user_id", "signup_ts")},
        }
    ).cast(users_table.schema)
    tables = {raw / "users.parquet": pa.concat_tables([users_table, newcomers])}
    if (raw / "onboarding.parquet").exists():
        onboarding = pq.read_table(raw / "onboarding.parquet")
        picks = np.repeat(ids, 4)
        tables[raw / "onboarding.parquet"] = pa.concat_tables([onboarding, pa.table({
            "user_id": pa.array(picks),
            "item_id": pa.array(rng.choice(onboarding.column("item_id").to_numpy(zero_copy_only=False), len(picks))),
            "ts": pa.array(np.repeat(signup + 30_000_000, 4), pa.timestamp("us", tz="UTC")),
        }).cast(onboarding.schema)])
    return tables
