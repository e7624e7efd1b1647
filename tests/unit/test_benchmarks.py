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


def bench_stages(**overrides) -> dict:
    stages = {
        "encoder_horizon_means": {"wall_s": 28.4, "cpu_s": 41.0, "peak_rss_mib": 1141},
        "features_full_build": {"wall_s": 36.6, "cpu_s": 56.7, "peak_rss_mib": 1486},
        "features_scipy_sparse": {"wall_s": 9.9, "cpu_s": 13.2, "peak_rss_mib": 1474, "sparse_product_s": 0.65},
        "encoding": {"wall_s": 20.0, "cpu_s": 30.0, "peak_rss_mib": 2116, "udf_vs_raw": 0.405,
                     "udf_users_per_s": 122_000, "raw_onnxruntime_users_per_s": 301_000},
        "full_refresh_features_and_encode": {"wall_s": 40.0, "cpu_s": 64.3, "peak_rss_mib": 1488},
        "refresh_1pct_events_on_1pct_users": {"wall_s": 19.7, "cpu_s": 23.7, "peak_rss_mib": 914, "seconds": 1.6},
        "watch_1k_users_represented": {"wall_s": 84.6, "cpu_s": 99.4, "peak_rss_mib": 947, "median_latency_s": 11.7,
                                       "latencies_s": [11.2, 11.7, 13.5]},
        "refresh_next_day_everyone": {"wall_s": 30.3, "cpu_s": 38.4, "peak_rss_mib": 2351, "users": 100_000,
                                      "re_encoded": {"v1": 100_000, "v2": 4_000}},
    }
    stages.update(overrides)
    return stages


def test_every_target_is_reported_as_a_ratio_with_its_verdict():
    from benchmarks.targets import evaluate_targets

    rows = {row["target"]: row for row in evaluate_targets(bench_stages(), 100_000)}
    assert len(rows) == 7
    build = rows["full feature build vs the scipy.sparse peer"]
    assert build["ratio"] == pytest.approx(36.6 / 9.9, abs=1e-3) and build["met"] is False and build["at_its_size"]
    assert rows["full feature build memory vs the peer's"]["met"] is False  # 1,486 MiB against 1,474
    assert rows["horizon means vs the sparse product alone"]["ratio"] == pytest.approx(43.692, abs=1e-3)
    assert rows["UDF vs raw onnxruntime, users/s"]["met"] is False and rows["UDF vs raw onnxruntime, users/s"]["limit"] == ">= 0.90x"
    one_percent = rows["refresh of 1% of the events vs a full refresh"]
    assert one_percent["ratio"] == 0.04 and one_percent["met"] is True and not one_percent["at_its_size"]
    # the version that re-encoded the most users counts
    new_day = rows["a new day with 10,000 active users: users re-encoded"]
    assert new_day["ratio"] == 1.0 and new_day["met"] is False and new_day["detail"] == "100000 of 100000 users"
    assert rows["watcher: a 1,000-user batch landed to represented, median s"]["ratio"] == 11.7


def test_a_target_whose_stage_did_not_run_is_not_measured_not_met(tmp_path, monkeypatch):
    import benchmarks.run
    from benchmarks.targets import evaluate_targets

    stages = bench_stages()
    del stages["watch_1k_users_represented"], stages["refresh_next_day_everyone"]
    rows = {row["target"]: row for row in evaluate_targets(stages, 1_000_000)}
    assert rows["watcher: a 1,000-user batch landed to represented, median s"]["met"] is None
    assert rows["a new day with 10,000 active users: users re-encoded"]["detail"] == "not measured"
    monkeypatch.setattr(benchmarks.run, "RESULTS", tmp_path)
    report = benchmarks.run.write_results({"date": "2026-12-02", "machine": {"host": "h", "cpu": "c", "cores": 2, "memory_gib": 23,
                                           "python": "3.11", "platform": "linux"}, "users": 1_000_000, "stages": stages})
    text = report.read_text()
    assert "| refresh of 1% of the events vs a full refresh | 4.0% | <= 5.0% | met | 1,000,000 users |" in text
    assert "| watcher: a 1,000-user batch landed to represented, median s |  | <= 3.00 s | not measured |" in text
    assert "| full feature build vs the scipy.sparse peer | 3.70x | <= 1.00x | missed |" in text
