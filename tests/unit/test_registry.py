import json
import os
import stat

import duckdb
import pytest

from userrep.registry import Manifest, Registry, RegistryError, SchemaMismatch, check_compatible, sha256_file
from userrep.schema import FeatureGroup, groups_to_rows, schema_hash

GROUPS = [
    FeatureGroup("enc__mean_7d", "behaviour_mean", "enc", 7, "music", "", 0, 3),
    FeatureGroup("enc__mean_7d__present", "presence", "enc", 7, "music", "enc__mean_7d", 3, 1),
]


def fields(**overrides):
    base = dict(created_at="2026-11-24T00:00:00+00:00", feature_schema=groups_to_rows(GROUPS),
                feature_schema_hash=schema_hash(GROUPS), input_dim=4, latent_dim=2, training_data={"rows": 1},
                hyperparameters={}, metrics={}, libraries={})
    return {**base, **overrides}


def writer(payload: bytes):
    def write(directory):
        (directory / "encoder.onnx").write_bytes(payload)
        (directory / "decoder.onnx").write_bytes(payload[::-1])
    return write


def test_versions_are_monotonic_and_never_overwritten(tmp_path):
    registry = Registry(tmp_path)
    first = registry.publish(writer(b"one"), fields())
    before = {p.name: p.read_bytes() for p in (tmp_path / "v1").iterdir()}
    second = registry.publish(writer(b"two"), fields())
    assert (first.version, second.version, second.parent_version) == ("v1", "v2", "v1")
    assert {p.name: p.read_bytes() for p in (tmp_path / "v1").iterdir()} == before
    assert registry.versions() == ["v1", "v2"]


def test_a_crash_mid_write_leaves_no_half_version(tmp_path):
    registry = Registry(tmp_path)

    def crash(directory):
        (directory / "encoder.onnx").write_bytes(b"half")
        raise KeyboardInterrupt("killed")

    with pytest.raises(KeyboardInterrupt):
        registry.publish(crash, fields())
    assert registry.versions() == []
    assert not any(tmp_path.glob(".tmp-*"))
    assert registry.publish(writer(b"ok"), fields()).version == "v1"


def test_an_existing_version_directory_is_refused(tmp_path, monkeypatch):
    registry = Registry(tmp_path)
    registry.publish(writer(b"one"), fields())
    (tmp_path / "v2").mkdir()
    (tmp_path / "v2" / "keep").write_text("someone else's")
    monkeypatch.setattr(Registry, "latest", lambda self: "v1")  # as if another writer raced us
    with pytest.raises(RegistryError, match="immutable"):
        registry.publish(writer(b"two"), fields())
    assert (tmp_path / "v2" / "keep").read_text() == "someone else's"


def test_manifest_round_trip_and_tamper_detection(tmp_path):
    registry = Registry(tmp_path)
    written = registry.publish(writer(b"model"), fields())
    assert Manifest.from_json((tmp_path / "v1" / "manifest.json").read_text()) == written
    assert registry.verify("v1") == written
    (tmp_path / "v1" / "encoder.onnx").write_bytes(b"evil")
    with pytest.raises(RegistryError, match="encoder.onnx has sha256"):
        registry.verify("v1")
    with pytest.raises(RegistryError, match="v7 is not in the registry"):
        registry.manifest("v7")


def test_manifest_with_a_forged_schema_is_refused(tmp_path):
    text = Manifest(version="v1", files={}, **fields(input_dim=5)).to_json()
    with pytest.raises(RegistryError, match="input_dim"):
        Manifest.from_json(text)
    data = json.loads(Manifest(version="v1", files={}, **fields()).to_json())
    data["feature_schema"][0]["dim"] = 4
    with pytest.raises(RegistryError, match="does not hash"):
        Manifest.from_json(json.dumps(data))


def _warehouse_with(groups):
    con = duckdb.connect()
    con.execute("""create table feature_schema (group_name varchar, kind varchar, encoder varchar, horizon_days int,
                   modality varchar, detail varchar, feature_offset int, dim int, schema_hash varchar)""")
    for g in groups:
        con.execute("insert into feature_schema values (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    [g.group_name, g.kind, g.encoder, g.horizon_days, g.modality, g.detail, g.feature_offset, g.dim,
                     schema_hash(groups)])
    return con


def test_features_that_do_not_match_the_version_are_refused():
    manifest = Manifest(version="v1", files={}, **fields())
    check_compatible(_warehouse_with(GROUPS), manifest)
    changed = [GROUPS[0], FeatureGroup("country", "categorical", None, None, None, "SE", 3, 1),
               FeatureGroup("enc__mean_7d__present", "presence", "enc", 7, "music", "enc__mean_7d", 4, 1)]
    with pytest.raises(SchemaMismatch, match=r"v1 was trained on .*\+country"):
        check_compatible(_warehouse_with(changed), manifest)


@pytest.mark.parametrize("umask, mode", [(0o022, 0o755), (0o027, 0o750)])
def test_version_directories_follow_the_umask(tmp_path, umask, mode):
    """Another OS user (a scheduler's account) reads the registry when the umask lets it."""
    previous = os.umask(umask)
    try:
        Registry(tmp_path).publish(writer(b"one"), fields())
    finally:
        os.umask(previous)
    assert stat.S_IMODE((tmp_path / "v1").stat().st_mode) == mode


def test_a_version_re_signed_after_it_was_published_is_refused_naming_both_hashes(tmp_path):
    from python_udfs.catalog import registry_functions
    from userrep.publish import write_project_files

    registry = Registry(tmp_path / "registry")
    registry.publish(writer(b"genuine"), fields())
    published = tmp_path / "published"
    pin = sha256_file(registry.path("v1") / "manifest.json")
    write_project_files({"representations": {"v1": {"latent_dim": 2, "manifest_sha256": pin}}, "similar_users": "v1",
                         "downstream": {}}, published)
    # re-signed: another encoder, and its sha256 written into the manifest, so the files verify
    (registry.path("v1") / "encoder.onnx").write_bytes(b"altered")
    manifest = json.loads((registry.path("v1") / "manifest.json").read_text())
    manifest["files"]["encoder.onnx"] = sha256_file(registry.path("v1") / "encoder.onnx")
    (registry.path("v1") / "manifest.json").write_text(json.dumps(manifest))
    registry.verify("v1")
    (spec,) = registry_functions(registry.root, published)
    resigned = sha256_file(registry.path("v1") / "manifest.json")
    assert spec.refusal.startswith("v1: ") and pin[:16] in spec.refusal and resigned[:16] in spec.refusal
    assert "train and publish a new version" in spec.refusal
    with pytest.raises(RegistryError, match="was published with"):
        spec.function(None, None)
