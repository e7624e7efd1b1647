"""A tiny generated world, built with dbt once per test session."""

from dataclasses import dataclass
from pathlib import Path

import duckdb
import pytest

from userrep.dbt import run_dbt
from userrep.synthetic import generate_world


@dataclass
class World:
    raw: Path
    warehouse: Path
    target: Path

    def connect(self):
        return duckdb.connect(str(self.warehouse), read_only=True)

    def dbt(self, args, dbt_vars=None):
        return run_dbt(args, dbt_vars, raw_dir=self.raw, warehouse=self.warehouse, target_path=self.target)


def make_world(root: Path, config) -> World:
    world = World(raw=root / "raw", warehouse=root / "warehouse.duckdb", target=root / "target")
    generate_world(config, world.raw)
    return world


@pytest.fixture(scope="session")
def built_world(tmp_path_factory, tiny_config) -> World:
    world = make_world(tmp_path_factory.mktemp("world"), tiny_config)
    world.dbt(["build"])
    return world
