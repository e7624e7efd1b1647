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
