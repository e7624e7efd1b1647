import sys
from pathlib import Path

import numpy as np
import pytest

from benchmarks.run import measured, world_name
from benchmarks.stages import profile_settings

REPOSITORY = Path(__file__).resolve().parents[2]


def test_world_names_carry_every_non_default_history_setting():
    assert world_name(1_000_000) == "1000000"
    assert world_name(1_000_000, events_per_user=113) == "1000000-113epu"
    assert world_name(100_000, days=730, monthly_history=True, events_per_user=200) == "100000-730d-200epu-monthly"


def test_profile_settings_are_the_ones_dbt_runs_with(monkeypatch):
    monkeypatch.delenv("USERREP_MEMORY_LIMIT", raising=False)
    settings = profile_settings(REPOSITORY)
    assert settings["memory_limit"] == "8GB"
    assert settings["TimeZone"] == "UTC"
    assert settings["preserve_insertion_order"] is False
    monkeypatch.setenv("USERREP_MEMORY_LIMIT", "3GB")
    assert profile_settings(REPOSITORY)["memory_limit"] == "3GB"


def test_a_stage_measures_its_own_memory_not_the_size_of_the_process_that_started_it():
    ballast = bytearray(400 * 1024 * 1024)  # this process is at least 400 MiB
    small = measured([sys.executable, "-c", "import json; print(json.dumps({'answer': 42}))"])
    large = measured([sys.executable, "-c", "x = bytearray(200 * 1024 * 1024); x[::4096] = b'1' * len(x[::4096])"])
    assert small["peak_rss_mib"] < 100 and small["answer"] == 42
    assert 200 < large["peak_rss_mib"] < 400 and large["cpu_s"] > 0 and large["wall_s"] > 0
    assert len(ballast) > 0
    with pytest.raises(RuntimeError, match="failed"):
        measured([sys.executable, "-c", "raise SystemExit(3)"])
    with pytest.raises(RuntimeError, match="could not be started"):
        measured(["/nonexistent/program"])


def test_a_new_day_counts_each_user_once_per_group_kind_and_horizon():
    from benchmarks.new_day import changed_users

    groups = [("behaviour_mean", 7, 0, 2), ("behaviour_mean", 7, 2, 2), ("recency", None, 4, 1)]
    before = np.zeros((3, 5), np.float32)
    after = before.copy()
    after[0, 1] = after[0, 3] = 1  # user 0: both 7-day groups
    after[1, 4] = 1  # user 1: recency only
    changed = changed_users(before, after, groups)
    assert changed["behaviour_mean 7d"].tolist() == [True, False, False]
    assert changed["recency"].tolist() == [False, True, False]
