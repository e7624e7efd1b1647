"""What `userrep watch` counts as a change in the raw directory."""

import os

from userrep.dbt import DbtError
from userrep.watch import changed_files, failure_reason, raw_file_states


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


def test_a_failed_refresh_is_told_in_one_line_with_what_failed_and_why():
    # the texts run_dbt raised today for a bad var and for a model reading a missing column
    compile_error = DbtError("dbt run failed (exit 2):\n06:03:52  Encountered an error:\n"
                             "Compilation Error in model run_plan (models/run_plan/run_plan.sql)\n"
                             "  var horizons must be a non-empty list (got oops)\n  > in macro horizons (macros/settings.sql)")
    runtime_error = DbtError("dbt run failed (exit 1):\n06:03:57  Completed with 1 error, 0 partial successes, and 0 warnings:\n"
                             "06:03:57  \n06:03:57  Failure in model broken (models/broken.sql)\n"
                             '  Binder Error: Referenced column "x" not found in FROM clause!\n  Candidate bindings: "a"\n'
                             "06:03:57  Done. PASS=2 WARN=0 ERROR=1 SKIP=0 NO-OP=0 TOTAL=3")
    assert failure_reason(compile_error) == ("Compilation Error in model run_plan (models/run_plan/run_plan.sql) "
                                             "var horizons must be a non-empty list (got oops)")
    assert failure_reason(runtime_error) == 'Binder Error: Referenced column "x" not found in FROM clause! Candidate bindings: "a"'
    assert failure_reason(DbtError("dbt run failed (exit 1):\n06:00:00  Done.")) == "06:00:00  Done."
