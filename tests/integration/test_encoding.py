"""In-warehouse encoding, through SQL: the UDF, versioned tables, pinned downstream models."""

import duckdb
import numpy as np
import onnxruntime as ort
import pytest

from conftest import clone_world, deploy_v1
from python_udfs.catalog import registry_functions
from python_udfs.userrep_udfs import register
from training.downstream import train_downstream
from training.train import TrainConfig, train_and_register
from userrep.dbt import DbtError
from userrep.publish import publish_downstream, publish_representation
from userrep.registry import Registry, RegistryError

TINY = TrainConfig(latent_dim=8, hidden=[32], steps=20, batch_size=64, sample=None, seed=1)


@pytest.fixture(scope="module")
def deployed(built_world, tmp_path_factory):
    world = deploy_v1(clone_world(built_world, tmp_path_factory.mktemp("deployed")), TINY)
    with world.env():
        task = train_downstream("podcast_propensity", "v1", world.warehouse, world.raw, world.registry)
        publish_downstream("podcast_propensity", task.version, "v1")
        world.dbt(["build", "--select", "podcast_propensity_scores"])
        yield world


def table(world, sql):
    with world.connect() as con:
        return con.execute(sql).fetchall()


def test_udf_output_equals_onnxruntime_on_the_same_rows(deployed):
    rows = table(deployed, "select f.features, r.embedding from user_features f join user_representation_v1 r using (user_id) order by user_id")
    features = np.array([r[0] for r in rows], np.float32)
    in_sql = np.array([r[1] for r in rows], np.float32)
    session = ort.InferenceSession(str(deployed.registry / "v1" / "encoder.onnx"), providers=["CPUExecutionProvider"])
    direct = session.run(None, {"features": features})[0]
    assert in_sql.shape == (400, TINY.latent_dim)
    np.testing.assert_allclose(in_sql, direct, atol=1e-6)
    assert np.isfinite(in_sql).all()


def test_every_user_is_encoded_once_with_its_version_and_schema(deployed):
    (users, encoded, versions, schema_ok), = table(deployed, """
        select (select count(*) from user_features), count(*), list(distinct model_version),
               bool_and(r.feature_schema_hash = f.feature_schema_hash)
        from user_representation_v1 r join user_features f using (user_id)""")
    assert users == encoded == 400 and versions == ["v1"] and schema_ok


def test_a_client_without_the_plugin_reads_every_representation_table(deployed):
    with duckdb.connect(str(deployed.warehouse), read_only=True) as plain:
        for name in ["user_representation_v1", "user_representation_latest", "similar_users", "podcast_propensity_scores",
                     "representation_models"]:
            assert plain.execute(f"select count(*) from {name}").fetchone()[0] > 0, name
        assert plain.execute("select typeof(embedding) from user_representation_v1 limit 1").fetchone()[0] == "FLOAT[8]"


def test_wrong_feature_length_and_foreign_schema_are_refused(deployed):
    with duckdb.connect(str(deployed.warehouse), read_only=True) as con:
        for spec in registry_functions(deployed.registry):
            register(con, spec)
        with pytest.raises(duckdb.Error, match=r"Cannot cast list with length \d+ to array with length \d+"):
            con.execute("select userrep_encode_v1(features[2:], feature_schema_hash) from user_features").fetchall()
        with pytest.raises(duckdb.Error, match="feature schema"):
            con.execute("select userrep_encode_v1(features, 'another-layout') from user_features").fetchall()
        with pytest.raises(duckdb.Error, match="rows come from representation v7 .*trained in space v1"):
            con.execute("select userrep_score_podcast_propensity_v1(embedding::float[], 'v7') from user_representation_v1").fetchall()


def test_similar_users_are_ranked_by_cosine_and_never_self(deployed):
    rows = table(deployed, "select user_id, neighbour_id, neighbour_rank, cosine_similarity from similar_users order by user_id, neighbour_rank")
    assert rows and all(u != n for u, n, _, _ in rows)
    by_user = {}
    for user, _, rank, similarity in rows:
        by_user.setdefault(user, []).append((rank, similarity))
    for ranked in by_user.values():
        assert [r for r, _ in ranked] == list(range(1, len(ranked) + 1))
        assert all(a >= b for (_, a), (_, b) in zip(ranked, ranked[1:]))


def test_publish_refuses_a_version_that_is_not_in_the_registry(deployed):
    with deployed.env(), pytest.raises(RegistryError, match="v9 is not in the registry"):
        publish_representation("v9")


def test_tampered_onnx_fails_the_build_and_keeps_the_tables(deployed):
    before = table(deployed, "select * from user_representation_v1 order by user_id")
    model = deployed.registry / "v1" / "encoder.onnx"
    original = model.read_bytes()
    model.write_bytes(original + b"\0")
    try:
        with pytest.raises(DbtError, match=r"encoder.onnx has sha256 .* the manifest says"):
            deployed.dbt(["build", "--select", "user_representation"])
    finally:
        model.write_bytes(original)
    assert table(deployed, "select * from user_representation_v1 order by user_id") == before


def test_publishing_v2_keeps_v1_and_its_pinned_downstream(deployed):
    v1_before = table(deployed, "select * from user_representation_v1 order by user_id")
    with deployed.env():
        train_and_register(deployed.warehouse, Registry(), TrainConfig(**{**TINY.__dict__, "seed": 2, "latent_dim": 6}), progress=False)
        publish_representation("v2")
        deployed.dbt(["build", "--select", "user_representation.v2", "user_representation_latest"])
    assert table(deployed, "select * from user_representation_v1 order by user_id") == v1_before
    assert table(deployed, "select typeof(embedding), min(model_version) from user_representation_latest group by 1") == [("FLOAT[6]", "v2")]

    deployed.dbt(["build", "--select", "tag:published"])  # the scheduled refresh: every version
    v1_after = table(deployed, "select user_id, embedding, model_version from user_representation_v1 order by user_id")
    assert v1_after == [r[:3] for r in v1_before]
    assert table(deployed, "select distinct representation_version from podcast_propensity_scores") == [("v1",)]
    assert table(deployed, "select distinct model_version from similar_users") == [("v1",)]
