"""A stable space: retrains aligned to the previous version keep downstream models working."""

import shutil

import duckdb
import numpy as np
import pytest

from conftest import clone_world, deploy_v1
from python_udfs.catalog import registry_functions, score_function_name
from python_udfs.userrep_udfs import register
from training.align import encode_with
from training.config import TrainConfig
from training.downstream import train_downstream
from training.train import train_and_register
from userrep.evaluate import EvalSettings, load_eval_data
from userrep.publish import load_state, move_downstream, publish_downstream, publish_representation
from userrep.registry import Registry, RegistryError
from userrep.schema import input_dim, read_feature_schema, schema_hash
from userrep.stability import stability, stability_lines, stability_section

# a heavier pull toward the parent than the default: 300 steps leave a tiny model little time to agree
TINY = TrainConfig(latent_dim=8, hidden=[32], steps=300, batch_size=64, sample=None, seed=0, align_weight=10.0)


def features(world):
    with world.connect() as con:
        rows = con.execute("select user_id, features from user_features order by user_id").fetchall()
    return [u for u, _ in rows], np.array([f for _, f in rows], np.float32)


def planted_labels(world, users):
    with duckdb.connect() as con:
        traits = dict(con.execute(f"select user_id, podcast_listener from read_parquet('{world.raw}/user_traits.parquet')").fetchall())
    return {"podcast_listener": np.array([traits[u] for u in users])}


@pytest.fixture(scope="module")
def chain(built_world, tmp_path_factory):
    """v1 published with a downstream model on it, then v2 aligned to v1 (the default) and v3
    trained with --no-align, both published and built (the downstream scores still on v1)."""
    world = deploy_v1(clone_world(built_world, tmp_path_factory.mktemp("aligned")), TINY)
    with world.env():
        registry = Registry()
        task = train_downstream("podcast_propensity", "v1", world.warehouse, world.raw, world.registry)
        publish_downstream("podcast_propensity", task.version, "v1")
        v2 = train_and_register(world.warehouse, registry, TrainConfig(**{**TINY.__dict__, "seed": 1}), progress=False,
                                raw_dir=world.raw)
        v3 = train_and_register(world.warehouse, registry, TrainConfig(**{**TINY.__dict__, "seed": 2}), progress=False,
                                no_align=True, raw_dir=world.raw)
        publish_representation("v2")
        publish_representation("v3")
    world.dbt(["build", "--select", "tag:published"])
    return world, registry, (registry.manifest("v1"), v2, v3), task


def test_a_retrain_joins_the_latest_space_unless_told_not_to(chain):
    _, _, (v1, v2, v3), _ = chain
    assert (v1.space, v1.aligned_to) == ("v1", None)
    assert (v2.space, v2.aligned_to) == ("v1", "v1")
    assert (v3.space, v3.aligned_to) == ("v3", None)
    assert v2.alignment["mean_cosine_held_out_users"] > 0.9
    assert set(v2.alignment["retention"]) == {"active_next_7d", "podcast_propensity"}


def test_a_model_fitted_on_v1_keeps_its_auc_on_the_aligned_v2_and_not_on_an_unaligned_retrain(chain):
    world, registry, _, _ = chain
    users, x = features(world)
    vectors = {v: encode_with(registry, registry.manifest(v), x) for v in ("v1", "v2", "v3")}
    settings = EvalSettings(folds=5, seeds=(0, 1))
    section = stability(planted_labels(world, users), "v2", vectors["v2"], {"v1": vectors["v1"]}, vectors["v3"], settings)
    kept = section["tasks"]["podcast_listener"]["retention"]["v1"]
    assert kept["base_auc"] > 0.8  # a task the v1 vectors do carry
    assert kept["aligned"]["mean"] >= 0.99, kept["aligned"]
    assert kept["unaligned"]["mean"] < 0.9, kept["unaligned"]  # another space: the v1 model is lost there


def registry_with_v1(registry, root):
    """Another registry holding only v1: the next version there is v2 again."""
    other = Registry(root / "registry")
    shutil.copytree(registry.path("v1"), other.path("v1"))
    return other


def test_evaluate_compares_an_aligned_version_with_its_parent_and_an_unaligned_retrain(chain):
    world, registry, _, _ = chain
    data = load_eval_data(world.warehouse, world.raw, registry, "v2")
    section = stability_section(world.warehouse, registry, "v2", data, EvalSettings(folds=3, seeds=(0,)), echo=lambda _: None)
    kept = section["tasks"]["podcast_propensity"]["retention"]["v1"]
    assert section["compared_with"] == ["v1"] and kept["aligned"]["mean"] > kept["unaligned"]["mean"] + 0.1
    assert any(line.startswith("| podcast_propensity | 400 (") for line in stability_lines(section))
    assert "started space v3" in stability_section(world.warehouse, registry, "v3", data, EvalSettings(), echo=print)["note"]


