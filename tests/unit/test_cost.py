"""`userrep cost` without dbt: totals, extrapolation and break-even over given step figures, the
scratch copy of the raw files, and the refusals (the measurement itself is in
tests/integration/test_cost.py)."""

import pytest
from click.testing import CliRunner

from userrep.cli import cli
from userrep.config import ENVIRONMENT
from userrep.cost import break_even, file_states, link_file, link_tree, report_lines, report_section, side_totals


def step(wall: float, cpu: float | None = None, rss: int = 100) -> dict:
    return {"step": "s", "wall_s": wall, "cpu_s": wall if cpu is None else cpu, "peak_rss_mib": rss}


def component(nightly=(), refresh=(), training=(), scoring=(), stored=0, **extra) -> dict:
    return {"phases": {"nightly_build": [step(s) for s in nightly], "refresh": [step(s) for s in refresh],
                       "training": [step(s) for s in training], "scoring": [step(s) for s in scoring]},
            "bytes": stored, **extra}


def results(with_teams: list[dict], without_teams: list[dict], shared: dict) -> dict:
    return {"teams_run": len(with_teams), "with": {"shared": shared, "teams": with_teams}, "without": {"teams": without_teams},
            "date": "2026-12-01", "commit": "abc1234", "machine": {"cpu": "cpu", "cores": 2},
            "load_average": {"start": [0.5, 0, 0], "end": [0.7, 0, 0]}, "users": 10, "events": 100, "feature_dim": 544,
            "latent_dim": 64, "batch": {"events": 3, "users_with_events": 1, "new_users": 1}}


def team(cost: float, stored: int, auc: float = 0.7) -> dict:
    return component(nightly=[cost], training=[1], scoring=[1], stored=stored, test_auc=auc)


SHARED = component(nightly=[30, 5], refresh=[4], training=[20], stored=1000)


def test_totals_sum_the_teams_run_and_extrapolate_beyond_them_from_the_mean_team():
    r = results([component(refresh=[1], training=[2], scoring=[1], stored=10, test_auc=0.7)] * 2,
                [team(10, 500), team(14, 700)], SHARED)

    one, two, five = (side_totals(r, "without", n) for n in (1, 2, 5))
    assert (one["cycle_wall_s"], one["bytes"], one["measured"]) == (12, 500, True)
    assert (two["cycle_wall_s"], two["bytes"], two["measured"]) == (28, 1200, True)
    assert (five["cycle_wall_s"], five["bytes"], five["measured"]) == (70, 3000, False)  # 5 x the mean team (14 s, 600 bytes)
    shared_five = side_totals(r, "with", 5)
    assert shared_five["nightly_build_wall_s"] == 35 and shared_five["training_wall_s"] == 20 + 5 * 2
    assert shared_five["bytes"] == 1000 + 5 * 10 and shared_five["peak_rss_mib"] == 100


def test_break_even_is_measured_when_a_team_count_run_reaches_it_else_solved_on_the_extrapolation():
    cheap_team = component(training=[1], scoring=[1], stored=10, test_auc=0.7)
    shared = component(nightly=[30], training=[20], stored=1000)  # 50 s, paid once
    measured = results([cheap_team] * 3, [team(30, 600)] * 3, shared)  # each team saves 30 s, 590 bytes
    assert break_even(measured, "cycle_wall_s") == {"teams": 2, "measured": True}  # 2 x 32 = 64 >= 50 + 2 x 2
    assert break_even(measured, "bytes") == {"teams": 2, "measured": True}

    extrapolated = results([cheap_team], [team(8, 600)], shared)  # saves 8 s a team: 50 / 8 -> 7 teams
    assert break_even(extrapolated, "cycle_wall_s") == {"teams": 7, "measured": False}
    assert side_totals(extrapolated, "with", 7)["cycle_wall_s"] <= side_totals(extrapolated, "without", 7)["cycle_wall_s"]
    assert side_totals(extrapolated, "with", 6)["cycle_wall_s"] > side_totals(extrapolated, "without", 6)["cycle_wall_s"]

    dearer = results([component(training=[30], scoring=[10], stored=10, test_auc=0.7)], [team(1, 600)], shared)
    assert break_even(dearer, "cycle_wall_s") == {"teams": None, "measured": False}


def test_the_report_says_which_totals_are_measured_and_which_extrapolated():
    r = results([component(refresh=[1], training=[2], scoring=[1], stored=10, test_auc=0.7)] * 5,
                [team(10, 500)] * 5, SHARED)
    text = "\n".join(report_lines(r))
    rows = [line for line in text.splitlines() if line.startswith(("| 1 |", "| 5 |", "| 20 |"))]
    assert len(rows) == 6
    assert all(row.endswith("| measured |") for row in rows[:4])
    assert all(row.endswith("| extrapolated from the 5 teams run |") for row in rows[4:])
    # shared 59 s and 4 s a team against 12 s a team: 59 + 4n <= 12n from n = 8
    assert "- one cycle, wall: 8 teams (extrapolated beyond the 5 teams run)" in text
    assert "load average 0.50 at the start, 0.70 at the end" in text


def test_a_link_tree_never_writes_through_to_the_history(tmp_path):
    history = tmp_path / "raw"
    (history / "events").mkdir(parents=True)
    (history / "events" / "2025-01.parquet").write_text("old events")
    (history / "users.parquet").write_text("old users")
    copy = tmp_path / "copy"

    link_tree(history, copy)
    before = file_states(copy)
    replacement = tmp_path / "new_users"
    replacement.write_text("users after a landing")
    link_file(replacement, copy / "users.parquet")

    assert (history / "users.parquet").read_text() == "old users"
    assert (copy / "users.parquet").read_text() == "users after a landing"
    assert (copy / "events" / "2025-01.parquet").stat().st_ino == (history / "events" / "2025-01.parquet").stat().st_ino
    changed = [path for path, state in file_states(copy).items() if before.get(path) != state]
    assert [str(p) for p in changed] == ["users.parquet"]


def test_cost_refuses_a_deployment_without_the_future_window(tmp_path, monkeypatch):
    from userrep.project import copy_project

    for name in ENVIRONMENT:
        monkeypatch.delenv(name, raising=False)
    project = copy_project(tmp_path / "project")
    home = tmp_path / "home"
    (home / "raw").mkdir(parents=True)
    result = CliRunner(env={"USERREP_PROJECT_DIR": str(project)}).invoke(cli, ["--home", str(home), "cost", "--teams", "1"])
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert result.output.startswith("Error: ") and result.output.count("\n") == 1, result.output
    assert "future_events.parquet not found" in result.output
    assert not list(home.glob(".cost-*")), "nothing is left behind"


def test_the_evaluation_report_points_to_the_command_until_a_measurement_exists(tmp_path):
    lines = report_section(tmp_path / "cost", tmp_path)
    assert lines[0] == "## What one shared representation saves"
    assert "userrep cost --teams 5" in "\n".join(lines)


@pytest.mark.parametrize("teams", [1, 2])
def test_every_team_count_in_the_table_is_shown_once(teams):
    r = results([component(training=[1], stored=10, test_auc=0.7)] * teams, [team(10, 500)] * teams, SHARED)
    counts = [line.split("|")[1].strip() for line in report_lines(r) if line.startswith("| ") and "| without |" in line]
    assert counts == sorted({"1", "5", "20", str(teams)}, key=int)
