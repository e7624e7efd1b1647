"""What `userrep watch` counts as a change in the raw directory."""

import os

from userrep.watch import changed_files, raw_file_states


def test_a_file_still_being_landed_under_a_dot_name_is_not_seen_until_it_is_renamed(tmp_path):
    (tmp_path / "events").mkdir()
    (tmp_path / "users.parquet").write_bytes(b"u")
    (tmp_path / "events" / ".part-1.parquet.landing").write_bytes(b"half")
    before = raw_file_states(tmp_path)
    assert sorted(before) == ["users.parquet"]

    (tmp_path / "events" / ".part-1.parquet.landing").rename(tmp_path / "events" / "part-1.parquet")
    after = raw_file_states(tmp_path)
    assert changed_files(before, after) == [os.path.join("events", "part-1.parquet")]


def test_an_overwritten_and_a_removed_file_are_changes(tmp_path):
    (tmp_path / "a.parquet").write_bytes(b"1")
    (tmp_path / "b.parquet").write_bytes(b"1")
    before = raw_file_states(tmp_path)
    (tmp_path / "a.parquet").write_bytes(b"22")
    (tmp_path / "b.parquet").unlink()
    assert changed_files(before, raw_file_states(tmp_path)) == ["a.parquet", "b.parquet"]
    assert changed_files(before, before) == []
