"""The model registry: immutable versions v1, v2, ... under USERREP_REGISTRY. Torch-free.

A version directory holds encoder.onnx, decoder.onnx, manifest.json and the loss curve. It is
written to a hidden temporary directory and renamed into place under a lock, so a version is
either complete or absent, and an existing version is never overwritten.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import re
import shutil
import tempfile
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path

from userrep.config import Deployment
from userrep.schema import FeatureGroup, groups_from_rows, input_dim, read_feature_schema, schema_hash

VERSION_PATTERN = re.compile(r"^v(\d+)$")
MANIFEST = "manifest.json"


class RegistryError(RuntimeError):
    pass


class SchemaMismatch(RegistryError):
    pass


@dataclass
class Manifest:
    version: str
    created_at: str
    feature_schema: list[dict]
    feature_schema_hash: str
    input_dim: int
    latent_dim: int
    training_data: dict
    hyperparameters: dict
    metrics: dict
    files: dict  # file name -> sha256
    libraries: dict
    parent_version: str | None = None
    kind: str = "representation"  # or "downstream"
    extra: dict = field(default_factory=dict)
    # the first version of the chain whose vectors this version's agree with (its own when it started one)
    space: str | None = None
    aligned_to: str | None = None  # the version it was trained to agree with
    alignment: dict = field(default_factory=dict)  # how well it agrees: mean cosine, retention, ...

    @property
    def groups(self) -> list[FeatureGroup]:
        return groups_from_rows(self.feature_schema)

    @property
    def representation_space(self) -> str:
        """Manifests written before spaces existed started their own."""
        return self.space or self.version

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> "Manifest":
        data = json.loads(text)
        missing = [f for f in ("version", "feature_schema_hash", "input_dim", "latent_dim", "files") if f not in data]
        if missing:
            raise RegistryError(f"manifest is missing {missing}")
        manifest = cls(**data)
        if schema_hash(manifest.groups) != manifest.feature_schema_hash:
            raise RegistryError(f"manifest {manifest.version}: feature_schema does not hash to feature_schema_hash")
        if input_dim(manifest.groups) != manifest.input_dim:
            raise RegistryError(f"manifest {manifest.version}: input_dim disagrees with feature_schema")
        return manifest


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def version_number(version: str) -> int:
    match = VERSION_PATTERN.match(version)
    if not match:
        raise RegistryError(f"not a version name: {version!r} (expected v1, v2, ...)")
    return int(match.group(1))


class Registry:
    def __init__(self, root: Path | str | None = None):
        self.root = Path(root) if root else Deployment.from_env().registry

    def versions(self) -> list[str]:
        if not self.root.exists():
            return []
        names = [p.name for p in self.root.iterdir() if p.is_dir() and VERSION_PATTERN.match(p.name)]
        return sorted(names, key=version_number)

    def latest(self) -> str | None:
        versions = self.versions()
        return versions[-1] if versions else None

    def path(self, version: str) -> Path:
        version_number(version)
        return self.root / version

    def manifest(self, version: str) -> Manifest:
        path = self.path(version) / MANIFEST
        if not path.exists():
            known = ", ".join(self.versions()) or "none"
            raise RegistryError(f"version {version} is not in the registry at {self.root} (versions: {known})")
        return Manifest.from_json(path.read_text())

    def verify(self, version: str) -> Manifest:
        """The manifest, after checking every listed file against its sha256."""
        manifest = self.manifest(version)
        for name, expected in manifest.files.items():
            path = self.path(version) / name
            if not path.exists():
                raise RegistryError(f"{version}: {name} is missing from {path.parent}")
            actual = sha256_file(path)
            if actual != expected:
                raise RegistryError(
                    f"{version}: {name} has sha256 {actual[:12]}..., the manifest says {expected[:12]}...: "
                    "the file was changed after it was registered; refusing to use it"
                )
        return manifest

    @contextmanager
    def _lock(self):
        self.root.mkdir(parents=True, exist_ok=True)
        with open(self.root / ".lock", "w") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def publish(self, write_files, manifest_fields: dict) -> Manifest:
        """Assign the next version and write it atomically.

        `write_files(directory)` writes the artefacts into a temporary directory and returns
        extra manifest fields (e.g. metrics); file hashes are computed here from what landed.
        """
        with self._lock():
            for stale in self.root.glob(".tmp-*"):  # left by a crash mid-write
                shutil.rmtree(stale, ignore_errors=True)
            parent = self.latest()
            version = f"v{version_number(parent) + 1 if parent else 1}"
            staging = Path(tempfile.mkdtemp(prefix=".tmp-", dir=self.root))
            try:
                extra = write_files(staging) or {}
                files = {p.name: sha256_file(p) for p in sorted(staging.iterdir()) if p.suffix == ".onnx"}
                manifest = Manifest(version=version, files=files, parent_version=parent, **{**manifest_fields, **extra})
                if manifest.kind == "representation" and manifest.space is None:
                    manifest.space = version  # not aligned to an earlier version: it starts a space
                (staging / MANIFEST).write_text(manifest.to_json())
                for p in staging.iterdir():
                    with open(p, "rb") as f:
                        os.fsync(f.fileno())
                # mkdtemp makes the directory private (0700): give it the mode any new directory gets
                os.chmod(staging, 0o777 & ~current_umask())
                target = self.root / version
                if target.exists():
                    raise RegistryError(f"{target} already exists; versions are immutable")
                os.rename(staging, target)
            except BaseException:
                shutil.rmtree(staging, ignore_errors=True)
                raise
            return manifest


def current_umask() -> int:
    mask = os.umask(0o022)  # reading the umask means setting it: put it straight back
    os.umask(mask)
    return mask


def check_compatible(con, manifest: Manifest) -> None:
    """Refuse when the warehouse's feature layout is not the one the version was trained on."""
    groups, current = read_feature_schema(con)
    if current == manifest.feature_schema_hash:
        return
    trained = {g.group_name: g for g in manifest.groups}
    now = {g.group_name: g for g in groups}
    changes = [f"+{n}" for n in now if n not in trained] + [f"-{n}" for n in trained if n not in now]
    changes += [f"~{n}" for n in now if n in trained and now[n] != trained[n]]
    raise SchemaMismatch(
        f"user_features has feature schema {current[:12]}..., but {manifest.version} was trained on "
        f"{manifest.feature_schema_hash[:12]}... (groups added/removed/changed: {', '.join(changes[:10]) or 'order'}). "
        "Train a new version on the current features."
    )
