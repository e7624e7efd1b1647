"""Real data: MovieLens from ../shared (skipped when it is not there)."""

from conftest import new_world
from userrep.movielens import load_movielens


def test_movielens_builds_features_and_quarantines_the_unknown_movie(shared_movielens, tmp_path):
    world = new_world(tmp_path / "movielens")
    counts = load_movielens(shared_movielens, world.raw)
    world.dbt(["build"], {"as_of": counts["as_of"]})
    with world.connect() as con:
        users, dim = con.execute("select count(*), any_value(len(features)) from user_features").fetchone()
        encoders = [r[0] for r in con.execute("select distinct encoder from feature_schema where encoder is not null order by 1").fetchall()]
        refused = con.execute("select item_id, quarantine_reason from quarantine_events").fetchall()
    assert users == counts["users"] and dim > 0
    assert encoders == ["cf", "genre", "tag"]
    assert ("m999999", "unknown_item") in refused
