"""Real data: MovieLens from ../shared (skipped when it is not there)."""

import duckdb
import pytest
import yaml
from click.testing import CliRunner

from conftest import new_world
from userrep.cli import cli
from userrep.movielens import load_movielens


@pytest.fixture(scope="module")
def per_user_world(shared_movielens, tmp_path_factory):
    world = new_world(tmp_path_factory.mktemp("movielens"))
    result = CliRunner().invoke(cli, ["load-movielens", str(shared_movielens), "--out", str(world.raw)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    command = next(line for line in result.output.splitlines() if line.startswith("build with:"))
    dbt_vars = yaml.safe_load(command.split("--vars ", 1)[1].strip("'"))
    world.dbt(["build"], {**dbt_vars, "as_of": str(dbt_vars["as_of"])})
    return world, result.output, dbt_vars


def test_movielens_builds_features_and_counts_the_user_it_leaves_out(per_user_world):
    world, output, _ = per_user_world
    with world.connect() as con:
        users, dim = con.execute("select count(*), any_value(len(features)) from user_features").fetchone()
        loaded = con.execute(f"select count(*) from read_parquet('{world.raw / 'users.parquet'}')").fetchone()[0]
        encoders = [r[0] for r in con.execute("select distinct encoder from feature_schema where encoder is not null order by 1").fetchall()]
    assert users == loaded and dim > 0
    assert encoders == ["cf", "genre", "tag"]
    # this copy has one user with a single rating (of an unknown movie): no history to hold out from
    assert "users_left_out=1" in output


def test_per_user_holdout_gives_every_user_their_last_fifth_as_future(per_user_world):
    world, _, _ = per_user_world
    with duckdb.connect() as con:
        rows = con.execute(f"""
            with history as (select user_id, count(*) n, max(ts) last_ts from read_parquet('{world.raw}/events/*.parquet') group by 1),
                 future as (select user_id, count(*) n, min(ts) first_ts from read_parquet('{world.raw}/future_events.parquet') group by 1)
            select h.user_id, h.n, f.n, h.last_ts <= f.first_ts
            from read_parquet('{world.raw}/users.parquet') u
            left join history h using (user_id) left join future f using (user_id)""").fetchall()
    assert rows and all(history_n and future_n for _, history_n, future_n, _ in rows)  # nobody without history or labels
    assert all(ordered for *_, ordered in rows)
    assert all(future_n == max(1, int(0.2 * (history_n + future_n))) for _, history_n, future_n, _ in rows)


def test_the_loader_prints_horizons_that_fit_and_the_exact_vars(per_user_world):
    world, output, dbt_vars = per_user_world
    assert "horizons that fit this history" in output
    assert dbt_vars["horizons"] == sorted(dbt_vars["horizons"]) and max(dbt_vars["horizons"]) >= 3650
    with world.connect() as con:
        with_behaviour = con.execute(
            "select count(*) from user_features where features[(select feature_offset + 1 from feature_schema "
            "where kind = 'presence' and encoder = 'genre' and horizon_days = (select max(horizon_days) from feature_schema))] = 1"
        ).fetchone()[0]
        users = con.execute("select count(*) from user_features").fetchone()[0]
    assert with_behaviour >= 0.95 * users  # the longest horizon holds nearly every user's history


def test_global_cut_leaves_out_users_who_start_after_it(shared_movielens, tmp_path):
    counts = load_movielens(shared_movielens, tmp_path / "raw", holdout="global", future_days=28)
    with duckdb.connect() as con:
        late = con.execute(f"select count(*) from read_parquet('{tmp_path}/raw/users.parquet') "
                           f"where signup_ts::date > date '{counts['as_of']}'").fetchone()[0]
        unknown = con.execute(f"""select count(*) from read_parquet('{tmp_path}/raw/future_events.parquet')
                                  where user_id not in (select user_id from read_parquet('{tmp_path}/raw/users.parquet'))""").fetchone()[0]
        unknown_movie = con.execute(f"select count(*) from read_parquet('{tmp_path}/raw/events/*.parquet') "
                                    "where item_id = 'm999999'").fetchone()[0]
    assert counts["users_left_out"] > 0  # this copy has users whose first rating is in the last 28 days
    assert late == 0 and unknown == 0
    assert unknown_movie == 1  # kept for dbt to quarantine, as an event of an unknown item
