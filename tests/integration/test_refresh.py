"""Near-real-time refresh: after any sequence of micro-batches the tables equal a full rebuild,
and only users whose features changed are recomputed and re-encoded."""

import time
from datetime import datetime, timedelta, timezone

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from conftest import clone_world, deploy_v1
from training.train import TrainConfig
from userrep.refresh import refresh
from userrep.synthetic import land_batch

TINY = TrainConfig(latent_dim=8, hidden=[32], steps=15, batch_size=64, sample=None, seed=5)


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
        window_start = con.execute("select window_start from run_plan order by planned_at desc limit 1").fetchone()[0]
        last_days = dict(con.execute("select source_file, cast(max_ts as date) from run_plan_event_files").fetchall())
    sql = (live.target / "compiled/userrep/models/intermediate/int_user_item_days.sql").read_text()
    read = {f for f in last_days if f"/{f}'" in sql}
    assert read == {f for f, day in last_days.items() if day >= window_start}
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
    live.dbt(["run", "--select", "run_plan_event_files run_plan_users run_plan int_user_item_days "
              "int_user_encoder_days_summed int_user_modality_days_counted int_users_last_active"])
    result = run_refresh(live)
    assert result["new_event_files"] == 0
    after_features, _ = snapshot(live)
    changed = {u for u in before_features if after_features[u][1] != before_features[u][1]}
    assert 0 < len(changed) <= batch["users_with_events"], "the batch's users are recomputed by the next run"
    assert_equals_full_rebuild(live, tmp_path / "rebuild_stopped")


def test_a_new_day_moves_every_row_to_the_new_as_of_and_re_encodes_only_the_vectors_that_moved(live, tmp_path):
    before_features, before_encoded = snapshot(live)
    with live.connect() as con:
        old_as_of = con.execute("select max(as_of) from user_features").fetchone()[0]
    land_batch(live.raw, users=5, new_users=1, seed=13, next_day=True)
    result = run_refresh(live)
    after_features, after_encoded = snapshot(live)
    with live.connect() as con:
        assert con.execute("select min(as_of), max(as_of) from user_features").fetchone() == (old_as_of + timedelta(days=1),) * 2
    moved = {u for u in before_features if not np.array_equal(after_features[u][0], before_features[u][0])}
    assert 5 <= len(moved) < len(before_features), "the batch's users and those whose windows or calendar steps moved"
    assert all(after_features[u][1] > before_features[u][1] for u in moved)
    kept = set(before_features) - moved
    assert all(after_features[u][1] == before_features[u][1] for u in kept), "an unchanged vector keeps its updated_at"
    assert all(after_encoded[u] == before_encoded[u] for u in kept), "and is not re-encoded"
    assert result["users_with_new_features"] == result["re_encoded"]["v1"] == len(moved) + 1
    assert_equals_full_rebuild(live, tmp_path / "rebuild3")


def test_as_of_follows_the_latest_landed_event_day(live):
    land_batch(live.raw, users=5, new_users=0, seed=14, next_day=True)
    run_refresh(live)
    with live.connect() as con:
        as_of, raw_latest_day = con.execute(
            "select (select as_of from run_plan order by planned_at desc limit 1), (select max(ts)::date from raw.events)").fetchone()
    assert as_of == raw_latest_day

    land_batch(live.raw, users=5, new_users=0, seed=15, next_day=True)
    result = run_refresh(live)
    with live.connect() as con:
        assert con.execute("select as_of from run_plan order by planned_at desc limit 1").fetchone()[0] == as_of + timedelta(days=1)
    assert result["new_event_files"] == 1


def plan_row(world):
    with world.connect() as con:
        return con.execute("select as_of, rebuild, rebuild_reason, everyone from run_plan order by planned_at desc limit 1").fetchone()


def test_an_event_from_the_future_is_quarantined_and_moves_nothing(live):
    before_features, _ = snapshot(live)
    as_of_before = plan_row(live)[0]
    events = pq.read_table(sorted((live.raw / "events").glob("part-*.parquet"))[-1])
    future = events.slice(0, 1).set_column(2, "ts", pa.array([datetime(2999, 1, 1, tzinfo=timezone.utc)], events.schema.field("ts").type))
    pq.write_table(future, live.raw / "events" / "part-future.parquet")
    result = run_refresh(live)
    assert plan_row(live)[0] == as_of_before, "as_of ignores an event after the clock"
    assert result["users_with_new_features"] == 0 and snapshot(live)[0] == before_features
    live.dbt(["run", "--select", "quarantine_events"])
    with live.connect() as con:
        assert con.execute("select count(*) from quarantine_events where quarantine_reason = 'future_timestamp'").fetchone()[0] == 1


