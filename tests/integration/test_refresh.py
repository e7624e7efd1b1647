"""Near-real-time refresh: after any sequence of micro-batches the tables equal a full rebuild,
and only users whose features changed are recomputed and re-encoded."""

from datetime import timedelta

import numpy as np
import pytest

from conftest import clone_world, deploy_v1
from training.train import TrainConfig
from userrep.refresh import refresh
from userrep.synthetic import land_batch

TINY = TrainConfig(latent_dim=8, hidden=[32], epochs=2, batch_size=64, sample=None, seed=5)


@pytest.fixture(scope="module")
def live(built_world, tmp_path_factory):
    return deploy_v1(clone_world(built_world, tmp_path_factory.mktemp("live")), TINY)


def snapshot(world):
    with world.connect() as con:
        features = {u: (f, t) for u, f, t in con.execute("select user_id, features, updated_at from user_features").fetchall()}
        encoded = {u: (e, t) for u, e, t in con.execute("select user_id, embedding, updated_at from user_representation_v1").fetchall()}
    return features, encoded


def assert_equals_full_rebuild(world, tmp_path):
    fresh = clone_world(world, tmp_path, deployment=True)
    fresh.dbt(["run"])
    (features, encoded), (expected_features, expected_encoded) = snapshot(world), snapshot(fresh)
    assert sorted(features) == sorted(expected_features)
    users = sorted(features)
    np.testing.assert_allclose([features[u][0] for u in users], [expected_features[u][0] for u in users], atol=1e-5)
    np.testing.assert_allclose([encoded[u][0] for u in users], [expected_encoded[u][0] for u in users], atol=1e-5)


def run_refresh(world):
    return refresh(home=world.root, raw_dir=world.raw, warehouse=world.warehouse, registry=world.registry, project=world.project,
                   target_path=world.target)


def test_a_batch_touches_only_its_users_and_equals_a_full_rebuild(live, tmp_path):
    before_features, before_encoded = snapshot(live)
    batch = land_batch(live.raw, users=25, new_users=4, seed=11, duplicates=15)
    result = run_refresh(live)
    after_features, after_encoded = snapshot(live)

    new_users = set(after_features) - set(before_features)
    assert len(new_users) == 4 and new_users <= set(after_encoded), "brand-new users are encoded in the next refresh"
    changed = {u for u in before_features if after_features[u][1] != before_features[u][1]}
    assert 0 < len(changed) <= batch["users_with_events"]
    assert result["users_with_new_features"] == len(changed) + 4
    assert result["re_encoded"] == {"v1": len(changed) + 4}
    untouched = set(before_features) - changed
    assert all(after_features[u] == before_features[u] for u in untouched), "untouched users keep their row"
    assert all(after_encoded[u] == before_encoded[u] for u in untouched), "untouched users are not re-encoded"
    assert_equals_full_rebuild(live, tmp_path / "rebuild1")


def test_a_refresh_reads_no_event_file_that_ends_before_the_longest_horizon(live):
    land_batch(live.raw, users=8, new_users=0, seed=17)
    run_refresh(live)
    with live.connect() as con:
        window_start = con.execute("select as_of - 179 from stg_raw__as_of").fetchone()[0]  # horizons up to 180 days
        last_days = dict(con.execute("select source_file, cast(latest_ts as date) from int_event_files_loaded").fetchall())
    for model in ("int_user_encoder_days_summed", "int_user_modality_days_counted"):
        sql = (live.target / "compiled/userrep/models/intermediate" / f"{model}.sql").read_text()
        read = {f for f in last_days if f"'{f}'" in sql}
        assert read == {f for f, day in last_days.items() if day >= window_start}, model
        assert len(read) < len(last_days), "the tiny world's first months end before the window"


def test_duplicates_and_late_events_count_once_and_a_rerun_changes_nothing(live, tmp_path):
    land_batch(live.raw, users=10, new_users=0, seed=12, duplicates=40, late_days=6)
    run_refresh(live)
    before = snapshot(live)
    assert run_refresh(live)["users_with_new_features"] == 0
    assert snapshot(live) == before
    assert_equals_full_rebuild(live, tmp_path / "rebuild2")


def test_a_refresh_stopped_before_user_features_is_finished_by_the_next_one(live, tmp_path):
    before_features, _ = snapshot(live)
    batch = land_batch(live.raw, users=12, new_users=0, seed=16)
    # a run that failed after the daily models committed: the batch's files are summed and recorded
    live.dbt(["run", "--select", "int_user_encoder_days_summed int_user_modality_days_counted "
              "int_users_last_active int_event_files_loaded"])
    result = run_refresh(live)
    assert result["new_event_files"] == 0
    after_features, _ = snapshot(live)
    changed = {u for u in before_features if after_features[u][1] != before_features[u][1]}
    assert 0 < len(changed) <= batch["users_with_events"], "the batch's users are recomputed by the next run"
    assert_equals_full_rebuild(live, tmp_path / "rebuild_stopped")


def test_a_new_day_ages_events_out_of_the_windows(live, tmp_path):
    with live.connect() as con:
        old_as_of = con.execute("select any_value(as_of) from user_features").fetchone()[0]
    land_batch(live.raw, users=5, new_users=1, seed=13, next_day=True)
    result = run_refresh(live)
    with live.connect() as con:
        assert con.execute("select any_value(as_of) from user_features").fetchone()[0] > old_as_of
    assert result["users_with_new_features"] == result["users"], "recency moves for every user on a new day"
    assert_equals_full_rebuild(live, tmp_path / "rebuild3")


def test_as_of_from_stored_file_timestamps_and_a_warehouse_from_before_latest_ts_catches_up(live):
    # a warehouse summed before int_event_files_loaded kept each file's latest timestamp
    with live.connect(read_only=False) as con:
        con.execute("alter table int_event_files_loaded drop column latest_ts")
        loaded_before = dict(con.execute("select source_file, loaded_at from int_event_files_loaded").fetchall())
    land_batch(live.raw, users=5, new_users=0, seed=14, next_day=True)
    run_refresh(live)
    with live.connect() as con:
        stored = {f: (ts, at) for f, ts, at in con.execute("select source_file, latest_ts, loaded_at from int_event_files_loaded").fetchall()}
        raw = dict(con.execute("select filename, cast(max(ts) as timestamp) from raw.events group by 1").fetchall())
        as_of, raw_latest_day = con.execute("select (select as_of from stg_raw__as_of), (select max(ts)::date from raw.events)").fetchone()
    assert {f: ts for f, (ts, _) in stored.items()} == raw, "every file's latest timestamp is filled in, old files included"
    assert all(stored[f][1] == at for f, at in loaded_before.items()), "files summed before keep their loaded_at"
    assert as_of == raw_latest_day

    land_batch(live.raw, users=5, new_users=0, seed=15, next_day=True)
    result = run_refresh(live)
    with live.connect() as con:
        assert con.execute("select as_of from stg_raw__as_of").fetchone()[0] == as_of + timedelta(days=1)
    assert result["new_event_files"] == 1
