"""A tiny generated world, built with dbt once per test session, each world in its own copy of
the dbt project and its own deployment root (publishing writes ROOT/published/, never into the
repository)."""

from __future__ import annotations

import importlib.util
import os
import shutil
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pytest

from userrep.project import copy_project
from userrep.dbt import FORK_SERVER, run_dbt
from userrep.synthetic import generate_world

# the Spark tests need the spark extra, which `make test-spark` installs and `make test` does not
collect_ignore = [] if importlib.util.find_spec("pyspark") else ["test_spark.py"]


@pytest.fixture(scope="session", autouse=True)
def warm_dbt():
    """Every dbt run of the session is a fork of one server: warm it up once."""
    FORK_SERVER.keep_warm()


@dataclass
class World:
    root: Path

    raw = property(lambda self: self.root / "raw")
    warehouse = property(lambda self: self.root / "warehouse.duckdb")
    target = property(lambda self: self.root / "target")
    project = property(lambda self: self.root / "project")
    registry = property(lambda self: self.root / "registry")

    def connect(self, read_only=True):
        return duckdb.connect(str(self.warehouse), read_only=read_only)

    published = property(lambda self: self.root / "published")

    def paths(self) -> dict:
        """The deployment's paths as run_dbt (and refresh) take them."""
        return dict(home=self.root, raw_dir=self.raw, warehouse=self.warehouse, registry=self.registry, project=self.project)

    def dbt(self, args, dbt_vars=None):
        return run_dbt(args, dbt_vars, target_path=self.target, **self.paths())

    def spark_dbt(self, spark, args, dbt_vars=None):
        """`dbt <args>` on target spark, in this process, on `spark`."""
        from userrep.spark import run_dbt as run_on_spark

        return run_on_spark(args, dbt_vars, target_path=self.root / "target_spark", spark=spark, **self.paths())

    @contextmanager
    def env(self):
        """USERREP_* pointing at this world, for in-process commands (publish, train, refresh)."""
        names = {"USERREP_HOME": self.root, "USERREP_RAW_DIR": self.raw, "USERREP_WAREHOUSE": self.warehouse,
                 "USERREP_REGISTRY": self.registry, "USERREP_PROJECT_DIR": self.project}
        saved = {k: os.environ.get(k) for k in names}
        os.environ.update({k: str(v) for k, v in names.items()})
        try:
            yield self
        finally:
            for k, v in saved.items():
                os.environ.pop(k, None) if v is None else os.environ.__setitem__(k, v)


def new_world(root: Path, config=None) -> World:
    world = World(root)
    copy_project(world.project)
    if config is not None:
        generate_world(config, world.raw)
    return world


def clone_world(source: World, root: Path, deployment: bool = False) -> World:
    """A private copy of a built world (raw data and warehouse), with a fresh project copy; with
    `deployment`, its published models and registry too, but not its warehouse."""
    world = World(root)
    if deployment:
        copy_project(world.project, source=source.project)
        shutil.copytree(source.registry, world.registry)
        shutil.copytree(source.published, world.published)
    else:
        copy_project(world.project)
        shutil.copy(source.warehouse, world.warehouse)
    shutil.copytree(source.raw, world.raw)
    return world


@pytest.fixture(scope="session")
def built_world(tmp_path_factory, tiny_config) -> World:
    world = new_world(tmp_path_factory.mktemp("world"), tiny_config)
    world.dbt(["build"])
    return world


# two executors with one core and 1 GiB each, in JVMs of their own: every Spark test runs with
# executors that share nothing with the driver but what Spark ships them
SPARK_CLUSTER = "local-cluster[2,1,1024]"


@pytest.fixture(scope="session")
def spark(tmp_path_factory):
    """The test run's one SparkSession (pyspark allows one per process)."""
    import pyspark

    from userrep import spark as spark_engine

    session = spark_engine.spark_session(SPARK_CLUSTER, tmp_path_factory.mktemp("spark") / "warehouse", settings={
        "spark.ui.enabled": "false",
        # a refusal fails every attempt of a task: one attempt keeps the refusal tests short
        "spark.task.maxFailures": "1",
        # tiny worlds: Spark's 200 shuffle partitions would be 200 tasks per stage of a few rows each
        "spark.sql.shuffle.partitions": "4",
    })
    yield session
    application = session.sparkContext.applicationId
    session.stop()
    # local-cluster executors run in SPARK_HOME/work/<application>, inside the installed pyspark
    shutil.rmtree(Path(pyspark.__file__).parent / "work" / application, ignore_errors=True)


def deploy_v1(world: World, train_config) -> World:
    """Train and register v1 on the world's features, publish it and build its table."""
    from training.train import train_and_register
    from userrep.publish import publish_representation
    from userrep.registry import Registry

    with world.env():
        train_and_register(world.warehouse, Registry(), train_config, progress=False)
        publish_representation("v1")
    world.dbt(["build", "--select", "tag:published"])
    return world
