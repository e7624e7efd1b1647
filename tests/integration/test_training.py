import shutil

import duckdb
import numpy as np
import onnxruntime as ort
import pytest
import torch

from conftest import clone_world
from training.train import TrainConfig, train_and_register
from userrep.registry import Registry

TINY = TrainConfig(latent_dim=8, hidden=[32], steps=20, batch_size=64, sample=None, seed=3)


@pytest.fixture(scope="module")
def two_versions(built_world, tmp_path_factory):
    registry = Registry(tmp_path_factory.mktemp("registry"))
    first = train_and_register(built_world.warehouse, registry, TINY, progress=False)
    v1_bytes = {p.name: p.read_bytes() for p in registry.path("v1").iterdir()}
    # not aligned: an aligned retrain is pulled toward v1's vectors, so the same seed no longer gives the same model
    second = train_and_register(built_world.warehouse, registry, TINY, progress=False, no_align=True)
    return registry, first, second, v1_bytes


def _encode(path, features):
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return session.run(None, {"features": features})[0]


def test_same_seed_and_data_give_bit_identical_onnx_outputs(two_versions, built_world):
    registry, first, second, _ = two_versions
    with duckdb.connect(str(built_world.warehouse), read_only=True) as con:
        features = np.array([r[0] for r in con.execute("select features from user_features order by user_id").fetchall()], np.float32)
    a = _encode(registry.path("v1") / "encoder.onnx", features)
    b = _encode(registry.path("v2") / "encoder.onnx", features)
    assert a.shape == (len(features), TINY.latent_dim)
    assert np.array_equal(a, b)
    np.testing.assert_allclose(np.linalg.norm(a, axis=1), 1.0, atol=1e-5)


def test_second_version_leaves_the_first_byte_identical(two_versions):
    registry, first, second, v1_bytes = two_versions
    assert (first.version, second.version, second.parent_version) == ("v1", "v2", "v1")
    assert {p.name: p.read_bytes() for p in registry.path("v1").iterdir()} == v1_bytes
    assert set(v1_bytes) == {"encoder.onnx", "decoder.onnx", "manifest.json", "loss_curve.png"}


def test_manifest_records_what_was_trained(two_versions, built_world):
    registry, first, _, _ = two_versions
    manifest = registry.verify("v1")
    assert manifest.input_dim == sum(g["dim"] for g in manifest.feature_schema)
    assert manifest.training_data["rows"] == manifest.training_data["sampled_rows"] == 400
    assert manifest.hyperparameters["seed"] == 3
    assert max(manifest.metrics["onnx_parity_max_abs_diff"].values()) <= 1e-4
    assert {"torch", "onnxruntime", "onnx"} <= set(manifest.libraries)


def test_representation_beats_pca_of_the_same_size_on_a_planted_task(built_world):
    """The generator plants podcast listeners; their signal is a few small feature groups among
    hundreds of behaviour dimensions. Group-balanced reconstruction keeps it, PCA-8 mostly drops it."""
    from sklearn.decomposition import PCA
    from sklearn.model_selection import StratifiedKFold, cross_val_score
    from sklearn.preprocessing import StandardScaler

    from training.data import load_features
    from training.model import ExportedEncoder
    from training.train import fit
    from userrep.evaluate import probe

    cfg = TrainConfig(latent_dim=8, hidden=[32], steps=300, batch_size=64, sample=None, seed=0)
    with duckdb.connect(str(built_world.warehouse), read_only=True) as con:
        data = load_features(con)
        traits = dict(con.execute(
            f"select user_id, podcast_listener from read_parquet('{built_world.raw / 'user_traits.parquet'}')").fetchall())
    y = np.array([traits[u] for u in data.user_ids])
    result = fit(data, cfg, progress=False)
    encoder = ExportedEncoder(result.model, torch.from_numpy(result.mean), torch.from_numpy(result.std)).eval()
    with torch.no_grad():
        representation = encoder(torch.tensor(data.features)).numpy()
    pca = PCA(cfg.latent_dim, random_state=0).fit_transform(StandardScaler().fit_transform(data.features))
    folds = StratifiedKFold(5, shuffle=True, random_state=0)
    rep_auc = cross_val_score(probe(), representation, y, cv=folds, scoring="roc_auc")
    pca_auc = cross_val_score(probe(), pca, y, cv=folds, scoring="roc_auc")
    assert (rep_auc - pca_auc).mean() > 2 * (rep_auc - pca_auc).std(ddof=1), (rep_auc, pca_auc)


def test_representation_models_is_rebuilt_from_the_registry_by_dbt(two_versions, built_world, tmp_path):
    """The registry is the truth: versions that reached the registry but never the warehouse (a
    training run that found it locked) are listed by the next dbt run; other directories are not."""
    registry, _, _, _ = two_versions
    world = clone_world(built_world, tmp_path / "index")
    shutil.copytree(registry.root, world.registry)
    (world.registry / ".tmp-half-written").mkdir()
    (world.registry / "vnext").mkdir()
    shutil.copy(world.registry / "v1" / "manifest.json", world.registry / "vnext" / "manifest.json")
    world.dbt(["run", "--select", "representation_models"])
    with world.connect() as con:
        rows = con.execute("select model_version, kind, latent_dim, training_rows, path from representation_models order by 1").fetchall()
    assert rows == [("v1", "representation", 8, 400, str(world.registry.resolve() / "v1")),
                    ("v2", "representation", 8, 400, str(world.registry.resolve() / "v2"))]
