"""The README's "Bring your own data" walkthrough, run as written on the MovieLens copy in ../shared."""

import os
import re
import subprocess
import sys
from pathlib import Path

import duckdb

from userrep.config import ENVIRONMENT
from userrep.project import REPO_DIR, copy_project

SECTION = "## Bring your own data"


def walkthrough() -> str:
    """The section's one bash block that loads MovieLens."""
    section = (REPO_DIR / "README.md").read_text().split(SECTION, 1)[1].split("\n## ", 1)[0]
    (block,) = [b for b in re.findall(r"```bash\n(.*?)```", section, re.S) if "userrep load-movielens" in b]
    return block


def test_the_readme_walkthrough_runs_as_written(shared_movielens, tmp_path):
    # the reader's layout: the project directory, with the shared datasets at ../shared
    work = copy_project(tmp_path / "work")
    (tmp_path / "shared").symlink_to(shared_movielens.parents[1], target_is_directory=True)
    env = {k: v for k, v in os.environ.items() if k not in ENVIRONMENT}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env['PATH']}"
    script = walkthrough()
    run = subprocess.run(["bash", "-euo", "pipefail", "-x", "-c", script], cwd=work, env=env, capture_output=True, text=True)
    output = run.stdout + run.stderr
    assert run.returncode == 0, output[-6000:]

    home = work / "movielens"
    printed_vars = re.search(r"userrep build --vars '(\{.*?\})'", output)[1]
    assert f"VARS='{printed_vars}'" in script, "the walkthrough's vars are the ones the loader prints"
    users = int(re.search(r"\n(\d+)\s+\| FLOAT\[64\]", output)[1])
    assert users > 500, "MovieLens small has 610 users"
    assert (home / "reports" / "v1" / "index.md").exists()
    assert f"0 new event file(s), 0 of {users:,} users with new features, re-encoded v1: 0" in output, output[-3000:]
    assert not (work / "published").exists() and (home / "published" / "published.json").exists()
    with duckdb.connect(str(home / "warehouse" / "userrep.duckdb"), read_only=True) as con:
        horizons = con.execute("select list(distinct horizon_days order by horizon_days) from feature_schema where horizon_days is not null").fetchone()[0]
    assert horizons == [int(h) for h in re.search(r"horizons: \[(.*?)\]", printed_vars)[1].split(", ")], "--vars reached dbt"