def test_an_overwritten_event_file_is_summed_again(live, tmp_path):
    summed = sorted((live.raw / "events").glob("part-0*.parquet"))[0]
    events = pq.read_table(summed)
    heavier = events.set_column(3, "weight", pa.array([w * 3 + 1 for w in events.column("weight").to_pylist()]))
    pq.write_table(heavier, summed)
    run_refresh(live)
    assert plan_row(live)[1:3] == (True, f"event file events/{summed.name} changed since it was summed")
    # the rebuild's tables are compared with a clean build after the next changes (a changed user attribute)


def test_a_removed_event_file_and_a_removed_user_rebuild_what_they_fed(live, tmp_path):
    sorted((live.raw / "events").glob("part-0*.parquet"))[-1].unlink()
    users = pq.read_table(live.raw / "users.parquet")
    pq.write_table(users.slice(1), live.raw / "users.parquet")
    run_refresh(live)
    as_of, rebuild, reason, _ = plan_row(live)
    assert rebuild and "removed since it was summed" in reason and "1 user(s) left the users source" in reason
    with live.connect() as con:
        gone = users.column("user_id")[0].as_py()
        assert con.execute("select count(*) from user_representation_v1 where user_id = ?", [gone]).fetchone()[0] == 0


def test_a_changed_user_attribute_recomputes_that_user_only(live, tmp_path):
    """Also the clean-build check of the two rebuilds before it (an overwritten file, a removed one)."""
    before_features, before_encoded = snapshot(live)
    users = pq.read_table(live.raw / "users.parquet")
    country = users.column("country").to_pylist()
    country[0] = "SE" if country[0] != "SE" else "DE"
    pq.write_table(users.set_column(users.schema.get_field_index("country"), "country", pa.array(country)), live.raw / "users.parquet")
    result = run_refresh(live)
    assert plan_row(live)[1] is False
    assert result["users_with_new_features"] == 1 and result["re_encoded"] == {"v1": 1}
    assert_equals_full_rebuild(live, tmp_path / "rebuild_changed_user")


def test_a_changed_onboarding_pick_recomputes_that_user_only(live, tmp_path):
    """One user picks one more item; another picks an item nobody knows, which is quarantined and
    leaves their features as they were."""
    picks = pq.read_table(live.raw / "onboarding.parquet")
    items = pq.read_table(live.raw / "items.parquet").column("item_id").to_pylist()
    users = set(pq.read_table(live.raw / "users.parquet").column("user_id").to_pylist())
    pickers = [user for user in dict.fromkeys(picks.column("user_id").to_pylist()) if user in users]
    picked = {item for user, item in zip(picks.column("user_id").to_pylist(), picks.column("item_id").to_pylist())
              if user == pickers[0]}
    extra = picks.slice(0, 2).to_pydict()
    extra.update(user_id=pickers[:2], item_id=[next(item for item in items if item not in picked), "no_such_item"])
    pq.write_table(pa.concat_tables([picks, pa.table(extra, schema=picks.schema)]), live.raw / "onboarding.parquet")
    result = run_refresh(live)
    with live.connect() as con:
        planned = con.execute("select reason, count(*) from run_plan_users "
                              "where planned_at = (select max(planned_at) from run_plan_users) group by 1").fetchall()
    assert planned == [("user_changed", 2)]
    assert result["users_with_new_features"] == 1 and result["re_encoded"] == {"v1": 1}
    assert_equals_full_rebuild(live, tmp_path / "rebuild_changed_pick")


def test_as_of_moved_back_rebuilds_instead_of_failing(live, tmp_path):
    as_of = plan_row(live)[0]
    live.dbt(["run", "--select", "tag:nrt"], {"as_of": str(as_of - timedelta(days=3))})
    assert plan_row(live)[1:3] == (True, f"as_of moved back from {as_of} to {as_of - timedelta(days=3)}")
    live.dbt(["run", "--select", "tag:nrt"])  # back to the latest event day: a rebuild again
    assert plan_row(live)[0] == as_of
    assert_equals_full_rebuild(live, tmp_path / "rebuild_as_of")


