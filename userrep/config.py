"""Where things live. Environment variables win; defaults are relative to the project root."""

from __future__ import annotations

import os
from pathlib import Path

REPO_DIR = Path(__file__).resolve().parent.parent


def project_dir() -> Path:
    """The dbt project (dbt_project.yml, models/, macros/); tests point this at a copy."""
    return _path("USERREP_PROJECT_DIR", str(REPO_DIR))


def _path(env: str, default: str) -> Path:
    return Path(os.environ.get(env, default)).resolve()


def raw_dir() -> Path:
    return _path("USERREP_RAW_DIR", "data/raw")


def warehouse_path() -> Path:
    return _path("USERREP_WAREHOUSE", "warehouse/userrep.duckdb")


def registry_dir() -> Path:
    return _path("USERREP_REGISTRY", "registry")


def home_dir() -> Path:
    """The deployment root (raw/, warehouse/, registry/, ...); the dbt project unless USERREP_HOME says otherwise."""
    return _path("USERREP_HOME", str(project_dir()))


def spark_warehouse_dir() -> Path:
    """Spark's managed tables (parquet) and their Derby metastore."""
    return _path("USERREP_SPARK_WAREHOUSE", str(home_dir() / "warehouse" / "spark"))


def spark_master() -> str:
    return os.environ.get("USERREP_SPARK_MASTER", "local[2]")
