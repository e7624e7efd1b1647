"""Copies of the dbt project, for worlds that must not touch the repository (tests, benchmarks)."""

from __future__ import annotations

import shutil
from pathlib import Path

from userrep.config import REPO_DIR

PROJECT_FILES = ["dbt_project.yml", "profiles.yml", "models", "macros"]


def copy_project(destination: Path, source: Path = REPO_DIR, with_published: bool = False) -> Path:
    """The dbt project at `source` copied to `destination` (without models/published unless asked)."""
    shutil.rmtree(destination, ignore_errors=True)
    destination.mkdir(parents=True)
    ignore = None if with_published else shutil.ignore_patterns("published")
    for name in PROJECT_FILES:
        path = source / name
        if path.is_dir():
            shutil.copytree(path, destination / name, ignore=ignore)
        else:
            shutil.copy(path, destination / name)
    return destination
