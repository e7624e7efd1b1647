from pathlib import Path

from benchmarks.run import world_name
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
