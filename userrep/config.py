"""Where things live: the dbt project, and one deployment's root (USERREP_HOME) with its paths.

A deployment is raw data, warehouse, registry, published models and reports under one root, so
the demo, a MovieLens trial and production never share state. Every path is resolved once, to an
absolute path, and handed to dbt as such: a file known under two spellings would be summed twice.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

# What each variable sets; `--help` of every command lists the ones it reads.
ENVIRONMENT = {
    "USERREP_HOME": "the deployment's root [default: the dbt project directory]",
    "USERREP_PROJECT_DIR": "the dbt project [default: the nearest directory at or above the current one with a dbt_project.yml]",
    "USERREP_RAW_DIR": "raw parquet [default: HOME/raw]",
    "USERREP_WAREHOUSE": "DuckDB warehouse file [default: HOME/warehouse/userrep.duckdb]",
    "USERREP_REGISTRY": "model registry [default: HOME/registry]",
    "USERREP_MEMORY_LIMIT": "DuckDB memory_limit of dbt runs [default: 8GB]",
    "USERREP_SPARK_MASTER": "Spark master of --engine spark [default: local[2]]",
    "USERREP_SPARK_WAREHOUSE": "Spark's tables (parquet) and metastore [default: HOME/warehouse/spark]",
}


class ConfigError(RuntimeError):
    pass


def project_dir() -> Path:
    """The dbt project: USERREP_PROJECT_DIR, else the nearest directory at or above the current
    one holding a dbt_project.yml (as dbt finds it)."""
    if os.environ.get("USERREP_PROJECT_DIR"):
        project = Path(os.environ["USERREP_PROJECT_DIR"]).resolve()
        if not (project / "dbt_project.yml").exists():
            raise ConfigError(f"USERREP_PROJECT_DIR={project} holds no dbt_project.yml")
        return project
    here = Path.cwd().resolve()
    for directory in (here, *here.parents):
        if (directory / "dbt_project.yml").exists():
            return directory
    raise ConfigError(
        f"no dbt_project.yml in {here} or above it: run userrep inside the dbt project, or set USERREP_PROJECT_DIR"
    )


@dataclass(frozen=True)
class Deployment:
    """One deployment's absolute paths."""

    home: Path
    raw: Path
    warehouse: Path
    registry: Path
    # Spark's managed tables (parquet, readable by DuckDB's read_parquet) and their Derby metastore
    spark_warehouse: Path | None = None

    def __post_init__(self):
        if self.spark_warehouse is None:
            object.__setattr__(self, "spark_warehouse", self.home / "warehouse" / "spark")

    @property
    def published(self) -> Path:
        """`userrep publish` output, read by dbt as a model path."""
        return self.home / "published"

    @property
    def reports(self) -> Path:
        return self.home / "reports"

    @classmethod
    def under(cls, home: Path | str) -> "Deployment":
        """Every path in its default place under `home`, whatever the environment says."""
        home = Path(home).resolve()
        return cls(home, home / "raw", home / "warehouse" / "userrep.duckdb", home / "registry")

    @classmethod
    def from_env(cls) -> "Deployment":
        """USERREP_HOME (default: the dbt project), each path overridable by its own variable."""
        home = Path(os.environ.get("USERREP_HOME") or project_dir()).resolve()
        defaults = cls.under(home)

        def path(variable: str, default: Path) -> Path:
            return Path(os.environ[variable]).resolve() if os.environ.get(variable) else default

        return cls(home, path("USERREP_RAW_DIR", defaults.raw), path("USERREP_WAREHOUSE", defaults.warehouse),
                   path("USERREP_REGISTRY", defaults.registry), path("USERREP_SPARK_WAREHOUSE", defaults.spark_warehouse))

    def env(self) -> dict[str, str]:
        """The variables a child process (dbt) reads, every one absolute."""
        return {"USERREP_HOME": str(self.home), "USERREP_RAW_DIR": str(self.raw),
                "USERREP_WAREHOUSE": str(self.warehouse), "USERREP_REGISTRY": str(self.registry),
                "USERREP_SPARK_WAREHOUSE": str(self.spark_warehouse)}


def raw_dir() -> Path:
    return Deployment.from_env().raw


def warehouse_path() -> Path:
    return Deployment.from_env().warehouse


def registry_dir() -> Path:
    return Deployment.from_env().registry


def reports_dir() -> Path:
    return Deployment.from_env().reports


def spark_warehouse_dir() -> Path:
    return Deployment.from_env().spark_warehouse


def spark_master() -> str:
    return os.environ.get("USERREP_SPARK_MASTER") or "local[2]"
