"""Which SQL functions the registry provides. Engine-neutral and torch-free.

Representation versions:   userrep_encode_vN(features FLOAT[], feature_schema_hash VARCHAR) -> FLOAT[k]
Downstream task versions:  userrep_score_<task>_vN(embedding FLOAT[], model_version VARCHAR) -> FLOAT
A downstream model scores rows of any representation version in the space it was trained in
(versions aligned to one another) and refuses rows of another space, naming both.
A version whose files fail verification, or whose manifest no longer matches the sha256 that
`userrep publish` pinned for it, still gets its function, one that raises the reason: only the
models that call it fail, with a clear message, and everything else builds.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from python_udfs.onnx_functions import OnnxFunction
from userrep.registry import MANIFEST, Registry, RegistryError, sha256_file


@dataclass
class FunctionSpec:
    sql_name: str
    function: Callable
    input_dim: int | None
    output_dim: int | None
    refusal: str | None = None  # why the version must not be used; None when it verified
    sha256: str | None = None  # of the ONNX file, from the manifest: an engine that copies the file checks the copy


def verify_function_name(sql_name: str) -> str:
    """userrep_encode_v1 -> userrep_verify_encode_v1: raises the refusal, else returns 'ok'."""
    return sql_name.replace("userrep_", "userrep_verify_", 1)


def encode_function_name(version: str) -> str:
    return f"userrep_encode_{version}"


def score_function_name(task: str, version: str) -> str:
    return f"userrep_score_{task}_{version}"


def downstream_registry(root: Path, task: str) -> Registry:
    return Registry(Path(root) / "downstream" / task)


def _refusing(sql_name: str, reason: str) -> Callable:
    def refuse(values, tags):  # DuckDB checks the arity against the declared parameters
        raise RegistryError(f"{sql_name}: {reason}")
    return refuse


def verifier(spec: FunctionSpec) -> Callable:
    """A model calls this before encoding, so a refused version fails even when no row changed."""
    sql_name, refusal = spec.sql_name, spec.refusal  # not the spec: Spark pickles this function to its executors

    def verify() -> str:
        if refusal:
            raise RegistryError(f"{sql_name}: {refusal}")
        return "ok"
    return verify


def representation_spaces(registry: Registry) -> dict[str, str]:
    """Representation version -> its space, for every version whose manifest reads."""
    spaces = {}
    for version in registry.versions():
        try:
            manifest = registry.manifest(version)
        except RegistryError:
            continue
        if manifest.kind == "representation":
            spaces[version] = manifest.representation_space
    return spaces


def space_check(manifest, spaces: dict[str, str]) -> dict:
    """OnnxFunction arguments that make a downstream model score rows of every version in the space
    it was trained in and refuse the others, naming both spaces."""
    trained_on = manifest.extra["representation_version"]
    space = manifest.extra.get("space") or spaces.get(trained_on, trained_on)
    members = sorted((v for v, s in spaces.items() if s == space), key=lambda v: int(v[1:]))
    task = manifest.extra.get("task", "downstream")

    def explain(found: str) -> str:
        theirs = f"space {spaces[found]}" if found in spaces else "no known space"
        return (f"input rows come from representation {found} ({theirs}), but this {task} model was trained in space {space} "
                f"(versions {', '.join(members) or trained_on}); score a version of space {space}, or train a {task} model on {found}")

    return {"expected_tag": trained_on, "also_accepted": tuple(v for v in members if v != trained_on), "explain_refusal": explain}


def check_pin(registry: Registry, version: str, pin: str | None, published: Path | None) -> None:
    """Refuse a version whose manifest differs from the one it was published with."""
    if pin is None:
        return
    path = registry.path(version) / MANIFEST
    actual = sha256_file(path)
    if actual != pin:
        raise RegistryError(
            f"{version}: {path} has sha256 {actual[:16]}, but {version} was published with {pin[:16]} "
            f"(pinned in {published}): the version was changed or re-signed after `userrep publish`; "
            f"restore the registry's {version} as it was published, or train and publish a new version"
        )


def _spec(registry: Registry, version: str, sql_name: str, onnx_file: str, tag_of, tag_name: str,
          pin: str | None = None, published: Path | None = None, tag_check=None) -> FunctionSpec:
    try:
        manifest = registry.manifest(version)
    except RegistryError as error:  # unreadable manifest: the signature is unknown too
        return FunctionSpec(sql_name, _refusing(sql_name, str(error)), None, None, str(error))
    try:
        check_pin(registry, version, pin, published)
        registry.verify(version)
    except RegistryError as error:  # keep the real signature so the failure is the reason, not a type clash
        return FunctionSpec(sql_name, _refusing(sql_name, str(error)), manifest.input_dim, manifest.latent_dim, str(error))
    check = tag_check(manifest) if tag_check else {"expected_tag": tag_of(manifest)}
    function = OnnxFunction(
        name=sql_name, path=registry.path(version) / onnx_file, input_dim=manifest.input_dim,
        output_dim=manifest.latent_dim, tag_name=tag_name, **check,
    )
    return FunctionSpec(sql_name, function, manifest.input_dim, manifest.latent_dim, sha256=manifest.files[onnx_file])


def registry_functions(root: Path | str, published: Path | str | None = None) -> list[FunctionSpec]:
    """One function per registry version; with `published` (HOME/published), published versions
    are checked against the manifest sha256 pinned there."""
    from userrep.publish import STATE, downstream_path, manifest_pins

    root = Path(root)
    pins = manifest_pins(Path(published)) if published else {}
    pin_file = Path(published) / STATE if published else None
    specs = [
        _spec(Registry(root), v, encode_function_name(v), "encoder.onnx", lambda m: m.feature_schema_hash, "feature schema",
              pins.get(v), pin_file)
        for v in Registry(root).versions()
    ]
    downstream = root / "downstream"
    spaces = representation_spaces(Registry(root))
    for task in sorted(p.name for p in downstream.iterdir() if p.is_dir()) if downstream.exists() else []:
        registry = downstream_registry(root, task)
        for v in registry.versions():
            specs.append(_spec(registry, v, score_function_name(task, v), "model.onnx",
                               lambda m: m.extra["representation_version"], "representation version",
                               pins.get(downstream_path(task, v)), pin_file, tag_check=lambda m: space_check(m, spaces)))
    return specs
