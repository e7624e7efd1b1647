"""The speed targets, each as a ratio against its peer or limit in the same bench run.

A target names the world size it is set for; at other sizes the ratio is still reported, marked
as measured off its size, because the fixed costs (dbt's start, one row group) weigh differently.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable


@dataclass(frozen=True)
class Target:
    name: str
    limit: float
    at_most: bool  # the ratio must be <= limit (else >=)
    unit: str  # how the ratio reads: "x the scipy peer", "% of a full refresh", ...
    sizes: tuple[int, ...]  # the world sizes the target is set for
    ratio: Callable[[dict], float | None]  # from the run's stages; None when a stage is missing
    detail: Callable[[dict], str]


def _get(stages: dict, stage: str, key: str):
    return (stages.get(stage) or {}).get(key)


def _divide(numerator, denominator) -> float | None:
    return None if numerator is None or not denominator else numerator / denominator


def _new_day_share(stages: dict) -> float | None:
    run = stages.get("refresh_next_day_everyone") or {}
    encoded = run.get("re_encoded") or {}
    return _divide(max(encoded.values()), run.get("users")) if encoded else None


TARGETS = [
    Target("full feature build vs the scipy.sparse peer", 1.0, True, "x", (100_000, 1_000_000),
           lambda s: _divide(_get(s, "features_full_build", "wall_s"), _get(s, "features_scipy_sparse", "wall_s")),
           lambda s: f"{_get(s, 'features_full_build', 'wall_s')} s vs {_get(s, 'features_scipy_sparse', 'wall_s')} s"),
    Target("full feature build memory vs the peer's", 1.0, True, "x", (100_000, 1_000_000),
           lambda s: _divide(_get(s, "features_full_build", "peak_rss_mib"), _get(s, "features_scipy_sparse", "peak_rss_mib")),
           lambda s: f"{_get(s, 'features_full_build', 'peak_rss_mib')} MiB vs {_get(s, 'features_scipy_sparse', 'peak_rss_mib')} MiB"),
    Target("horizon means vs the sparse product alone", 4.0, True, "x", (100_000, 1_000_000),
           lambda s: _divide(_get(s, "encoder_horizon_means", "wall_s"), _get(s, "features_scipy_sparse", "sparse_product_s")),
           lambda s: f"{_get(s, 'encoder_horizon_means', 'wall_s')} s vs {_get(s, 'features_scipy_sparse', 'sparse_product_s')} s"),
    Target("UDF vs raw onnxruntime, users/s", 0.9, False, "x", (100_000, 1_000_000),
           lambda s: _get(s, "encoding", "udf_vs_raw"),
           lambda s: f"{_get(s, 'encoding', 'udf_users_per_s')} vs {_get(s, 'encoding', 'raw_onnxruntime_users_per_s')} users/s"),
    Target("refresh of 1% of the events vs a full refresh", 0.05, True, "share", (1_000_000,),
           lambda s: _divide(_get(s, "refresh_1pct_events_on_1pct_users", "seconds"), _get(s, "full_refresh_features_and_encode", "wall_s")),
           lambda s: f"`userrep refresh` {_get(s, 'refresh_1pct_events_on_1pct_users', 'seconds')} s vs "
                     f"{_get(s, 'full_refresh_features_and_encode', 'wall_s')} s"),
    Target("watcher: a 1,000-user batch landed to represented, median s", 3.0, True, "s", (1_000_000,),
           lambda s: _get(s, "watch_1k_users_represented", "median_latency_s"),
           lambda s: f"batches: {_get(s, 'watch_1k_users_represented', 'latencies_s')} s"),
    Target("a new day with 10,000 active users: users re-encoded", 0.05, True, "share", (1_000_000,),
           _new_day_share,
           lambda s: f"{max(_get(s, 'refresh_next_day_everyone', 're_encoded').values())} of "
                     f"{_get(s, 'refresh_next_day_everyone', 'users')} users"),
]


def evaluate_targets(stages: dict, users: int) -> list[dict]:
    """One row per target: its ratio in this run, the limit, met or missed (None: not measured)."""
    rows = []
    for target in TARGETS:
        ratio = target.ratio(stages)
        met = None if ratio is None else (ratio <= target.limit if target.at_most else ratio >= target.limit)
        rows.append({"target": target.name, "ratio": None if ratio is None else round(ratio, 3), "unit": target.unit,
                     "limit": f"{'<=' if target.at_most else '>='} {format_ratio(target.limit, target.unit)}",
                     "met": met, "at_its_size": users in target.sizes,
                     "set_for": " and ".join(f"{size:,}" for size in target.sizes) + " users",
                     "detail": target.detail(stages) if ratio is not None else "not measured"})
    return rows


def format_ratio(ratio: float, unit: str) -> str:
    if unit == "share":
        return f"{ratio:.1%}"
    if unit == "s":
        return f"{ratio:.2f} s"
    return f"{ratio:.2f}x"


def targets_table(rows: list[dict]) -> list[str]:
    lines = ["| target | this run | limit | verdict | set for | measured |", "|---|---|---|---|---|---|"]
    for row in rows:
        verdict = "not measured" if row["met"] is None else ("met" if row["met"] else "missed")
        if row["met"] is not None and not row["at_its_size"]:
            verdict += " (off its size)"
        value = "" if row["ratio"] is None else format_ratio(row["ratio"], row["unit"])
        lines.append(f"| {row['target']} | {value} | {row['limit']} | {verdict} | {row['set_for']} | {row['detail']} |")
    return lines
