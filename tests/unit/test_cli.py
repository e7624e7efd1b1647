"""The `userrep` command without dbt: help, paths, and each command's refusal (happy paths that
need a built warehouse are in tests/integration/test_cli_deployment.py)."""

import dataclasses
import os
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from userrep.cli import cli
from userrep.config import ENVIRONMENT, Deployment, project_dir
from userrep.project import copy_project
from userrep.publish import write_project_files
from userrep.tasks import TASKS


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch):
    """No USERREP_* from the caller's shell; whatever a command sets (--home) is undone after the test."""
    for name in ENVIRONMENT:
        monkeypatch.delenv(name, raising=False)
    saved = dict(os.environ)
    yield
    os.environ.clear()
    os.environ.update(saved)


@pytest.fixture
def project(tmp_path, monkeypatch):
    path = copy_project(tmp_path / "project")
    monkeypatch.chdir(path)
    return path


def invoke(*args):
    return CliRunner().invoke(cli, [str(a) for a in args])


def refused(result, message: str):
    """Exit 1 with a one-line `Error: ...` naming the problem, and no traceback."""
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    assert result.output.startswith("Error: ") and result.output.count("\n") == 1, result.output
    assert message in result.output, result.output


def test_every_command_lists_the_variables_it_reads_in_its_help():
    expected = {"build": set(ENVIRONMENT), "refresh": set(ENVIRONMENT), "watch": set(ENVIRONMENT), "fit-cf-encoder": set(),
                "publish": {"USERREP_HOME", "USERREP_PROJECT_DIR", "USERREP_WAREHOUSE", "USERREP_REGISTRY"},
                "demo": {"USERREP_PROJECT_DIR", "USERREP_MEMORY_LIMIT"}}
    for name in cli.commands:
        output = invoke(name, "--help").output
        listed = {variable for variable in ENVIRONMENT if f"  {variable}  " in output}
        assert "Environment" in output, name
        if name in expected:
            assert listed == expected[name], name


def test_train_downstream_help_lists_the_tasks():
    output = invoke("train-downstream", "--help").output
    assert TASKS and all(task in output for task in TASKS)


def test_the_project_is_found_at_or_above_the_current_directory(project, tmp_path, monkeypatch):
    (project / "models" / "deeper").mkdir(exist_ok=True)
    monkeypatch.chdir(project / "models" / "deeper")
    assert project_dir() == project
    assert Deployment.from_env().home == project, "HOME defaults to the project"
    monkeypatch.chdir(tmp_path)
    refused(invoke("build"), f"no dbt_project.yml in {tmp_path.resolve()} or above it")


def test_one_root_per_deployment_each_path_resolved_once(project, tmp_path, monkeypatch):
    monkeypatch.setenv("USERREP_HOME", "prod")
    monkeypatch.setenv("USERREP_RAW_DIR", "lake/../lake/raw")
    deployment = Deployment.from_env()
    assert deployment.home == project / "prod"
    assert deployment.raw == project / "lake" / "raw", "relative and non-canonical paths are resolved"
    assert deployment.warehouse == project / "prod" / "warehouse" / "userrep.duckdb"
    assert (deployment.registry, deployment.published, deployment.reports) == (
        project / "prod" / "registry", project / "prod" / "published", project / "prod" / "reports")
    assert all(Path(value).is_absolute() for value in deployment.env().values())
    invoke("--home", "other", "sql", "select 1")
    assert os.environ["USERREP_HOME"] == str(project / "other"), "--home sets USERREP_HOME for dbt and every path"


