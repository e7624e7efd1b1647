import pytest

from userrep.schema import FeatureGroup, groups_from_rows, groups_to_rows, input_dim, schema_hash


def _groups():
    return [
        FeatureGroup("enc__mean_7d", "behaviour_mean", "enc", 7, "music", "", 0, 4),
        FeatureGroup("country", "categorical", None, None, None, "DE|SE", 4, 2),
    ]


def test_hash_changes_with_any_field():
    base = schema_hash(_groups())
    assert base == schema_hash(groups_from_rows(groups_to_rows(_groups())))
    changed = _groups()
    changed[1] = FeatureGroup("country", "categorical", None, None, None, "DE|SE|US", 4, 3)
    assert schema_hash(changed) != base
    assert input_dim(_groups()) == 6


def test_rows_are_ordered_by_offset():
    rows = groups_to_rows(_groups())[::-1]
    assert [g.feature_offset for g in groups_from_rows(rows)] == [0, 4]


def test_missing_field_is_refused():
    rows = groups_to_rows(_groups())
    del rows[0]["dim"]
    with pytest.raises(KeyError):
        groups_from_rows(rows)
