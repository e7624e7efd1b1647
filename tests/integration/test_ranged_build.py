"""A full build at scale runs one statement per user range; it must land exactly where one
statement lands. The tiny world is forced into many ranges with a small `events_per_range`."""

import numpy as np

from conftest import clone_world
from userrep.synthetic import land_batch


def table(world, sql):
    with world.connect() as con:
        return con.execute(sql).fetchall()


def test_ranged_full_build_equals_single_statement(tmp_path, built_world):
    ranged = clone_world(built_world, tmp_path / "ranged")
    # copies of landed events across files, so that the ranged quarantine has duplicates to find
    land_batch(ranged.raw, users=200, new_users=0, seed=5, duplicates=60)
    build = ["run", "--full-refresh", "--exclude", "tag:published"]
    ranged.dbt(build, dbt_vars={"events_per_range": 2000})
    with ranged.connect() as con:
        raw_events = con.execute("select count(*) from raw.events").fetchone()[0]
    assert raw_events > 4 * 2000, "the world is too small to split into several ranges"
    snapshot_sql = [
        "select user_id, features_hash is not null, as_of from user_features order by user_id",
        "select user_id, encoder, event_day, event_count from int_user_encoder_days_summed order by all",
        "select user_id, modality, event_day, event_count from int_user_modality_days_counted order by all",
        "select user_id, last_event_day from int_users_last_active order by all",
        "select * from quarantine_events order by all",
        "select count(*), count(distinct source_file) from quarantine_events where quarantine_reason = 'duplicate_event'",
    ]
    features = "select features from user_features order by user_id"
    ranged_tables = [table(ranged, sql) for sql in snapshot_sql]
    ranged_features = np.array([f for (f,) in table(ranged, features)])

    ranged.dbt(build)  # the same data in one statement per model
    assert ranged_tables[-1][0][0] == 60, "every landed copy is one duplicate_event"
    for sql, rows in zip(snapshot_sql, ranged_tables):
        assert rows == table(ranged, sql), sql
    np.testing.assert_allclose(ranged_features, np.array([f for (f,) in table(ranged, features)]), atol=1e-5)
