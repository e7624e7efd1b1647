"""`userrep publish` / `userrep unpublish`: registry versions become dbt model versions.

Everything published lives in the deployment's HOME/published/ (a dbt model path), rendered
from published.json there: one one-line SQL file per representation version, the versions YAML
(contracts, latest_version, deprecation dates), the stable latest view, the downstream examples
pinned to a version and the exposures that declare them. published.json also pins each version's
identity: the sha256 of its manifest.json when it was published, which the SQL functions check,
so a version re-signed in the registry afterwards is refused. Every published model is tagged
`published` (`dbt build --select tag:published`). Keep HOME/published with the registry it names.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import yaml

from userrep.config import Deployment
from userrep.registry import MANIFEST, Registry, RegistryError, check_compatible, sha256_file, version_number
from userrep.warehouse import connect

STATE = "published.json"
TAG = "published"


def empty_state() -> dict:
    return {"representations": {}, "similar_users": None, "downstream": {}}


def load_state(published: Path) -> dict:
    path = Path(published) / STATE
    return json.loads(path.read_text()) if path.exists() else empty_state()


def downstream_path(task: str, version: str) -> str:
    """A downstream version's directory under the registry root (the plugin's key for its pin)."""
    return f"downstream/{task}/{version}"


def manifest_pins(published: Path) -> dict[str, str]:
    """Registry-relative version directory -> sha256 of its manifest.json when it was published."""
    state = load_state(published)
    pins = {v: entry.get("manifest_sha256") for v, entry in state["representations"].items()}
    pins.update({downstream_path(task, entry["model_version"]): entry.get("manifest_sha256")
                 for task, entry in state["downstream"].items()})
    return {path: pin for path, pin in pins.items() if pin}


def _pin(registry: Registry, version: str, already: dict | None) -> str:
    """The manifest's sha256, refusing one that differs from the pin the version was published with."""
    pin = sha256_file(registry.path(version) / MANIFEST)
    if already and already.get("manifest_sha256") not in (None, pin):
        raise RegistryError(
            f"{version} was published with manifest sha256 {already['manifest_sha256'][:16]}, but "
            f"{registry.path(version) / MANIFEST} now has {pin[:16]}: the version changed after it was published; "
            "restore it, or train and publish a new version"
        )
    return pin


def publish_representation(version: str, deployment: Deployment | None = None,
                           deprecation_date: str | None = None) -> dict:
    """Add representation version `version` to the deployment; refuses versions that cannot build."""
    deployment = deployment or Deployment.from_env()
    registry = Registry(deployment.registry)
    manifest = registry.verify(version)  # present, and files match their sha256
    if manifest.kind != "representation":
        raise RegistryError(f"{version} is a {manifest.kind} model, not a representation")
    with connect(deployment.warehouse) as con:
        check_compatible(con, manifest)
    state = load_state(deployment.published)
    pin = _pin(registry, version, state["representations"].get(version))
    state["representations"][version] = {"latent_dim": manifest.latent_dim, "deprecation_date": deprecation_date,
                                         "manifest_sha256": pin}
    if state["similar_users"] is None:
        state["similar_users"] = version  # the example stays pinned to the first version published
    write_project_files(state, deployment.published)
    return state


def publish_downstream(task: str, model_version: str, representation_version: str,
                       deployment: Deployment | None = None) -> dict:
    """Score `task` model `model_version` on representation `representation_version`: the version it
    was trained on, or another version of the same space (moving it there needs no retraining)."""
    from python_udfs.catalog import downstream_registry

    deployment = deployment or Deployment.from_env()
    state = load_state(deployment.published)
    if representation_version not in state["representations"]:
        raise RegistryError(f"representation {representation_version} is not published; run `userrep publish {representation_version}`")
    registry = downstream_registry(deployment.registry, task)
    model = registry.verify(model_version)
    representations = Registry(deployment.registry)
    space = model.extra.get("space") or representations.manifest(model.extra["representation_version"]).representation_space
    target_space = representations.manifest(representation_version).representation_space
    if target_space != space:
        raise RegistryError(
            f"{task} {model_version} was trained in representation space {space}, but {representation_version} is in space "
            f"{target_space}: its vectors mean something else; train a {task} model on {representation_version}")
    previous = state["downstream"].get(task)
    pin = _pin(registry, model_version, previous if previous and previous["model_version"] == model_version else None)
    state["downstream"][task] = {"model_version": model_version, "representation_version": representation_version,
                                 "space": space, "manifest_sha256": pin}
    write_project_files(state, deployment.published)
    return state


