"""kill -9 in the middle of a refresh: the tables stay readable, and the next run lands where a
clean build lands (the killed run's plan is not completed, so the next one redoes its work)."""

import os
import signal
import subprocess

import pytest

from conftest import clone_world, deploy_v1
from test_refresh import TINY, assert_equals_full_rebuild, run_refresh, snapshot
from userrep.dbt import dbt_command
from userrep.synthetic import land_batch


@pytest.fixture(scope="module")
def live(built_world, tmp_path_factory):
    return deploy_v1(clone_world(built_world, tmp_path_factory.mktemp("faults")), TINY)


def killed_while_running(world, model: str) -> None:
    """`dbt run --select tag:nrt`, killed with SIGKILL as soon as dbt logs that `model` started."""
    argv, env, cwd = dbt_command(["run", "--select", "tag:nrt"], home=world.root, raw_dir=world.raw, warehouse=world.warehouse,
                                 registry=world.registry, project=world.project, target_path=world.target)
    process = subprocess.Popen(argv, env=env, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    started = []
    for line in process.stdout:
        if "START" in line:
            started.append(line.strip())
            if f"model main.{model} " in line:
                os.kill(process.pid, signal.SIGKILL)
                break
    process.wait()
    assert process.returncode == -signal.SIGKILL, f"dbt finished before {model} started: " + "\n".join(started)


def test_refreshes_killed_during_the_daily_sums_user_features_and_a_version_are_finished_by_the_next_runs(live, tmp_path):
    """One batch and one kill per model, each followed by a refresh; the tables then equal a clean
    build (a wrong row left by one recovery would mostly stay: the later refreshes recompute only
    their own batches' users)."""
    for model, seed in [("int_user_encoder_days_summed", 21), ("user_features", 22), ("user_representation_v1", 23)]:
        land_batch(live.raw, users=30, new_users=3, seed=seed)
        killed_while_running(live, model)
        snapshot(live)  # every table is still readable
        run_refresh(live)
    assert_equals_full_rebuild(live, tmp_path / "rebuild")
