"""`userrep` end to end through click's CliRunner, in one deployment root made from the session's
tiny world: the happy path of every command that needs dbt, in the order a user runs them, then
the signals, the refresh of downstream scores and the pin of a published version."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import onnx
import pytest
from click.testing import CliRunner
from onnx import numpy_helper

from conftest import clone_world
from userrep.cli import cli
from userrep.config import ENVIRONMENT
from userrep.registry import sha256_file

TINY_TRAIN = ["--steps", "40", "--latent-dim", "8", "--hidden", "32", "--batch-size", "64", "--sample", "0"]


class Home:
    """A deployment root in the default layout, with the project copy next to it."""

    def __init__(self, world):
        self.home, self.project = world.root.resolve(), world.project
        self.warehouse = self.home / "warehouse" / "userrep.duckdb"
        self.warehouse.parent.mkdir()
        world.warehouse.rename(self.warehouse)
        self.env = {name: None for name in ENVIRONMENT} | {"USERREP_HOME": str(self.home),
                                                           "USERREP_PROJECT_DIR": str(self.project)}

    def invoke(self, *args, env=None):
        result = CliRunner(env={**self.env, **(env or {})}).invoke(cli, [str(a) for a in args])
        assert "Traceback" not in result.output
        return result

    def ok(self, *args, env=None) -> str:
        result = self.invoke(*args, env=env)
        assert result.exit_code == 0, result.output + repr(result.exception)
        return result.output

    def sql(self, query: str) -> list[tuple[str, ...]]:
        """`userrep sql`'s printed rows, each a tuple of its cells."""
        return [tuple(cell.strip() for cell in line.split(" | ")) for line in self.ok("sql", query).splitlines()[2:-1]]


@pytest.fixture(scope="module")
def deployed(built_world, tmp_path_factory):
    """train, publish, land a batch and build, train a downstream task and build its scores, land
    a batch, refresh, evaluate: each command's output, in one deployment."""
    home = Home(clone_world(built_world, tmp_path_factory.mktemp("cli")))
    outputs = {}
    outputs["train"] = home.ok("train", *TINY_TRAIN)
    outputs["publish"] = home.ok("publish", "v1")
    cwd = os.getcwd()
    os.chdir(home.home)
    try:  # a relative raw directory: the refresh below, given it absolute, must know the same files
        relative = {"USERREP_RAW_DIR": "raw"}
        outputs["land_first"] = home.ok("land-batch", "--users", "15", "--new-users", "0", "--seed", "20", env=relative)
        outputs["build"] = home.ok("build", "--exclude", "similar_users", "--vars", "{horizons: [7, 30, 180]}", env=relative)
    finally:
        os.chdir(cwd)
    outputs["train_downstream"] = home.ok("train-downstream", "podcast_propensity", "--version", "v1")
    outputs["build_scores"] = home.ok("build", "--select", "podcast_propensity_scores")
    outputs["land_batch"] = home.ok("land-batch", "--users", "15", "--new-users", "3", "--seed", "21")
    outputs["refresh"] = home.ok("refresh", "--wait", "5")
    outputs["evaluate"] = home.ok("evaluate", "--version", "v1", "--folds", "2", "--repeats", "1")
    return home, outputs


def test_build_passes_selectors_and_vars_to_dbt(deployed):
    _, outputs = deployed
    assert "OK created sql ranged_incremental model main.user_features" in outputs["build"]
    assert "OK created sql incremental model main.user_representation_v1" in outputs["build"]
    assert "similar_users" not in outputs["build"], "--exclude reached dbt"
    assert "podcast_propensity_scores" in outputs["build_scores"] and "user_features" not in outputs["build_scores"], \
        "--select reached dbt"
    assert outputs["build"].rstrip().splitlines()[-1].startswith("built ")


def test_train_publish_and_build_write_a_pinned_version_in_home(deployed):
    home, outputs = deployed
    assert outputs["train"].startswith(f"registered v1 at {home.home / 'registry' / 'v1'}")
    assert outputs["publish"].startswith(f"published v1 into {home.home / 'published'}")
    state = json.loads((home.home / "published" / "published.json").read_text())
    assert state["representations"]["v1"]["manifest_sha256"] == sha256_file(home.home / "registry" / "v1" / "manifest.json")
    assert "manifest_sha256" in (home.home / "published" / "_published__models.yml").read_text()
    assert not (home.project / "published").exists(), "the project holds no deployment's state"
    assert home.sql("select model_version, latent_dim from representation_models") == [("v1", "8")]


