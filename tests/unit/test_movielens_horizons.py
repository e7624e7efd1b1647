"""Which horizons the MovieLens loader suggests for the history it loaded."""

import numpy as np

from userrep.movielens import dbt_vars, suggest_horizons


def test_horizons_follow_how_long_ago_users_were_active():
    # MovieLens-like: most users rated years before as_of, a few recently
    ages = np.concatenate([np.full(10, 20), np.full(40, 500), np.full(50, 5000)])
    horizons, covered = suggest_horizons(ages)
    assert horizons == [30, 730, 7300]
    assert covered[30] == 10 and covered[7300] == 100


def test_active_users_get_short_strictly_increasing_horizons():
    horizons, _ = suggest_horizons(np.zeros(100))
    assert horizons == [7, 30, 90]


def test_the_printed_vars_are_valid_yaml_for_dbt():
    import yaml

    text = dbt_vars("2018-09-17", [730, 3650, 10950])
    assert yaml.safe_load(text) == {"as_of": __import__("datetime").date(2018, 9, 17), "horizons": [730, 3650, 10950]}
