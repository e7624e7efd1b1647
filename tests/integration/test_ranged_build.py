"""A full build at scale runs one statement per user range; it must land exactly where one
statement lands. The tiny world is forced into many ranges with a small `events_per_range`."""

import numpy as np

from conftest import clone_world


def table(world, sql):
    with world.connect() as con:
        return con.execute(sql).fetchall()


def test_ranged_full_build_equals_single_statement(tmp_path, built_world):
    ranged = clone_world(built_world, tmp_path / "ranged")
    ranged.dbt(["run", "--full-refresh", "--exclude", "path:models/published"], dbt_vars={"events_per_range": 2000})
    with ranged.connect() as con:
        raw_events = con.execute("select count(*) from raw.events").fetchone()[0]
    assert raw_events > 4 * 2000, "the world is too small to split into several ranges"

    for sql in ["select user_id, features_hash is not null, as_of from user_features order by user_id",
                "select user_id, encoder, event_day, event_count from int_user_encoder_days_summed order by all",
                "select user_id, modality, event_day, event_count from int_user_modality_days_counted order by all",
                "select user_id, last_event_day from int_users_last_active order by all"]:
        assert table(ranged, sql) == table(built_world, sql), sql
    features = "select features from user_features order by user_id"
    np.testing.assert_allclose(np.array([f for (f,) in table(ranged, features)]),
                               np.array([f for (f,) in table(built_world, features)]), atol=1e-5)
