"""A stable space: a new version trained to agree with an earlier one, so that a downstream model
fitted on the earlier version's vectors keeps working on the new version's.

The new version's own embedding of each user is pulled toward the parent's embedding of that user
during training (joint training, as BCT and BC-Aligner do, rather than a map fitted afterwards),
then an orthogonal Procrustes rotation on the same users takes up what is left; the rotation is
part of the exported encoder. The parent's embeddings come from running the parent's encoder on
today's features when the feature schema is unchanged, else from its stored table
user_representation_<parent> in the warehouse (the parent cannot read the new layout).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from training.data import FeatureData, features_matrix
from userrep.registry import Manifest, Registry, RegistryError


@dataclass
class AlignmentPlan:
    parent: str | None  # None: the version starts its own space
    reason: str  # one line for the user: what is aligned to what, or why nothing is


def plan_alignment(registry: Registry, latent_dim: int, align_to: str | None, no_align: bool) -> AlignmentPlan:
    """Which version to agree with: `align_to`, else the latest representation version."""
    if no_align:
        return AlignmentPlan(None, "not aligned (--no-align): this version starts a new space")
    versions = [v for v in registry.versions() if registry.manifest(v).kind == "representation"]
    parent = align_to or (versions[-1] if versions else None)
    if parent is None:
        return AlignmentPlan(None, "no earlier version: this version starts a new space")
    manifest = registry.verify(parent)
    if manifest.kind != "representation":
        raise RegistryError(f"{parent} is a {manifest.kind} model, not a representation: cannot align to it")
    if manifest.latent_dim != latent_dim:
        return AlignmentPlan(None, f"{parent} has {manifest.latent_dim} floats per user and this version {latent_dim}: "
                                   "vectors of different sizes cannot share a space, so this version starts a new one")
    return AlignmentPlan(parent, f"aligned to {parent} (space {manifest.representation_space})")


def parent_embeddings(con, registry: Registry, parent: str, data: FeatureData) -> tuple[np.ndarray, str]:
    """The parent's embedding of each user in `data` (NaN rows where it has none) and where it came from."""
    return version_embeddings(con, registry, parent, data.user_ids, data.features, data.schema_hash)


def version_embeddings(con, registry: Registry, version: str, user_ids, features: np.ndarray,
                       schema_hash: str) -> tuple[np.ndarray, str]:
    """A version's embedding of each user: its encoder on `features` when they have its layout,
    else its stored table (NaN rows for users it has not encoded)."""
    manifest = registry.verify(version)
    if manifest.feature_schema_hash == schema_hash:
        return encode_with(registry, manifest, features), f"{version}'s encoder on today's features"
    table = f"user_representation_{version}"
    if not con.execute("select count(*) from information_schema.tables where table_name = ?", [table]).fetchall()[0][0]:
        raise RegistryError(
            f"the feature schema changed since {version}, so its vectors must come from its stored table, but the "
            f"warehouse has no table {table}: publish {version} and run `dbt build` first, or train with --no-align")
    stored = con.sql(f"select user_id, embedding from {table}").to_arrow_table()
    vectors = features_matrix(stored.column("embedding").cast(pa.list_(pa.float32())), manifest.latent_dim)
    position = {u: i for i, u in enumerate(stored.column("user_id").to_pylist())}
    user_ids = list(user_ids)
    embeddings = np.full((len(user_ids), manifest.latent_dim), np.nan, np.float32)
    pairs = [(i, position[u]) for i, u in enumerate(user_ids) if u in position]
    if pairs:
        mine, theirs = map(np.array, zip(*pairs))
        embeddings[mine] = vectors[theirs]
    return embeddings, f"{version}'s stored table {table} ({len(pairs):,} of {len(user_ids):,} users)"


def parent_encoder(registry: Registry, version: str):
    """A registered encoder as a function of raw feature rows, one onnxruntime thread (deterministic)."""
    from python_udfs.onnx_functions import OnnxFunction

    manifest = registry.verify(version)
    function = OnnxFunction(name=f"encode_{version}", path=registry.path(version) / "encoder.onnx",
                            input_dim=manifest.input_dim, output_dim=manifest.latent_dim, threads=1)
    return lambda rows: function.run(np.ascontiguousarray(rows, dtype=np.float32))


def encode_with(registry: Registry, manifest: Manifest, features: np.ndarray) -> np.ndarray:
    """A registered encoder's output through onnxruntime, as the warehouse computes it."""
    from python_udfs.onnx_functions import OnnxFunction

    function = OnnxFunction(name=f"encode_{manifest.version}", path=registry.path(manifest.version) / "encoder.onnx",
                            input_dim=manifest.input_dim, output_dim=manifest.latent_dim)
    return np.concatenate([function.run(features[i : i + 8192]) for i in range(0, len(features), 8192)])


def procrustes(source: np.ndarray, target: np.ndarray) -> np.ndarray:
    """The orthogonal matrix R minimising ||source @ R - target|| (Schönemann 1966)."""
    u, _, vt = np.linalg.svd(source.T.astype(np.float64) @ target.astype(np.float64))
    return (u @ vt).astype(np.float32)


def mean_cosine(a: np.ndarray, b: np.ndarray) -> float:
    known = np.isfinite(b).all(axis=1)
    a, b = a[known], b[known]
    cos = (a * b).sum(1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1) + 1e-12)
    return float(cos.mean()) if len(cos) else float("nan")