def move_downstream(task: str, representation_version: str, deployment: Deployment | None = None) -> dict:
    """Point the published `task` scores at another version of its space, keeping its model."""
    deployment = deployment or Deployment.from_env()
    state = load_state(deployment.published)
    if task not in state["downstream"]:
        raise RegistryError(f"no published {task} model; run `userrep train-downstream {task} --version vN` first")
    return publish_downstream(task, state["downstream"][task]["model_version"], representation_version, deployment)


def unpublish(version: str, deployment: Deployment | None = None) -> dict:
    """Take representation `version` out of the deployment's dbt project; refuses while a
    downstream model is pinned to it. Its warehouse table and registry files stay."""
    deployment = deployment or Deployment.from_env()
    state = load_state(deployment.published)
    if version not in state["representations"]:
        live = ", ".join(sorted(state["representations"], key=version_number)) or "none"
        raise RegistryError(f"{version} is not published in {deployment.published} (published: {live})")
    pinned = sorted(f"{task}_scores" for task, entry in state["downstream"].items()
                    if entry["representation_version"] == version)
    if pinned:
        raise RegistryError(
            f"{version} cannot be unpublished: {', '.join(pinned)} is pinned to it; "
            "train the task on another version first (userrep train-downstream TASK --version vN)"
        )
    del state["representations"][version]
    if state["similar_users"] == version:  # the example moves to the newest version left, if any
        remaining = sorted(state["representations"], key=version_number)
        state["similar_users"] = remaining[-1] if remaining else None
    write_project_files(state, deployment.published)
    return state


def _n(version: str) -> int:
    return version_number(version)