def test_refresh_reaches_the_downstream_scores_of_new_users(deployed):
    home, outputs = deployed
    assert outputs["land_first"].startswith(f"landed {home.home / 'raw' / 'events' / 'part-00000.parquet'}: ")
    assert outputs["land_batch"].startswith("landed ") and "3 new users" in outputs["land_batch"]
    assert "1 new event file(s)" in outputs["refresh"], "one file, under one path, whatever the spelling of the raw dir"
    assert "rescored podcast_propensity: " in outputs["refresh"]
    assert home.sql("select (select count(*) from user_features), (select count(*) from podcast_propensity_scores)") == \
        [("403", "403")], "every user, the 3 new ones included, has a score after the refresh"


def test_sql_and_evaluate_read_the_deployment(deployed):
    home, outputs = deployed
    assert home.sql("select count(*) as n from user_representation_v1") == [("403",)]
    assert outputs["evaluate"].startswith(f"report: {home.home / 'reports' / 'v1' / 'index.md'}")
    assert (home.home / "reports" / "v1" / "metrics.json").exists()


def test_unpublish_is_refused_while_a_downstream_model_is_pinned(deployed):
    home, _ = deployed
    result = home.invoke("unpublish", "v1")
    assert result.exit_code == 1
    assert "v1 cannot be unpublished: podcast_propensity_scores is pinned to it" in result.output


def _children(pid: int) -> list[int]:
    children = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            children.append(int(stat.parent.name))
    return children


def test_a_terminated_refresh_stops_its_dbt_child_and_the_next_refresh_completes(deployed):
    home, _ = deployed
    env = {k: v for k, v in os.environ.items() if k not in ENVIRONMENT}
    env.update({k: v for k, v in home.env.items() if v is not None})
    refresh = subprocess.Popen([str(Path(sys.executable).with_name("userrep")), "refresh"], env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    deadline = time.monotonic() + 60
    # dbt runs as a fork of the refresh's dbt fork server, its child
    while not (dbt := [run for server in _children(refresh.pid) for run in _children(server)]) \
            and time.monotonic() < deadline and refresh.poll() is None:
        time.sleep(0.05)
    assert dbt, "dbt never started"
    time.sleep(1.0)
    refresh.send_signal(signal.SIGTERM)
    output, _ = refresh.communicate(timeout=60)
    assert refresh.returncode != 0
    assert "stopped by SIGTERM" in output, output
    with pytest.raises(ProcessLookupError):
        os.kill(dbt[0], 0)  # dbt was passed the signal and waited for, not left running
    assert "refreshed in" in home.ok("refresh")


def altered_encoder(path: Path) -> None:
    """Another valid encoder in the file: noise on its largest weight matrix, so it encodes differently."""
    model = onnx.load(path)
    weights = max(model.graph.initializer, key=lambda t: numpy_helper.to_array(t).size)
    values = numpy_helper.to_array(weights)
    noise = np.random.default_rng(0).normal(scale=values.std(), size=values.shape).astype(values.dtype)
    weights.CopyFrom(numpy_helper.from_array(values + noise, weights.name))
    onnx.save(model, path)


def test_a_version_re_signed_after_publishing_is_refused_and_writes_no_row(deployed):
    home, _ = deployed
    version = home.home / "registry" / "v1"
    genuine = {name: (version / name).read_bytes() for name in ("encoder.onnx", "manifest.json")}
    before = home.sql("select user_id, embedding, updated_at from user_representation_v1 order by user_id")
    pin = sha256_file(version / "manifest.json")
    try:
        altered_encoder(version / "encoder.onnx")
        manifest = json.loads(genuine["manifest.json"])
        manifest["files"]["encoder.onnx"] = sha256_file(version / "encoder.onnx")
        (version / "manifest.json").write_text(json.dumps(manifest))
        home.ok("land-batch", "--users", "10", "--new-users", "2", "--seed", "22")
        result = home.invoke("refresh")
        assert result.exit_code == 1
        resigned = sha256_file(version / "manifest.json")
        assert f"v1: {version / 'manifest.json'} has sha256 {resigned[:16]}, but v1 was published with {pin[:16]}" in result.output
        assert "restore the registry's v1 as it was published, or train and publish a new version" in result.output
        assert home.sql("select user_id, embedding, updated_at from user_representation_v1 order by user_id") == before
    finally:
        for name, content in genuine.items():
            (version / name).write_bytes(content)
