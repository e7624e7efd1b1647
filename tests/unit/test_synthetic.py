import dataclasses
import shutil
from datetime import datetime, timezone

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from userrep import synthetic
from userrep.synthetic import generate_world, land_batch


@pytest.fixture(scope="module")
def world(tmp_path_factory, tiny_config):
    out = tmp_path_factory.mktemp("w") / "raw"
    counts = generate_world(tiny_config, out)
    return out, counts


def _read(out, name):
    path = out / name
    return pq.read_table(path if path.exists() else path.with_suffix(".parquet"))


def test_same_seed_same_world(world, tiny_config, tmp_path):
    out, _ = world
    again = generate_world(tiny_config, tmp_path / "a")
    for name in ["users.parquet", "items.parquet", "item_embeddings.parquet", "onboarding.parquet", "future_events.parquet"]:
        assert _read(out, name).equals(_read(tmp_path / "a", name)), name
    assert _read(out, "events").equals(_read(tmp_path / "a", "events"))
    assert again["events"] > 0


def test_other_seed_other_world(world, tiny_config, tmp_path):
    out, _ = world
    generate_world(dataclasses.replace(tiny_config, seed=tiny_config.seed + 1), tmp_path / "b")
    assert not _read(out, "events").equals(_read(tmp_path / "b", "events"))


def test_raw_contract_columns_and_types(world):
    out, _ = world
    events = _read(out, "events")
    assert events.column_names[:4] == ["user_id", "item_id", "ts", "weight"]
    assert str(events.schema.field("ts").type) == "timestamp[us, tz=UTC]"
    assert set(_read(out, "items").column_names) >= {"item_id", "modality"}
    assert set(_read(out, "users").column_names) >= {"user_id", "signup_ts"}
    emb = _read(out, "item_embeddings").to_pydict()
    dims = {}
    for enc, vec in zip(emb["encoder"], emb["embedding"]):
        dims.setdefault(enc, set()).add(len(vec))
    assert dims == {"track_cf": {64}, "track_audio": {32}, "podcast_topic": {32}}


def test_future_window_is_after_as_of_and_features_window_before(world, tiny_config):
    out, _ = world
    boundary = datetime.combine(tiny_config.as_of, datetime.min.time(), timezone.utc).timestamp() + 86_400
    history = _read(out, "events").column("ts").to_numpy().astype("datetime64[s]").astype(np.int64)
    future = _read(out, "future_events").column("ts").to_numpy().astype("datetime64[s]").astype(np.int64)
    assert history.max() < boundary <= future.min()
    assert future.max() < boundary + tiny_config.future_days * 86_400


def test_planted_structure(world, tiny_config):
    out, _ = world
    users = _read(out, "users").to_pydict()
    events = _read(out, "events").to_pydict()
    counts = np.unique(events["user_id"], return_counts=True)[1]
    assert counts.max() > 10 * np.median(counts), "activity should be heavy-tailed"
    signup = np.array(users["signup_ts"], dtype="datetime64[us]")
    as_of_end = np.datetime64(tiny_config.as_of) + np.timedelta64(1, "D")
    recent = signup > as_of_end - np.timedelta64(7, "D")
    assert recent.sum() > 0, "some users sign up in the last days (cold start)"
    assert len(set(users["user_id"]) - set(events["user_id"])) > 0, "some users have no events"
    modalities = set(_read(out, "items").column("modality").to_pylist())
    assert modalities == {"music", "podcast"}
    weights = np.array(events["weight"])
    assert (weights < 30).mean() > 0.03, "some low-weight skips"
    onboarding_users = set(_read(out, "onboarding").column("user_id").to_pylist())
    assert onboarding_users == set(users["user_id"])


def test_history_is_one_file_by_default(tiny_config, tmp_path):
    counts = generate_world(dataclasses.replace(tiny_config, monthly_history=False), tmp_path / "one")
    assert [p.name for p in (tmp_path / "one" / "events").iterdir()] == ["history.parquet"]
    assert pq.read_metadata(tmp_path / "one" / "events" / "history.parquet").num_rows == counts["events"]


def test_monthly_history_lands_as_one_file_per_calendar_month(world):
    out, counts = world
    files = sorted((out / "events").glob("*.parquet"))
    assert len(files) >= 12
    for path in files:
        months = set(pq.read_table(path).column("ts").to_numpy().astype("datetime64[M]").astype(str))
        assert months == {path.stem}
    assert sum(pq.read_metadata(path).num_rows for path in files) == counts["events"]


@pytest.fixture
def raw_copy(world, tmp_path):
    out, _ = world
    shutil.copytree(out, tmp_path / "raw")
    return tmp_path / "raw"


def _snapshot(raw):
    return {str(p.relative_to(raw)): p.read_bytes() for p in sorted(raw.rglob("*")) if p.is_file()}


def test_a_batch_lands_whole_or_leaves_nothing(raw_copy, monkeypatch):
    before = _snapshot(raw_copy)
    real_write = pq.write_table
    calls = []

    def fail_on_second_file(table, where, *args, **kwargs):
        calls.append(where)
        if len(calls) == 2:
            raise OSError("disk full")
        return real_write(table, where, *args, **kwargs)

    monkeypatch.setattr(synthetic.pq, "write_table", fail_on_second_file)
    with pytest.raises(OSError, match="disk full"):
        land_batch(raw_copy, users=10, new_users=3, seed=1)
    assert _snapshot(raw_copy) == before, "no event file, no new user, no temporary file left behind"
    monkeypatch.setattr(synthetic.pq, "write_table", real_write)
    batch = land_batch(raw_copy, users=10, new_users=3, seed=1)
    assert (raw_copy / "events" / batch["file"]).exists()
    assert pq.read_metadata(raw_copy / "users.parquet").num_rows == pq.read_metadata(
        pa.BufferReader(before["users.parquet"])).num_rows + 3


def test_a_batch_fits_a_ratings_log_without_onboarding(raw_copy):
    """As on MovieLens: weights are ratings, and there is no onboarding file."""
    (raw_copy / "onboarding.parquet").unlink()
    ratings = pa.array(np.arange(1, 11) / 2)
    for path in (raw_copy / "events").glob("*.parquet"):
        events = pq.read_table(path)
        weights = pa.array(np.resize(ratings.to_numpy(), events.num_rows))
        pq.write_table(events.set_column(events.schema.get_field_index("weight"), "weight", weights), path)
    users_before = pq.read_table(raw_copy / "users.parquet").column("user_id").to_pylist()
    batch = land_batch(raw_copy, users=10, new_users=3, seed=2)
    landed = pq.read_table(raw_copy / "events" / batch["file"])
    assert set(landed.column("weight").to_pylist()) <= set(ratings.to_pylist())
    assert set(landed.column("event_type").to_pylist()) <= {"play", "skip"}
    users_after = pq.read_table(raw_copy / "users.parquet").column("user_id").to_pylist()
    assert users_after[: len(users_before)] == users_before and len(set(users_after)) == len(users_before) + 3
    assert not (raw_copy / "onboarding.parquet").exists()
