"""`userrep cost --teams 1` on the tiny world, through click's CliRunner: both sides run for real
in a scratch directory, and the deployment's own files are left as they were."""

import json
import shutil

from click.testing import CliRunner

from userrep.cli import cli
from userrep.config import ENVIRONMENT
from userrep.cost import PHASES, report_section
from userrep.project import copy_project


def test_cost_measures_both_sides_and_the_shared_representation_stores_less_per_team(built_world, tmp_path):
    home = tmp_path / "home"
    shutil.copytree(built_world.raw, home / "raw")
    project = copy_project(tmp_path / "project")
    history = {p: (p.stat().st_size, p.stat().st_mtime_ns) for p in (home / "raw").rglob("*") if p.is_file()}
    env = {name: None for name in ENVIRONMENT} | {"USERREP_HOME": str(home), "USERREP_PROJECT_DIR": str(project)}

    result = CliRunner(env=env).invoke(cli, ["cost", "--teams", "1", "--steps", "5", "--latent-dim", "8"])

    assert result.exit_code == 0, result.output + repr(result.exception)
    out = home / "reports" / "cost"
    assert result.output.splitlines()[-4] == f"report: {out / 'index.md'}"
    results = json.loads((out / "cost.json").read_text())
    shared, (with_team,), (without_team,) = results["with"]["shared"], results["with"]["teams"], results["without"]["teams"]
    steps = [s for c in (shared, with_team, without_team) for p in PHASES for s in c["phases"][p]]
    assert len(steps) == 12
    assert all(s["wall_s"] > 0 and s["cpu_s"] > 0 and s["peak_rss_mib"] > 0 for s in steps), steps
    assert with_team["task"] == without_team["task"] and with_team["seed"] == without_team["seed"] == 1
    assert [s["inputs"] for s in (with_team["phases"]["training"][0], without_team["phases"]["training"][0])] == [8, results["feature_dim"]]
    assert 0 < with_team["bytes"] < without_team["bytes"] < shared["bytes"] * 2

    # the refresh reached the batch's users, and each team rescored exactly the users whose input changed
    shared_refresh, = shared["phases"]["refresh"]
    assert shared_refresh["re_encoded"]["v1"] == shared_refresh["users_with_new_features"] > 0
    assert with_team["phases"]["refresh"][0]["scored"] == shared_refresh["re_encoded"]["v1"]
    own_refresh, rescore = without_team["phases"]["refresh"]
    assert rescore["scored"] == own_refresh["users_with_new_features"] > 0
    assert with_team["phases"]["scoring"][0]["scored"] == without_team["phases"]["scoring"][0]["scored"] == results["users"]

    text = (out / "index.md").read_text()
    assert "| 1 | with |" in text and "| 20 | without |" in text and "extrapolated from the 1 teams run" in text
    assert (out / "cost.png").stat().st_size > 0
    section = report_section(out, tmp_path)
    assert section[0] == "## What one shared representation saves" and (tmp_path / "cost.png").exists()

    # the deployment's raw files are untouched, and nothing else is left in HOME
    assert {p: (p.stat().st_size, p.stat().st_mtime_ns) for p in (home / "raw").rglob("*") if p.is_file()} == history
    assert sorted(p.name for p in home.iterdir()) == ["raw", "reports"]