def test_a_batch_of_events_alone_plans_its_users_without_hashing_every_user(live, tmp_path):
    batch = land_batch(live.raw, users=6, new_users=0, seed=18, duplicates=0)
    run_refresh(live)
    sql = (live.target / "compiled/userrep/models/run_plan/run_plan_users.sql").read_text()
    assert "stg_raw__users" not in sql, "the users, onboarding and items files are as last hashed"
    with live.connect() as con:
        planned = con.execute("select reason, count(*) from run_plan_users "
                              "where planned_at = (select max(planned_at) from run_plan_users) group by 1").fetchall()
    assert planned == [("new_events", batch["users_with_events"])]
    assert_equals_full_rebuild(live, tmp_path / "rebuild_unhashed")


def test_a_sign_up_that_comes_due_is_planned_though_no_file_changed(live):
    """A sign-up later than the clock cut is quarantined; once the clock passes it, the user is new,
    though the files behind the users' hashes are the same. No clock skew in either run, so that
    the clock, not a changed setting, brings the sign-up in."""
    no_skew = {"max_clock_skew_minutes": 0}
    users = pq.read_table(live.raw / "users.parquet")
    soon = datetime.now(timezone.utc).replace(microsecond=0) + timedelta(seconds=40)
    newcomer = users.slice(0, 1).set_column(0, "user_id", pa.array(["u_signs_up_soon"]))
    newcomer = newcomer.set_column(newcomer.schema.get_field_index("signup_ts"), "signup_ts",
                                   pa.array([soon], users.schema.field("signup_ts").type))
    pq.write_table(pa.concat_tables([users, newcomer]), live.raw / "users.parquet")
    land_batch(live.raw, users=3, new_users=0, seed=19, duplicates=0)  # its users' rows carry the new files' fingerprint
    live.dbt(["run", "--select", "tag:nrt"], no_skew)

    def newcomer_rows():
        with live.connect() as con:
            return con.execute("select (select count(*) from user_features where user_id = 'u_signs_up_soon'), "
                               "(select max(reason) from run_plan_users where user_id = 'u_signs_up_soon')").fetchone()

    assert newcomer_rows() == (0, None), "signed up after this run started: quarantined as future_signup_ts"
    time.sleep(max((soon - datetime.now(timezone.utc)).total_seconds() + 1, 0))
    live.dbt(["run", "--select", "tag:nrt"], no_skew)
    assert newcomer_rows() == (1, "new_user")


def land_plays_of(world, user_id, file_name, rows=6, skip=0, oldest=False):
    """An events file of `rows` plays copied from those already landed, the latest after skipping
    `skip` (or the oldest), all given to `user_id`; returns them."""
    events = pq.read_table(world.raw / "events")
    events = events.filter(pc.less(events.column("ts"), pa.scalar(datetime.now(timezone.utc), events.schema.field("ts").type)))
    order = pc.sort_indices(events, sort_keys=[("ts", "ascending" if oldest else "descending")])
    plays = events.take(order[skip:skip + rows])
    plays = plays.set_column(0, "user_id", pa.array([user_id] * rows, plays.schema.field("user_id").type))
    pq.write_table(plays, world.raw / "events" / file_name)
    return plays


def days_of(plays):
    return set(pc.cast(plays.column("ts"), pa.date32()).to_pylist())


def sign_up(world, *user_ids):
    """`user_ids` added to the users source, with the first user's sign-up time and attributes."""
    users = pq.read_table(world.raw / "users.parquet")
    arrivals = users.take([0] * len(user_ids))
    arrivals = arrivals.set_column(0, "user_id", pa.array(user_ids, users.schema.field("user_id").type))
    pq.write_table(pa.concat_tables([users, arrivals]), world.raw / "users.parquet")


def last_event_day(world, user_id):
    with world.connect() as con:
        return con.execute("select last_event_day from int_users_last_active where user_id = ?", [user_id]).fetchone()


