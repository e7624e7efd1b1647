"""The benchmark's stages measure the real code path: run here on a copy of the tiny world."""

from benchmarks.stages import encoder_horizons
from conftest import clone_world


def test_encoder_horizon_stage_rebuilds_the_daily_sums_and_computes_every_users_means(built_world, tmp_path):
    world = clone_world(built_world, tmp_path / "world")
    with world.connect() as con:
        daily_rows_before = con.execute("select count(*) from int_user_encoder_days_summed").fetchone()[0]
        # every (user, encoder) with a valid event inside the longest horizon, from the staged events
        expected = con.execute("""
            select count(*) from (
                select distinct events.user_id, embeddings.encoder
                from stg_raw__events as events
                join stg_raw__item_embeddings as embeddings using (item_id)
                where events.event_day >= (select window_start from run_plan order by planned_at desc limit 1)
            )
        """).fetchone()[0]

    result = encoder_horizons(world.root)

    assert expected > 0
    assert result["user_encoder_rows"] == expected
    assert result["daily_sum_rows"] == daily_rows_before
    assert result["daily_sums_s"] > 0 and result["horizon_means_s"] > 0
