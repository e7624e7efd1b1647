"""Each kind of bad row lands in its quarantine table with its reason; nothing is lost."""

import math
from datetime import datetime, timezone

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from conftest import new_world

T = lambda day, hour=12: datetime(2026, 6, day, hour, tzinfo=timezone.utc)  # noqa: E731
TS = pa.timestamp("us", tz="UTC")


def _write(raw, name, columns, types):
    pq.write_table(pa.table({k: pa.array(v, types[k]) for k, v in columns.items()}), raw / f"{name}.parquet")


@pytest.fixture(scope="module")
def bad_world(tmp_path_factory):
    world = new_world(tmp_path_factory.mktemp("bad"))
    raw = world.raw
    raw.mkdir()
    s, f = pa.string(), pa.float64()
    _write(raw, "items", {
        "item_id": ["i1", "i2", "i3", None, "i5", "i1", "i6"],
        "modality": ["music", "music", "podcast", "music", None, "music", "music"],
    }, {"item_id": s, "modality": s})
    _write(raw, "item_embeddings", {
        "encoder": ["a", "a", "a", "b", "a", "a", "a", "zzz", None, "a", "a"],
        "item_id": ["i1", "i2", "i3", "i1", "i2", "i9", "i3", "i1", "i2", None, "i6"],
        "embedding": [[1, 0], [0, 1], [1, 1], [1, 2, 3], [5, 5], [1, 1], [float("nan"), 1], [1, 1], [1, 1], [1, 1], [1, 2, 3]],
    }, {"encoder": s, "item_id": s, "embedding": pa.list_(pa.float32())})
    # encoder a is 2-d (its most common length): i6's 3-d row is the wrong length; b is 3-d
    _write(raw, "users", {
        "user_id": ["u1", "u2", None, "u1", "u4"],
        "signup_ts": [T(1), T(2), T(3), T(4), None],
        "country": ["SE", "DE", "SE", "SE", "DE"],
    }, {"user_id": s, "signup_ts": TS, "country": s})
    _write(raw, "onboarding", {
        "user_id": ["u1", "u1", "u9", "u2", None],
        "item_id": ["i1", "i1", "i1", "i7", "i1"],
        "ts": [T(1)] * 5,
    }, {"user_id": s, "item_id": s, "ts": TS})
    _write(raw, "events", {
        "user_id": ["u1", "u1", "u1", None, "u1", "u1", "u1", "u1", "u1", "u1", "u9", "u2", "u2"],
        "item_id": ["i1", "i1", "i2", "i1", None, "i1", "i1", "i1", "i1", "i8", "i1", "i2", "i3"],
        "ts": [T(10), T(10), T(11), T(10), T(10), None, T(12), T(12, 13), T(29), T(10), T(10), T(12, 14), T(12, 15)],
        "weight": [5.0, 3.0, 1.0, 1.0, 1.0, 1.0, math.nan, -2.0, 4.0, 1.0, 1.0, math.inf, 0.0],
        "event_type": ["play"] * 13,
    }, {"user_id": s, "item_id": s, "ts": TS, "weight": f, "event_type": s})
    world.dbt(["build"], {"as_of": "2026-06-20", "encoders": ["a", "b"]})
    return world


EXPECTED = {
    "quarantine_events": {
        "duplicate_event": 1, "null_user_id": 1, "null_item_id": 1, "null_timestamp": 1, "non_finite_weight": 2,
        "negative_weight": 1, "timestamp_after_as_of": 1, "unknown_item": 1, "unknown_user": 1,
    },
    "quarantine_items": {"null_item_id": 1, "null_modality": 1, "duplicate_item": 1},
    "quarantine_item_embeddings": {
        "duplicate_embedding": 1, "unknown_item": 1, "non_finite_embedding": 1, "unknown_encoder": 1, "null_encoder": 1,
        "null_item_id": 1, "wrong_embedding_length": 1,
    },
    "quarantine_users": {"null_user_id": 1, "duplicate_user": 1, "null_signup_ts": 1},
    "quarantine_onboarding": {"duplicate_pick": 1, "unknown_user": 1, "unknown_item": 1, "null_user_id": 1},
}


@pytest.mark.parametrize("table", sorted(EXPECTED))
def test_each_bad_row_is_quarantined_with_its_reason(bad_world, table):
    with bad_world.connect() as con:
        counts = dict(con.execute(f"select quarantine_reason, count(*) from {table} group by 1").fetchall())
    assert counts == EXPECTED[table]


@pytest.mark.parametrize("name", ["events", "items", "item_embeddings", "users", "onboarding"])
def test_accepted_plus_quarantined_equals_raw(bad_world, name):
    with bad_world.connect() as con:
        raw = con.execute(f"select count(*) from read_parquet('{bad_world.raw}/{name}.parquet')").fetchone()[0]
        accepted = con.execute(f"select count(*) from stg_raw__{name}").fetchone()[0]
        quarantined = con.execute(f"select count(*) from quarantine_{name}").fetchone()[0]
    assert accepted > 0 and accepted + quarantined == raw


def test_duplicate_keeps_the_highest_weight_and_features_stay_finite(bad_world):
    with bad_world.connect() as con:
        kept = con.execute("select weight from stg_raw__events where user_id = 'u1' and item_id = 'i1' and ts = ?", [T(10)]).fetchall()
        features = con.execute("select user_id, list_sum(features) from user_features order by 1").fetchall()
    assert kept == [(5.0,)]
    assert [u for u, _ in features] == ["u1", "u2"]
    assert all(math.isfinite(v) for _, v in features)