def test_events_that_land_before_their_user_are_summed_when_the_user_arrives(live, tmp_path):
    """Events whose user is not in the users source yet are quarantined (unknown_user); the refresh
    that brings the user in sums them, from files it has already planned, as a rebuild would."""
    early = land_plays_of(live, "u_arrives_late", "part-0early-plays.parquet")
    run_refresh(live)
    with live.connect() as con:
        assert con.execute("select count(*) from user_features where user_id = 'u_arrives_late'").fetchone()[0] == 0

    sign_up(live, "u_arrives_late")
    result = run_refresh(live)
    assert plan_row(live)[1] is False, "an arrival is not a rebuild"
    assert result["users_with_new_features"] == 1
    assert last_event_day(live, "u_arrives_late") == (max(days_of(early)),)
    assert_equals_full_rebuild(live, tmp_path / "rebuild_arrival")


def test_a_new_user_stays_new_until_a_run_completes(live, tmp_path):
    """A run that stopped after planning a new user leaves them new to the next run, which reads
    their earlier events though it plans them again for a play that landed since."""
    early = land_plays_of(live, "u_arrives_then_stops", "part-0early-plays-2.parquet")
    run_refresh(live)
    sign_up(live, "u_arrives_then_stops")
    live.dbt(["run", "--select", "run_plan_event_files run_plan_users run_plan"])  # stopped once planned
    later = land_plays_of(live, "u_arrives_then_stops", "part-0later-plays.parquet", rows=2, skip=2000)
    assert not days_of(later) & days_of(early), "the later plays alone would not touch the early days"
    run_refresh(live)
    with live.connect() as con:
        assert con.execute("select reason from run_plan_users where user_id = 'u_arrives_then_stops'").fetchone() == ("new_events",)
    assert_equals_full_rebuild(live, tmp_path / "rebuild_stopped_arrival")


def test_users_beyond_max_listed_users_are_read_through_the_ledger(live, tmp_path):
    """With max_listed_users 0 no plan names a user: the models read the planned and the new users
    through the users' ledger, and the refresh still equals a full rebuild. The new user's only
    plays are older than the window, in a file no refresh reads but for new users."""
    unlisted = {"max_listed_users": 0}

    def refresh_unlisted():
        return refresh(home=live.root, raw_dir=live.raw, warehouse=live.warehouse, registry=live.registry,
                       project=live.project, target_path=live.target, dbt_vars=unlisted)

    oldest = land_plays_of(live, "u_arrives_unlisted", "part-0oldest-plays.parquet", oldest=True)
    land_batch(live.raw, users=5, new_users=0, seed=23, duplicates=0)
    refresh_unlisted()
    sign_up(live, "u_arrives_unlisted", "u_new_unlisted_1", "u_new_unlisted_2")
    batch = land_batch(live.raw, users=5, new_users=0, seed=24, duplicates=0)
    result = refresh_unlisted()
    with live.connect() as con:
        listed = con.execute("select users, user_count, new_users, new_user_count, window_start from run_plan "
                             "order by planned_at desc limit 1").fetchone()
    assert listed[:4] == (None, batch["users_with_events"] + 3, None, 3)
    assert max(days_of(oldest)) < listed[4], "outside the window"
    assert last_event_day(live, "u_arrives_unlisted") == (max(days_of(oldest)),)
    assert result["users_with_new_features"] >= 3
    assert_equals_full_rebuild(live, tmp_path / "rebuild_unlisted")


def test_a_new_attribute_is_capped_and_announced_to_the_published_versions(live):
    """An email column: hundreds of values would be a one-hot as wide; the most common values
    keep a slot each and the rest share one, and v1, trained without it, says what to do."""
    from userrep.dbt import DbtError

    users = pq.read_table(live.raw / "users.parquet")
    emails = [f"user{i}@example.com" for i in range(users.num_rows)]
    pq.write_table(users.append_column("email", pa.array(emails)), live.raw / "users.parquet")
    with pytest.raises(DbtError) as error:
        run_refresh(live)
    assert ("user_representation_v1: the features changed since v1 was trained" in str(error.value)
            and "groups added: email" in str(error.value) and "userrep unpublish v1" in str(error.value))
    with live.connect() as con:
        assert con.execute("select dim from feature_schema where group_name = 'email'").fetchone()[0] == 51
