"""Hostile input: values that cannot be read, clocks in the future, quotes in every name that
reaches SQL, files that are not events, and vars that make no sense. Each is quarantined with a
reason or stopped with one line naming the problem; none changes a result silently."""

from datetime import datetime, timezone

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from conftest import new_world
from userrep.dbt import DbtError

T = lambda day, hour=12: datetime(2026, 6, day, hour, tzinfo=timezone.utc)  # noqa: E731
TS = pa.timestamp("us", tz="UTC")
S, F = pa.string(), pa.float64()
# user ids that end a user range in the ranged build below, and would break SQL pasted unescaped
QUOTED_USERS = ["u0000999' or true or '", "u'q", "u\\back"]
USERS = ["u1", "u2", "u3"] + QUOTED_USERS


def write(path, columns, types):
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.table({k: pa.array(v, types[k]) for k, v in columns.items()}), path)


@pytest.fixture(scope="module")
def hostile(tmp_path_factory):
    world = new_world(tmp_path_factory.mktemp("hostile"))
    raw = world.raw
    items = ["i1", "i2", "i'3"]
    write(raw / "items.parquet", {"item_id": items, "modality": ["music", "music", "pod'cast"]}, {"item_id": S, "modality": S})
    write(raw / "item_embeddings.parquet", {
        "encoder": ["a", "a", "a", "track'audio", "track'audio", "track'audio"],
        "item_id": items * 2,
        "embedding": [[1, 0], [0, 1], [1, 1], [0.5, 0.5, 0.5], [1, 0, 0], [0, 0, 1]],
    }, {"encoder": S, "item_id": S, "embedding": pa.list_(pa.float32())})
    write(raw / "users.parquet", {
        "user_id": USERS,
        "signup_ts": [T(1)] * len(USERS),
        "home town": ["O'Hare", "Malmö", None, "O'Hare", "x", "y"],
    }, {"user_id": S, "signup_ts": TS, "home town": S})
    # good events for every user, two of each user-item pair on different days
    good = [(u, i, T(day)) for u in USERS for i in items for day in (10, 20)]
    write(raw / "events" / "good.parquet", {
        "user_id": [e[0] for e in good], "item_id": [e[1] for e in good], "ts": [e[2] for e in good],
        "weight": [float(n + 1) for n in range(len(good))], "event_type": ["play"] * len(good),
    }, {"user_id": S, "item_id": S, "ts": TS, "weight": F, "event_type": S})
    # a producer that writes every column as text: the files' types disagree and arrive as text
    write(raw / "events" / "text.parquet", {
        "user_id": ["u1", "u1", "u2", "u2", "u3"],
        "item_id": ["i1", "i2", "i1", "i2", "i1"],
        "ts": ["2026-06-25 10:00:00+00", "not a time", "2999-01-01 00:00:00+00", "2026-06-25 11:00:00+00",
               "2026-06-25 12:00:00+00"],
        "weight": ["1.5", "2", "3", "abc", "1e308"],
        "event_type": ["play"] * 5,
    }, {"user_id": S, "item_id": S, "ts": S, "weight": S, "event_type": S})
    (raw / "events" / "README.txt").write_text("these are our events\n")
    (raw / "events" / "empty.parquet").write_bytes(b"")
    world.dbt(["build"], {"events_per_range": 8})
    return world


def rows(world, sql):
    with world.connect() as con:
        return con.execute(sql).fetchall()


def test_values_that_cannot_be_read_are_quarantined_with_the_value(hostile):
    refused = {reason: (value, source) for reason, value, source in rows(
        hostile, "select quarantine_reason, invalid_value, source_file from quarantine_events")}
    assert refused["unparseable_timestamp"] == ("not a time", "events/text.parquet")
    assert refused["unparseable_weight"] == ("abc", "events/text.parquet")
    assert refused["weight_out_of_range"] == ("1e308", "events/text.parquet")
    assert refused["future_timestamp"][1] == "events/text.parquet"
    # the readable rows of the text file are events like any other
    assert rows(hostile, "select count(*) from stg_raw__events where user_id = 'u1' and ts = '2026-06-25 10:00:00'") == [(1,)]


def test_an_event_in_the_future_does_not_move_as_of(hostile):
    assert rows(hostile, "select as_of from run_plan") == [(T(25).date(),)]
    assert rows(hostile, "select distinct as_of from user_features") == [(T(25).date(),)]


def test_files_that_are_not_events_are_listed_with_a_reason(hostile):
    assert sorted(rows(hostile, "select source_file, quarantine_reason from quarantine_event_files")) == [
        ("events/README.txt", "not_parquet"), ("events/empty.parquet", "empty_file")]
    assert rows(hostile, "select count(distinct source_file) from base_raw__events") == [(2,)]


def test_quotes_in_names_reach_sql_only_as_literals(hostile):
    features = dict(rows(hostile, "select user_id, features from user_features"))
    assert sorted(features) == sorted(USERS), "every user once, whatever their id"
    groups = [g for (g,) in rows(hostile, "select group_name from feature_schema order by group_index")]
    assert "track'audio__mean_7d" in groups and "pod'cast__log_events_30d" in groups and "home town" in groups
    # the one-hot of "home town" for a user whose value has a quote
    offset, detail = rows(hostile, "select feature_offset, detail from feature_schema where group_name = 'home town'")[0]
    values = ["Malmö", "O'Hare", "x", "y"]
    assert detail == '["Malmö","O\'Hare","x","y"]'
    assert features["u0000999' or true or '"][offset:offset + 4] == [float(v == "O'Hare") for v in values]
    assert features["u'q"][offset:offset + 4] == [float(v == "x") for v in values]
    assert features["u3"][offset:offset + 4] == [0.0] * 4, "no value: every slot 0"


def test_a_quote_on_a_range_boundary_neither_doubles_nor_drops_rows(hostile):
    bounds = rows(hostile, "select user_range_bounds from run_plan")[0][0]
    assert len(bounds) >= 3, "the world is built in several user ranges"
    assert set(bounds) & set(QUOTED_USERS), "a quoted id bounds a range"
    per_range = rows(hostile, "select user_id, event_day, count(*) from int_user_item_days group by all order by all")
    hostile.dbt(["run", "--full-refresh", "--select", "run_plan_event_files run_plan_users run_plan int_user_item_days"],
                {"events_per_range": 10**9})
    assert rows(hostile, "select user_range_bounds from run_plan") == [(None,)], "one statement"
    single = rows(hostile, "select user_id, event_day, count(*) from int_user_item_days group by all order by all")
    assert per_range == single and {user for user, _, _ in single} == set(USERS)


@pytest.mark.parametrize("name, value, message", [
    ("horizons", [0], "var horizons must be a non-empty list of distinct whole numbers of days, each >= 1 (got [0])"),
    ("as_of", "yesterday", "var as_of must be a date YYYY-MM-DD or null (got yesterday)"),
])  # every malformed value is in tests/unit/test_var_validation.py; these two go through dbt
def test_a_bad_var_stops_the_run_with_one_line_naming_it(hostile, name, value, message):
    with pytest.raises(DbtError) as error:
        hostile.dbt(["run", "--select", "run_plan"], {name: value})
    assert message in str(error.value)
    assert "Traceback" not in str(error.value)


def test_features_of_the_hostile_world_are_finite(hostile):
    features = np.array([f for (f,) in rows(hostile, "select features from user_features")])
    assert np.isfinite(features).all()
