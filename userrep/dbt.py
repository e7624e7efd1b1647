"""Run the dbt project in-process (the same commands an analytics engineer types)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from contextlib import contextmanager

from userrep import config


class DbtError(RuntimeError):
    pass


@contextmanager
def _project_env(raw_dir=None, warehouse=None):
    saved = {k: os.environ.get(k) for k in ("USERREP_RAW_DIR", "USERREP_WAREHOUSE")}
    os.environ["USERREP_RAW_DIR"] = str(raw_dir or config.raw_dir())
    os.environ["USERREP_WAREHOUSE"] = str(warehouse or config.warehouse_path())
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def run_dbt(args: list[str], dbt_vars: dict | None = None, raw_dir=None, warehouse=None, quiet: bool = True):
    """`dbt <args>` against this project; raises DbtError naming what failed."""
    from dbt.cli.main import dbtRunner

    argv = [*args, "--project-dir", str(config.PROJECT_DIR), "--profiles-dir", str(config.PROJECT_DIR)]
    if dbt_vars:
        argv += ["--vars", json.dumps(dbt_vars)]
    if quiet:
        argv = ["--quiet", "--no-use-colors", *argv]
    with _project_env(raw_dir, warehouse):
        Path(os.environ["USERREP_WAREHOUSE"]).parent.mkdir(parents=True, exist_ok=True)
        result = dbtRunner().invoke(argv)
    if not result.success:
        failures = []
        for r in getattr(result.result, "results", None) or []:
            if str(r.status) in ("error", "fail"):
                failures.append(f"{r.node.name}: {r.message}")
        detail = "\n".join(failures) or str(result.exception or "see logs/dbt.log")
        raise DbtError(f"dbt {' '.join(args)} failed:\n{detail}")
    return result