def render(state: dict) -> dict[str, str]:
    """File name -> content for HOME/published/."""
    versions = sorted(state["representations"], key=_n)
    if not versions:
        return {}
    files = {STATE: json.dumps(state, indent=2, sort_keys=True) + "\n"}
    for v in versions:
        files[f"user_representation_{v}.sql"] = f"{{{{ user_representation('{v}') }}}}\n"
    files["user_representation_latest.sql"] = (
        "{{ config(materialized='view') }}\n"
        "-- The newest published version, for ad-hoc SQL. Models pin a version instead.\n"
        "select * from {{ ref('user_representation') }}\n"
    )
    if state["similar_users"]:
        files["similar_users.sql"] = f"{{{{ similar_users(version={_n(state['similar_users'])}, k=10) }}}}\n"
    for task, entry in sorted(state["downstream"].items()):
        files[f"{task}_scores.sql"] = (
            f"{{{{ downstream_scores('{task}', '{entry['model_version']}', representation_version="
            f"{_n(entry['representation_version'])}) }}}}\n"
        )

    def columns(latent_dim: int) -> list[dict]:
        timestamp = engine_type("timestamp with time zone", spark="timestamp")
        return [
            # unique by test, not by a PRIMARY KEY: DuckDB's index made a refresh that rewrites every
            # user (a new day) spend 44 s in COMMIT at 1M users, against 0.1 s without it
            {"name": "user_id", "data_type": "string", "constraints": [{"type": "not_null"}], "data_tests": ["unique"]},
            {"name": "embedding", "data_type": engine_type(f"float[{latent_dim}]", spark="array<float>"),
             "constraints": [{"type": "not_null"}],
             "description": f"The user's representation: {latent_dim} floats, unit length."},
            {"name": "model_version", "data_type": "string", "constraints": [{"type": "not_null"}],
             "data_tests": [{"accepted_values": {"arguments": {"values": ["__VERSION__"]}}}]},
            {"name": "feature_schema_hash", "data_type": "string", "constraints": [{"type": "not_null"}]},
            {"name": "computed_at", "data_type": timestamp, "constraints": [{"type": "not_null"}],
             "description": "When this user's embedding was computed by this version."},
            {"name": "updated_at", "data_type": timestamp, "constraints": [{"type": "not_null"}],
             "description": "When the row was last written; refreshes leave unchanged users alone."},
        ]

    version_entries = []
    for v in versions:
        entry = state["representations"][v]
        cols = columns(entry["latent_dim"])
        cols[2]["data_tests"][0]["accepted_values"]["arguments"]["values"] = [v]
        item = {"v": _n(v), "defined_in": f"user_representation_{v}",
                "config": {"meta": {"manifest_sha256": entry.get("manifest_sha256")}}, "columns": cols}
        if entry.get("deprecation_date"):
            item["deprecation_date"] = entry["deprecation_date"]
        version_entries.append(item)
    models = [
        {
            "name": "user_representation",
            "description": (
                "Grain: one row per user in user_features. The user's representation from one registry version. "
                "Each version is its own table (user_representation_vN), readable by any DuckDB client; "
                "join on user_id and pin the version your model was trained on."
            ),
            "latest_version": _n(versions[-1]),
            "config": {"contract": {"enforced": True}, "access": "public", "tags": [TAG]},
            "versions": version_entries,
        },
        {
            "name": "user_representation_latest",
            "description": "Grain: one row per user. A view on the latest representation version, for ad-hoc SQL only.",
            "config": {"access": "public", "tags": [TAG]},
        },
    ]
    if state["similar_users"]:
        models.append({
            "name": "similar_users",
            "description": (
                "Grain: one row per cohort user x neighbour (top 10). Cosine neighbours of recently signed-up "
                f"users, pinned to representation {state['similar_users']}. Rebuilt by dbt build, not by userrep refresh."
            ),
            "config": {"materialized": "table", "access": "public", "tags": [TAG]},
            "data_tests": [{"unique_combination": {"arguments": {"columns": ["user_id", "neighbour_id"]}}}],
        })
    for task, entry in sorted(state["downstream"].items()):
        models.append({
            "name": f"{task}_scores",
            "description": (
                f"Grain: one row per user. Scores of the {task} task model {entry['model_version']} (representation "
                f"space {entry.get('space', entry['representation_version'])}) on representation "
                f"{entry['representation_version']}; a refresh rescores the re-encoded users."
            ),
            "config": {"access": "public", "tags": [TAG], "meta": {"manifest_sha256": entry.get("manifest_sha256")}},
            "columns": [{"name": "user_id", "data_tests": ["not_null", "unique"]},
                        {"name": "score", "data_tests": ["not_null"]}],
        })
    exposures = []
    if state["similar_users"]:
        exposures.append({
            "name": "lookalike_onboarding", "type": "application", "maturity": "medium",
            "owner": {"name": "Growth"},
            "description": "Seeds new users' home feed with what their nearest established neighbours play.",
            "depends_on": ["ref('similar_users')"],
        })
    for task, entry in sorted(state["downstream"].items()):
        space = entry.get("space", entry["representation_version"])
        exposures.append({
            "name": f"{task}_targeting", "type": "ml", "maturity": "medium", "owner": {"name": "Recommendations"},
            "description": (f"Uses {task}_scores to decide who sees {task.replace('_', ' ')} placements. Depends on "
                            f"representation space {space} (scored with {entry['representation_version']})."),
            "depends_on": [f"ref('{task}_scores')"],
            "meta": {"representation_space": space, "representation_version": entry["representation_version"]},
        })
    document = {"version": 2, "models": models}
    if exposures:
        document["exposures"] = exposures
    files["_published__models.yml"] = (
        "# Rendered by `userrep publish` from published.json; edit that, or use the command.\n"
        + yaml.safe_dump(document, sort_keys=False, width=100)
    )
    return files


def engine_type(duckdb: str, spark: str) -> str:
    """A contract's data type as each engine spells it (dbt renders the YAML for its target)."""
    return f"{{{{ '{spark}' if target.type == 'spark' else '{duckdb}' }}}}"


def write_project_files(state: dict, directory: Path) -> None:
    """Render `state` into `directory`, removing only files an earlier render wrote there."""
    directory = Path(directory)
    files = render(state)
    for stale in set(render(load_state(directory))) - set(files):
        (directory / stale).unlink(missing_ok=True)
    if files:
        directory.mkdir(parents=True, exist_ok=True)
    # published.json last: it names what the other files hold
    for name in sorted(files, key=lambda n: n == STATE):
        temporary = directory / f".{name}.tmp"
        temporary.write_text(files[name])
        os.replace(temporary, directory / name)
