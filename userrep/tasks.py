"""Labels for downstream tasks, from the held-out future window only (never from features)."""

from __future__ import annotations

from pathlib import Path

# task -> SQL over `future` (events after as_of), `items`, `users` and `params` (as_of_end: the
# first instant after the feature window); one row per user
TASKS = {
    "active_next_7d": """
        select users.user_id, coalesce(bool_or(future.ts < params.as_of_end + interval 7 day), false) as label
        from users cross join params left join future on future.user_id = users.user_id group by 1""",
    "podcast_propensity": """
        select users.user_id, coalesce(bool_or(items.modality = 'podcast'), false) as label
        from users left join future on future.user_id = users.user_id
        left join items on items.item_id = future.item_id group by 1""",
}


# tasks about a window that starts at as_of: only a global time cut gives every user that window
TIME_WINDOW_TASKS = ("active_next_7d",)


def future_source(raw_dir: Path) -> str:
    path = Path(raw_dir) / "future_events.parquet"
    if not path.exists():
        raise FileNotFoundError(f"{path} not found: downstream labels come from the held-out future window")
    return f"read_parquet('{path}')"


def task_labels(con, task: str, raw_dir: Path) -> dict[str, bool]:
    """user_id -> label for every user in user_features."""
    if task not in TASKS:
        raise ValueError(f"unknown task {task!r}; known: {', '.join(sorted(TASKS))}")
    sql = f"""
        with params as (select any_value(as_of) + interval 1 day as as_of_end from user_features),
        users as (select user_id from user_features),
        items as (select item_id, modality from read_parquet('{Path(raw_dir) / "items.parquet"}')),
        future as (select user_id, item_id, cast(ts as timestamp) as ts from {future_source(raw_dir)}),
        labels as ({TASKS[task]})
        select user_id, label from labels order by 1
    """
    return dict(con.execute(sql).fetchall())