def test_sql_prints_a_read_only_query_and_refuses_anything_else(tmp_path):
    warehouse = tmp_path / "w.duckdb"
    with duckdb.connect(str(warehouse)) as con:
        con.execute("create table t as select range as id, [range, 2 * range] as pair from range(3)")
    result = invoke("sql", "--warehouse", warehouse, "select id, pair from t order by id")
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[2:] == ["0  | [0, 0]", "1  | [1, 2]", "2  | [2, 4]", "(3 rows)"]
    refused(invoke("sql", "--warehouse", warehouse, "drop table t"), "got DROP")
    refused(invoke("sql", "--warehouse", warehouse, "select 1; delete from t"), "got SELECT, DELETE")
    with duckdb.connect(str(warehouse), read_only=True) as con:
        assert con.execute("select count(*) from t").fetchone()[0] == 3
    refused(invoke("sql", "--warehouse", tmp_path / "none.duckdb", "select 1"), "no warehouse at")


def test_a_busy_warehouse_is_one_line_naming_the_process_and_refresh_can_wait_for_it(project, tmp_path):
    warehouse = tmp_path / "home" / "warehouse" / "userrep.duckdb"
    warehouse.parent.mkdir(parents=True)
    holder = subprocess.Popen(
        [sys.executable, "-c", f"import duckdb, time; c = duckdb.connect({str(warehouse)!r}); print('ready', flush=True); time.sleep(60)"],
        stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "ready"
        busy = f"the warehouse {warehouse} is in use by another process (PID {holder.pid})"
        refused(invoke("--home", tmp_path / "home", "refresh"), busy)
        refused(invoke("--home", tmp_path / "home", "build"), busy)
        refused(invoke("--home", tmp_path / "home", "sql", "select 1"), busy)
        refused(invoke("--home", tmp_path / "home", "refresh", "--wait", "1"),
                f"is still in use by another process (PID {holder.pid}) after waiting 1 s")
    finally:
        holder.kill()
        holder.wait()


def test_build_refuses_vars_that_are_not_a_mapping(project):
    result = invoke("build", "--vars", "[7, 30]")
    assert result.exit_code == 2 and "expected a mapping" in result.output


def test_demo_refuses_a_root_it_did_not_make(project, tmp_path):
    root = tmp_path / "mine"
    root.mkdir()
    (root / "notes.txt").write_text("keep me")
    refused(invoke("demo", "--home", root, "--users", "50"), "was not made by userrep demo")
    assert [p.name for p in root.iterdir()] == ["notes.txt"]


def test_generate_writes_a_world_and_refuses_to_overwrite_one(project, tmp_path):
    out = tmp_path / "raw"
    result = invoke("generate", "--users", "60", "--events-per-user", "10", "--out", out)
    assert result.exit_code == 0, result.output
    assert pq.read_metadata(out / "users.parquet").num_rows == 60
    refused(invoke("generate", "--users", "60", "--out", out), "pass --replace")
    assert invoke("generate", "--users", "70", "--out", out, "--replace").exit_code == 0
    assert pq.read_metadata(out / "users.parquet").num_rows == 70


@pytest.fixture
def tiny_raw(tmp_path_factory, tiny_config):
    from userrep.synthetic import generate_world

    raw = tmp_path_factory.mktemp("raw") / "raw"
    generate_world(dataclasses.replace(tiny_config, users=150), raw)
    return raw


def test_land_batch_prints_a_line_and_refuses_a_raw_directory_without_events(project, tiny_raw, tmp_path, monkeypatch):
    monkeypatch.setenv("USERREP_RAW_DIR", str(tiny_raw))
    result = invoke("land-batch", "--users", "10", "--new-users", "2")
    assert result.exit_code == 0, result.output
    assert result.output.startswith(f"landed {tiny_raw / 'events'}/part-00000.parquet: ") and "2 new users" in result.output
    assert "{" not in result.output
    monkeypatch.setenv("USERREP_RAW_DIR", str(tmp_path / "empty"))
    refused(invoke("land-batch"), "no event files in")


def test_fit_cf_encoder_writes_embeddings_and_refuses_when_no_item_qualifies(tiny_raw, tmp_path):
    out = tmp_path / "item_embeddings.parquet"
    result = invoke("fit-cf-encoder", tiny_raw / "events", "--out", out, "--dim", "4")
    assert result.exit_code == 0, result.output
    assert pq.read_metadata(out).num_rows > 0
    refused(invoke("fit-cf-encoder", tiny_raw / "events", "--out", tmp_path / "x.parquet", "--min-users", "100000"),
            "no item seen by at least 100000 users")


def test_load_movielens_refuses_a_directory_without_ratings(tmp_path):
    refused(invoke("load-movielens", tmp_path, "--out", tmp_path / "raw"), "ratings.csv not found")


def test_load_movielens_writes_the_raw_contract(shared_movielens, tmp_path):
    result = invoke("load-movielens", shared_movielens, "--out", tmp_path / "raw")
    assert result.exit_code == 0, result.output
    assert {p.name for p in (tmp_path / "raw").iterdir()} >= {"events", "items.parquet", "users.parquet", "item_embeddings.parquet",
                                                               "future_events.parquet"}


def test_train_evaluate_and_publish_refuse_without_a_warehouse_or_version(project):
    refused(invoke("train", "--steps", "1"), "warehouse")
    refused(invoke("evaluate", "--version", "v1"), "v1")
    refused(invoke("publish", "v1"), "version v1 is not in the registry")
    result = invoke("train-downstream", "churn", "--version", "v1")
    assert result.exit_code == 2 and "'churn' is not one of" in result.output


def test_unpublish_refuses_an_unpublished_version_and_one_a_downstream_model_is_pinned_to(project):
    published = Deployment.from_env().published
    write_project_files({"representations": {"v1": {"latent_dim": 8, "manifest_sha256": "a" * 64},
                                             "v2": {"latent_dim": 8, "manifest_sha256": "b" * 64}},
                         "similar_users": "v1",
                         "downstream": {"podcast_propensity": {"model_version": "v1", "representation_version": "v2",
                                                               "manifest_sha256": "c" * 64}}}, published)
    refused(invoke("unpublish", "v3"), "v3 is not published")
    refused(invoke("unpublish", "v2"), "podcast_propensity_scores is pinned to it")
    result = invoke("unpublish", "v1")
    assert result.exit_code == 0, result.output
    assert "similar_users now follows v2" in result.output
    assert not (published / "user_representation_v1.sql").exists() and (published / "user_representation_v2.sql").exists()


def test_bench_refuses_an_empty_world():
    result = invoke("bench", "--users", "0")
    assert result.exit_code == 2 and "--users" in result.output


def test_a_demo_rerun_clears_only_what_a_demo_writes(tmp_path):
    from userrep.demo import prepare_root

    deployment = prepare_root(tmp_path / "demo")
    deployment.raw.mkdir()
    (deployment.raw / "users.parquet").write_text("from the last run")
    (deployment.home / "notes.txt").write_text("mine")
    prepare_root(tmp_path / "demo")
    assert not deployment.raw.exists() and (deployment.home / "notes.txt").read_text() == "mine"


def test_busy_error_reads_duckdbs_lock_message_in_dbt_output():
    from userrep.warehouse import busy_error

    output = ('_duckdb.IOException: IO Error: Could not set lock on file "/data/userrep.duckdb": Conflicting lock is held '
              "in /usr/bin/python3.11 (PID 21040). See also https://duckdb.org/docs/current/connect/concurrency")
    assert str(busy_error(output)).startswith("the warehouse /data/userrep.duckdb is in use by another process (PID 21040); ")
    assert busy_error("Runtime Error: something else") is None


def test_waiting_for_the_warehouse_ends_when_the_other_process_lets_go(tmp_path):
    from userrep.warehouse import wait_until_free

    warehouse = tmp_path / "w.duckdb"
    holder = subprocess.Popen(
        [sys.executable, "-c", f"import duckdb, time; c = duckdb.connect({str(warehouse)!r}); print('ready', flush=True); time.sleep(1.5)"],
        stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "ready"
    started = time.monotonic()
    wait_until_free(warehouse, 30, poll=0.1)
    assert time.monotonic() - started > 1.2, "returned only once the holder let go, 1.5 s after it took the lock"
    holder.wait()
