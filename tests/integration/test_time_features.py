"""time_features anchored: horizons end on each user's last event day and the calendar features sit
beside the vector, so a new day moves only the vectors of users who played or whose oldest kept
day left the longest horizon."""

import numpy as np
import pyarrow.parquet as pq
import pytest

from conftest import deploy_v1, new_world
from test_refresh import TINY, assert_equals_full_rebuild, run_refresh, snapshot
from test_user_features import assert_matches_reference
from userrep.project import set_project_vars
from userrep.synthetic import land_batch


@pytest.fixture(scope="module")
def anchored(tmp_path_factory, tiny_config):
    world = new_world(tmp_path_factory.mktemp("anchored"), tiny_config)
    set_project_vars(world.project, {"time_features": "anchored"})
    world.dbt(["build"])
    return deploy_v1(world, TINY)


def test_anchored_features_match_an_independent_numpy_computation(anchored):
    assert_matches_reference(anchored, time_features="anchored")


def test_the_calendar_features_are_beside_the_vector_not_in_it(anchored):
    with anchored.connect() as con:
        kinds = {k for (k,) in con.execute("select distinct kind from feature_schema").fetchall()}
        calendar = con.execute("select count(*), count(distinct user_id), sum(has_events::int), max(weeks_since_last_event_log2) "
                               "from user_calendar_features").fetchone()
        users = con.execute("select count(*) from user_features").fetchone()[0]
    assert not kinds & {"recency", "tenure"}
    assert calendar[0] == calendar[1] == users and 0 < calendar[2] < users and calendar[3] > 0


def test_a_new_day_re_encodes_only_players_and_users_whose_oldest_day_left(anchored, tmp_path):
    before_features, before_encoded = snapshot(anchored)
    with anchored.connect() as con:
        leaving_day = con.execute("select window_start from run_plan order by planned_at desc limit 1").fetchone()[0]
        leaving = {u for (u,) in con.execute("select distinct user_id from int_user_item_days where event_day = ?",
                                             [leaving_day]).fetchall()}
    batch = land_batch(anchored.raw, users=6, new_users=0, seed=21, next_day=True, duplicates=0)
    newest = sorted((anchored.raw / "events").glob("part-*.parquet"))[-1]
    players = set(pq.read_table(newest, columns=["user_id"]).column("user_id").to_pylist())
    assert len(players) == batch["users_with_events"]
    result = run_refresh(anchored)
    after_features, after_encoded = snapshot(anchored)
    moved = {u for u in before_features if not np.array_equal(after_features[u][0], before_features[u][0])}
    assert moved == players | leaving, "a quiet user's vector does not move with the calendar"
    assert len(moved) < len(before_features) / 4
    assert result["re_encoded"]["v1"] == len(moved)
    assert all(after_encoded[u] == before_encoded[u] for u in set(before_features) - moved)
    assert_equals_full_rebuild(anchored, tmp_path / "rebuild_anchored")
