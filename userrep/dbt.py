"""Run the dbt project (the same commands an analytics engineer types).

dbt runs in a child process: dbt-duckdb keeps its database handle open for the life of the
process, which would lock the warehouse against our own later connections.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from userrep import config


class DbtError(RuntimeError):
    pass


def dbt_executable() -> str:
    return str(Path(sys.executable).with_name("dbt"))


def dbt_command(args: list[str], dbt_vars: dict | None = None, raw_dir=None, warehouse=None, target_path=None,
                registry=None, project=None) -> tuple[list[str], dict]:
    """The argv and environment of `dbt <args>` against this project."""
    project = Path(project or config.project_dir())
    argv = [dbt_executable(), "--no-use-colors", *args, "--project-dir", str(project), "--profiles-dir", str(project)]
    if target_path:
        argv += ["--target-path", str(target_path)]
    if dbt_vars:
        argv += ["--vars", json.dumps(dbt_vars)]
    warehouse = Path(warehouse or config.warehouse_path()).resolve()
    warehouse.parent.mkdir(parents=True, exist_ok=True)
    env = {
        **os.environ,
        "USERREP_RAW_DIR": str(Path(raw_dir or config.raw_dir()).resolve()),
        "USERREP_WAREHOUSE": str(warehouse),
        "USERREP_REGISTRY": str(Path(registry or config.registry_dir()).resolve()),
        "USERREP_PROJECT_DIR": str(project),
    }
    return argv, env


def run_dbt(args: list[str], dbt_vars: dict | None = None, raw_dir=None, warehouse=None, quiet: bool = True,
            target_path=None, registry=None, project=None) -> str:
    """`dbt <args>` against this project; returns its output, raises DbtError with the failures."""
    argv, env = dbt_command(args, dbt_vars, raw_dir=raw_dir, warehouse=warehouse, target_path=target_path,
                            registry=registry, project=project)
    result = subprocess.run(argv, env=env, cwd=env["USERREP_PROJECT_DIR"], capture_output=quiet, text=True)
    if result.returncode != 0:
        output = (result.stdout or "") + (result.stderr or "")
        lines = output.splitlines()
        # dbt repeats every failure with its message after "Completed with"; else show the tail
        start = next((i for i, line in enumerate(lines) if "Completed with" in line), max(len(lines) - 40, 0))
        detail = "\n".join(line for line in lines[start:] if line.strip()) if quiet else "see the dbt output above"
        raise DbtError(f"dbt {' '.join(args)} failed (exit {result.returncode}):\n{detail}")
    return result.stdout or ""