def test_an_aligned_retrain_is_deterministic(chain, tmp_path):
    world, registry, _, _ = chain
    again = registry_with_v1(registry, tmp_path)
    train_and_register(world.warehouse, again, TrainConfig(**{**TINY.__dict__, "seed": 1}), progress=False)
    _, x = features(world)
    assert np.array_equal(encode_with(registry, registry.manifest("v2"), x), encode_with(again, again.manifest("v2"), x))


def test_a_different_latent_size_starts_a_new_space(chain, tmp_path):
    world, registry, _, _ = chain
    other = registry_with_v1(registry, tmp_path)
    manifest = train_and_register(world.warehouse, other, TrainConfig(**{**TINY.__dict__, "latent_dim": 6, "steps": 20}),
                                  progress=False)
    assert (manifest.space, manifest.aligned_to) == ("v2", None)
    assert "different sizes cannot share a space" in manifest.alignment["plan"]


def test_a_downstream_function_scores_its_space_and_refuses_another_naming_both(chain):
    world, _, _, task = chain
    function = score_function_name("podcast_propensity", task.version)
    with duckdb.connect(str(world.warehouse), read_only=True) as con:
        for spec in registry_functions(world.registry):
            register(con, spec)
        scored = con.execute(f"select count({function}(embedding, model_version)) from user_representation_v2").fetchone()[0]
        with pytest.raises(duckdb.Error, match=r"representation v3 \(space v3\).*trained in space v1 \(versions v1, v2\)"):
            con.execute(f"select {function}(embedding, model_version) from user_representation_v3").fetchall()
    assert scored == 400


def test_publish_moves_a_downstream_model_within_its_space_only(chain):
    world, _, _, task = chain
    with world.env():
        with pytest.raises(RegistryError, match="trained in representation space v1, but v3 is in space v3"):
            move_downstream("podcast_propensity", "v3")
        move_downstream("podcast_propensity", "v2")
    entry = load_state(world.published)["downstream"]["podcast_propensity"]
    assert (entry["model_version"], entry["representation_version"], entry["space"]) == (task.version, "v2", "v1")
    world.dbt(["build", "--select", "podcast_propensity_scores"])  # incremental: every user is rescored on v2
    with world.connect() as con:
        scored = con.execute("select count(*), count(distinct representation_version), any_value(representation_version) "
                             "from podcast_propensity_scores").fetchone()
        spaces = con.execute("select model_version, space, aligned_to from representation_models order by 1").fetchall()
    assert scored == (400, 1, "v2")
    assert spaces == [("v1", "v1", None), ("v2", "v1", "v1"), ("v3", "v3", None)]


def drop_last_feature_group(warehouse):
    """Give the warehouse another feature layout, one v1's encoder cannot read: the last group gone
    from feature_schema and user_features (what dbt builds after a change of the layout is tested
    with the features; here only training's answer to it matters, without a second full build)."""
    with duckdb.connect(str(warehouse)) as con:
        groups, _ = read_feature_schema(con)
        kept_hash = schema_hash(groups[:-1])
        con.execute("delete from feature_schema where feature_offset = ?", [groups[-1].feature_offset])
        con.execute("update feature_schema set schema_hash = ?", [kept_hash])
        con.execute("update user_features set features = features[1:?], feature_schema_hash = ?",
                    [input_dim(groups[:-1]), kept_hash])


def test_a_new_feature_layout_aligns_on_the_parents_stored_vectors(chain, tmp_path):
    world, registry, (v1, _, _), _ = chain
    other = registry_with_v1(registry, tmp_path)
    warehouse = shutil.copy(world.warehouse, tmp_path / "warehouse.duckdb")
    drop_last_feature_group(warehouse)
    v2 = train_and_register(warehouse, other, TrainConfig(**{**TINY.__dict__, "seed": 1}), progress=False)
    assert v2.input_dim < v1.input_dim and (v2.space, v2.aligned_to) == ("v1", "v1")
    assert v2.alignment["source"] == "v1's stored table user_representation_v1 (400 of 400 users)"
    assert v2.alignment["mean_cosine_training_users"] > 0.9
