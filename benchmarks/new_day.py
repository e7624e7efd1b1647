"""What a new day changes: the features of the same raw files built for as_of = DAY and DAY + 1.

    python -m benchmarks.new_day benchmarks/worlds/100000/raw --day 2026-07-01

With no new event, any user whose vector differs would still be re-encoded by the nightly run.
The table counts, per kind of feature group (and horizon), the users whose group differs beyond
float rounding, to show which features tie a user's vector to the calendar. The two builds run `userrep build --select
+user_features` in homes under --work (the raw directory is linked, not copied).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import shutil
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np

from userrep.config import ENVIRONMENT


def build(raw: Path, home: Path, day: dt.date) -> None:
    shutil.rmtree(home, ignore_errors=True)
    home.mkdir(parents=True)
    (home / "raw").symlink_to(raw.resolve(), target_is_directory=True)
    env = {k: v for k, v in os.environ.items() if k not in ENVIRONMENT}  # a USERREP_WAREHOUSE would send both builds to one file
    subprocess.run([sys.executable, "-m", "userrep.cli", "--home", str(home), "build", "--vars", f"{{as_of: {day}}}",
                    "--select", "+user_features"], check=True, stdout=subprocess.DEVNULL, env=env)


def load(home: Path) -> tuple[list, np.ndarray, list[tuple]]:
    import duckdb

    from training.data import features_matrix

    with duckdb.connect(str(home / "warehouse" / "userrep.duckdb"), read_only=True) as con:
        table = con.sql("select user_id, features from user_features order by user_id").to_arrow_table()
        groups = con.execute("select kind, horizon_days, feature_offset, dim from feature_schema order by feature_offset").fetchall()
    return table.column("user_id").to_pylist(), features_matrix(table.column("features"), sum(g[3] for g in groups)), groups


def differs(before: np.ndarray, after: np.ndarray) -> np.ndarray:
    """Per row: does any value differ by more than float rounding? Two builds of the same events sum
    in a different order (DuckDB aggregates in parallel), so equal means can differ in the last bits."""
    return ~np.isclose(before, after, rtol=1e-5, atol=1e-6).all(1)


def changed_users(before: np.ndarray, after: np.ndarray, groups: list[tuple]) -> dict[str, np.ndarray]:
    """kind (and horizon) -> which users' values in those groups differ beyond rounding."""
    changed: dict[str, np.ndarray] = defaultdict(lambda: np.zeros(len(before), bool))
    for kind, horizon, offset, dim in groups:
        changed[f"{kind} {horizon}d" if horizon else kind] |= differs(before[:, offset : offset + dim], after[:, offset : offset + dim])
    return changed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("raw", type=Path)
    parser.add_argument("--day", type=dt.date.fromisoformat, required=True, help="as_of of the first build")
    parser.add_argument("--work", type=Path, default=Path("benchmarks/worlds/new-day"))
    parser.add_argument("--no-build", action="store_true", help="compare the builds already under --work")
    args = parser.parse_args()
    days = [args.day, args.day + dt.timedelta(days=1)]
    for day in [] if args.no_build else days:
        build(args.raw, args.work / str(day), day)
    (users, before, groups), (users_after, after, _) = load(args.work / str(days[0])), load(args.work / str(days[1]))
    assert users == users_after, "both builds read the same users"
    changed = changed_users(before, after, groups)
    calendar_free = np.zeros(len(users), bool)
    for name, rows in changed.items():
        if name not in ("recency", "tenure"):
            calendar_free |= rows
    print(f"as_of {days[0]} -> {days[1]}, {len(users):,} users, no new events\n")
    print("| feature groups | users whose values changed | share |\n|---|---|---|")
    rows = [("any, bit for bit", (before != after).any(1)), ("any", differs(before, after)),
            *sorted(changed.items(), key=lambda kv: -kv[1].sum()),
            ("any but recency and tenure", calendar_free)]
    for name, mask in rows:
        print(f"| {name} | {int(mask.sum()):,} | {mask.mean():.1%} |")


if __name__ == "__main__":
    main()
