"""MovieLens (ratings.csv, movies.csv, tags.csv) to the raw data contract.

Ratings become events (weight = rating), movies become items (modality `movie`). Three encoders:
`genre` (normalised multi-hot of the genre list), `tag` (TF-IDF of user tags, SVD) and `cf`
(PPMI-SVD fitted on the history ratings only, so the future never leaks in).

Two ways to hold out a future (future_events.parquet, evaluation labels only):
- `per-user` (default): every user's last 20% of ratings (at least one) are that user's future,
  so every user has labels; as_of is the day of the latest history rating.
- `global`: the ratings of the last `future_days` days are everyone's future; users whose first
  rating comes after that cut are left out (they have no history, only labels).

The loader also writes holdout.json (how the future was held out, and the horizons that fit the
history) next to the raw files: `userrep evaluate` reads it.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import duckdb
import numpy as np

from userrep.item_encoders import embeddings_table, fit_cf_encoder, fit_text_encoder, write_encoder

HOLDOUTS = ("per-user", "global")
HOLDOUT_FILE = "holdout.json"
# Horizons the loader may suggest, in days: round numbers an analyst would pick.
CANDIDATE_HORIZONS = (7, 30, 90, 180, 365, 730, 1825, 3650, 7300, 10950, 18250)
# Shares of users with history who should have an event inside the short, middle and long horizon:
# the longest holds nearly everyone, else most users keep only recency and tenure.
HORIZON_COVERAGE = (0.1, 0.4, 0.99)


def sql_string(value) -> str:
    """A SQL string literal (quotes doubled), for file paths inside read_csv / read_parquet."""
    return "'" + str(value).replace("'", "''") + "'"


def read_holdout(raw_dir: Path) -> dict:
    """What the loader recorded about the held-out future; {} for data that has no holdout.json."""
    path = Path(raw_dir) / HOLDOUT_FILE
    return json.loads(path.read_text()) if path.exists() else {}


def suggest_horizons(days_since_last_event: np.ndarray) -> tuple[list[int], dict[int, int]]:
    """Three horizons that the history fills: the shortest candidates holding an event of at least
    10%, 40% and 99% of the users (strictly increasing), and how many users each candidate holds."""
    ages = np.asarray(days_since_last_event)
    covered = {h: int((ages < h).sum()) for h in CANDIDATE_HORIZONS}
    chosen: list[int] = []
    for share in HORIZON_COVERAGE:
        fitting = [h for h in CANDIDATE_HORIZONS if covered[h] >= share * len(ages) and (not chosen or h > chosen[-1])]
        later = [h for h in CANDIDATE_HORIZONS if not chosen or h > chosen[-1]]
        chosen.append(fitting[0] if fitting else later[0] if later else chosen[-1])
    return sorted(set(chosen)), covered


def dbt_vars(as_of: str, horizons: list[int]) -> str:
    """The exact --vars argument for `userrep build` (or `dbt build`) on the loaded data."""
    return "{as_of: " + as_of + ", horizons: [" + ", ".join(str(h) for h in horizons) + "]}"


def load_movielens(path: str | Path, out: str | Path, holdout: str = "per-user", future_fraction: float = 0.2,
                   future_days: int = 28, cf_dim: int = 32, tag_dim: int = 16, seed: int = 0, replace: bool = False) -> dict:
    """Write the raw contract into `out`, which must be empty or absent unless `replace`."""
    src, out = Path(path), Path(out)
    if holdout not in HOLDOUTS:
        raise ValueError(f"unknown holdout {holdout!r}; expected one of {', '.join(HOLDOUTS)}")
    if not 0 < future_fraction < 1:
        raise ValueError(f"future_fraction must be between 0 and 1, got {future_fraction}")
    for name in ("ratings.csv", "movies.csv"):
        if not (src / name).exists():
            raise FileNotFoundError(f"{src / name} not found: expected the MovieLens CSV layout (ratings.csv, movies.csv, tags.csv)")
    if out.exists() and any(out.iterdir()):
        if not replace:
            raise ValueError(f"{out} is not empty; pass --replace to overwrite what is there with MovieLens")
        shutil.rmtree(out)
    out.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect()
    con.execute("set TimeZone = 'UTC'")
    con.execute(f"create view ratings as select * from read_csv({sql_string(src / 'ratings.csv')}, header = true)")
    con.execute(f"create view movies as select * from read_csv({sql_string(src / 'movies.csv')}, header = true, quote = '\"')")
    # Each rating's place in its user's timeline, latest first (ties broken by movie, so reruns agree).
    con.execute(
        """create table ranked as select userId, movieId, rating, timestamp,
               row_number() over (partition by userId order by timestamp desc, movieId desc) as from_end,
               count(*) over (partition by userId) as user_ratings
           from ratings"""
    )
    if holdout == "per-user":
        con.execute(
            f"""create table split as select *, from_end <= greatest(1, floor(user_ratings * {float(future_fraction)})) as is_future
                from ranked where user_ratings >= 2"""
        )
        without_history = con.execute("select count(distinct userId) from ranked where user_ratings < 2").fetchone()[0]
    else:
        cutoff = con.execute(f"select max(to_timestamp(timestamp))::date - {int(future_days)} from ratings").fetchone()[0]
        con.execute(
            f"""create table split as
                with marked as (select *, to_timestamp(timestamp)::date > date '{cutoff}' as is_future from ranked)
                select * from marked where userId in (select userId from marked where not is_future)"""
        )
        without_history = con.execute(
            "select count(distinct userId) from ranked where userId not in (select userId from split)").fetchone()[0]
    as_of = str(con.execute("select max(to_timestamp(timestamp))::date from split where not is_future").fetchone()[0])

    def copy(sql: str, name: str) -> None:
        con.execute(f"copy ({sql}) to {sql_string(out / name)} (format parquet)")

    event_columns = (
        "'u' || userId as user_id, 'm' || movieId as item_id, to_timestamp(timestamp) as ts, "
        "rating::double as weight, 'rating' as event_type"
    )
    (out / "events").mkdir()
    copy(f"select {event_columns} from split where not is_future order by user_id, ts, item_id", "events/part-00000.parquet")
    copy(f"select {event_columns} from split where is_future order by user_id, ts, item_id", "future_events.parquet")
    copy("select 'm' || movieId as item_id, 'movie' as modality, title, genres from movies order by movieId", "items.parquet")
    # No sign-up dates or demographics in MovieLens: a user's first rating stands in for sign-up.
    copy("select 'u' || userId as user_id, min(to_timestamp(timestamp)) as signup_ts from split group by 1 order by 1",
         "users.parquet")

    movies = con.execute("select 'm' || movieId as item_id, genres from movies order by movieId").fetchall()
    item_ids = [m[0] for m in movies]
    genre_names = sorted({g for _, gs in movies for g in gs.split("|") if g != "(no genres listed)"})
    index = {g: i for i, g in enumerate(genre_names)}
    multi_hot = np.zeros((len(movies), len(genre_names)), np.float32)
    for row, (_, gs) in enumerate(movies):
        for g in gs.split("|"):
            if g in index:
                multi_hot[row, index[g]] = 1.0
    has_genre = multi_hot.sum(axis=1) > 0
    multi_hot[has_genre] /= np.linalg.norm(multi_hot[has_genre], axis=1, keepdims=True)
    embeddings = out / "item_embeddings.parquet"
    write_encoder(embeddings_table("genre", [i for i, ok in zip(item_ids, has_genre) if ok], multi_hot[has_genre]), embeddings)

    if (src / "tags.csv").exists():
        # only tags written before their author's own future starts: later ones would leak it
        tags = dict(
            con.execute(
                f"""with history_end as (select userId, max(timestamp) as last_ts from split where not is_future group by 1)
                    select 'm' || movieId, string_agg(lower(trim(tag::varchar)), '|' order by tag)
                    from read_csv({sql_string(src / 'tags.csv')}, header = true, quote = '"') as tags
                    join history_end using (userId)
                    where tags.timestamp <= history_end.last_ts group by 1"""
            ).fetchall()
        )
        write_encoder(fit_text_encoder(item_ids, [tags.get(i, "") for i in item_ids], tag_dim, seed, "tag"), embeddings)
    write_encoder(fit_cf_encoder(out / "events", dim=cf_dim, seed=seed, encoder="cf"), embeddings)

    ages = np.array([r[0] for r in con.execute(
        f"select date_diff('day', max(to_timestamp(timestamp))::date, date '{as_of}') from split where not is_future group by userId"
    ).fetchall()])
    horizons, covered = suggest_horizons(ages)
    counts = {
        name: con.execute(f"select count(*) from read_parquet({sql_string(out / file)})").fetchone()[0]
        for name, file in [("events", "events/*.parquet"), ("future_events", "future_events.parquet"), ("items", "items.parquet"),
                           ("users", "users.parquet"), ("item_embeddings", "item_embeddings.parquet")]
    }
    counts["users_left_out"] = int(without_history)
    counts["as_of"] = as_of
    con.close()
    (out / HOLDOUT_FILE).write_text(json.dumps({
        "holdout": holdout, "future_fraction": future_fraction if holdout == "per-user" else None,
        "future_days": future_days if holdout == "global" else None, "as_of": as_of,
        "users_left_out": int(without_history), "horizons": horizons,
        "users_with_an_event_within": {str(h): n for h, n in covered.items()}, "users": int(len(ages)),
    }, indent=2) + "\n")
    return {**counts, "horizons": horizons, "users_with_an_event_within": covered}
