"""MovieLens (ratings.csv, movies.csv, tags.csv) to the raw data contract.

Ratings become events (weight = rating), movies become items (modality `movie`). Three encoders:
`genre` (normalised multi-hot of the genre list), `tag` (TF-IDF of user tags, SVD) and `cf`
(PPMI-SVD fitted on the feature-window ratings only, so the future window never leaks in).
The last `future_days` of ratings become future_events.parquet.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb
import numpy as np
import pyarrow.parquet as pq

from userrep.item_encoders import embeddings_table, fit_cf_encoder, fit_text_encoder, write_encoder


def load_movielens(path: str | Path, out: str | Path, future_days: int = 28, cf_dim: int = 32, tag_dim: int = 16, seed: int = 0) -> dict:
    src, out = Path(path), Path(out)
    for name in ("ratings.csv", "movies.csv"):
        if not (src / name).exists():
            raise FileNotFoundError(f"{src / name} not found: expected the MovieLens CSV layout (ratings.csv, movies.csv, tags.csv)")
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    con = duckdb.connect()
    con.execute("set TimeZone = 'UTC'")
    con.execute(f"create view ratings as select * from read_csv('{src / 'ratings.csv'}', header = true)")
    con.execute(f"create view movies as select * from read_csv('{src / 'movies.csv'}', header = true, quote = '\"')")
    cutoff = con.execute(
        f"select (max(to_timestamp(timestamp))::date - {int(future_days)}) from ratings"
    ).fetchone()[0]
    split = f"to_timestamp(timestamp)::date > date '{cutoff}'"

    def copy(sql: str, name: str) -> None:
        con.execute(f"copy ({sql}) to '{out / name}' (format parquet)")

    event_columns = (
        "'u' || userId as user_id, 'm' || movieId as item_id, to_timestamp(timestamp) as ts, "
        "rating::double as weight, 'rating' as event_type"
    )
    (out / "events").mkdir()
    copy(f"select {event_columns} from ratings where not ({split}) order by user_id, ts", "events/part-00000.parquet")
    copy(f"select {event_columns} from ratings where {split} order by user_id, ts", "future_events.parquet")
    copy("select 'm' || movieId as item_id, 'movie' as modality, title, genres from movies order by movieId", "items.parquet")
    # No sign-up dates or demographics in MovieLens: a user's first rating stands in for sign-up.
    copy(
        f"select 'u' || userId as user_id, min(to_timestamp(timestamp)) as signup_ts from ratings group by 1 order by 1",
        "users.parquet",
    )

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
        # tags created after the cutoff would leak the future window
        tags = dict(
            con.execute(
                f"""select 'm' || movieId, string_agg(lower(trim(tag::varchar)), '|' order by tag)
                    from read_csv('{src / 'tags.csv'}', header = true, quote = '"')
                    where not ({split}) group by 1"""
            ).fetchall()
        )
        write_encoder(fit_text_encoder(item_ids, [tags.get(i, "") for i in item_ids], tag_dim, seed, "tag"), embeddings)
    write_encoder(fit_cf_encoder(out / "events", dim=cf_dim, seed=seed, encoder="cf"), embeddings)

    counts = {
        name: con.execute(f"select count(*) from read_parquet('{out / file}')").fetchone()[0]
        for name, file in [("events", "events/*.parquet"), ("future_events", "future_events.parquet"), ("items", "items.parquet"),
                           ("users", "users.parquet"), ("item_embeddings", "item_embeddings.parquet")]
    }
    counts["as_of"] = str(cutoff)
    con.close()
    return counts
