import numpy as np

from reference_features import reference_features
from userrep.schema import input_dim, read_feature_schema


def test_user_features_match_an_independent_numpy_computation(built_world):
    assert_matches_reference(built_world)


def assert_matches_reference(world, time_features=None):
    user_ids, names, expected, as_of = reference_features(world.raw, time_features=time_features)
    with world.connect() as con:
        groups, _ = read_feature_schema(con)
        rows = con.execute("select user_id, features, epoch(as_of)::bigint // 86400 from user_features order by user_id").fetchall()
    assert [g.group_name for g in groups] == names
    assert {r[2] for r in rows} == {as_of}
    actual = dict((r[0], r[1]) for r in rows)
    assert sorted(actual) == sorted(user_ids), "one row per user, users without events included"
    got = np.array([actual[u] for u in user_ids], dtype=np.float64)
    assert got.shape == expected.shape == (len(user_ids), input_dim(groups))
    diff = np.abs(got - expected)
    worst = np.unravel_index(diff.argmax(), diff.shape)
    assert diff.max() < 1e-5, f"max abs diff {diff.max()} at user {user_ids[worst[0]]}, feature {worst[1]}"


def test_features_never_null_or_nan_and_users_without_events_are_zero_filled(built_world):
    with built_world.connect() as con:
        bad = con.execute(
            "select count(*) from user_features where features is null or list_count(features) != len(features) "
            "or not isfinite(list_sum(features))"
        ).fetchone()[0]
        no_events = con.execute(
            """select count(*), sum(list_sum(features[1:384]) = 0)::int from user_features f
               where not exists (select 1 from stg_raw__events e where e.user_id = f.user_id)"""
        ).fetchone()
    assert bad == 0
    assert no_events[0] > 0 and no_events[0] == no_events[1]


def test_schema_hash_in_sql_equals_python(built_world):
    with built_world.connect() as con:
        _, computed = read_feature_schema(con)  # raises when the SQL hash disagrees with the rows
        stored = con.execute("select distinct feature_schema_hash from user_features").fetchall()
    assert stored == [(computed,)]


def test_any_selection_builds_on_a_fresh_warehouse(tmp_path, tiny_config):
    """A test that reads a model outside the selection (the quarantine counts) is not run."""
    from conftest import new_world

    world = new_world(tmp_path / "fresh", tiny_config)
    world.dbt(["build", "--select", "+user_features"])
    with world.connect() as con:
        assert con.execute("select count(*) from user_features").fetchone()[0] == tiny_config.users
