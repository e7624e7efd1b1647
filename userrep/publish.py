"""`userrep publish`: registry versions become dbt model versions.

Everything published lives in models/published/, rendered from published.json there: one
one-line SQL file per representation version, the versions YAML (contracts, latest_version,
deprecation dates), the stable latest view, the downstream examples pinned to a version and the
exposures that declare them. In a deployment, commit models/published/ with the registry it names.
"""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import yaml

from userrep import config
from userrep.registry import Registry, RegistryError, check_compatible, sync_registry_table, version_number

STATE = "published.json"
EMPTY_STATE = {"representations": {}, "similar_users": None, "downstream": {}}


def published_dir() -> Path:
    return config.project_dir() / "models" / "published"


def load_state() -> dict:
    path = published_dir() / STATE
    return json.loads(path.read_text()) if path.exists() else json.loads(json.dumps(EMPTY_STATE))


def publish_representation(version: str, warehouse: Path | None = None, registry: Registry | None = None,
                           deprecation_date: str | None = None) -> dict:
    """Add representation version `version` to the dbt project; refuses versions that cannot build."""
    registry = registry or Registry()
    manifest = registry.verify(version)  # present, and files match their sha256
    if manifest.kind != "representation":
        raise RegistryError(f"{version} is a {manifest.kind} model, not a representation")
    with duckdb.connect(str(warehouse or config.warehouse_path())) as con:
        check_compatible(con, manifest)
        sync_registry_table(con, registry)
    state = load_state()
    state["representations"][version] = {"latent_dim": manifest.latent_dim, "deprecation_date": deprecation_date}
    if state["similar_users"] is None:
        state["similar_users"] = version  # the example stays pinned to the first version published
    write_project_files(state)
    return state


def publish_downstream(task: str, model_version: str, representation_version: str, registry: Registry | None = None) -> dict:
    """Score `task` model `model_version` on representation `representation_version`: the version it
    was trained on, or another version of the same space (moving it there needs no retraining)."""
    from python_udfs.catalog import downstream_registry

    registry = registry or Registry()
    state = load_state()
    if representation_version not in state["representations"]:
        raise RegistryError(f"representation {representation_version} is not published; run `userrep publish {representation_version}`")
    model = downstream_registry(registry.root, task).manifest(model_version)
    space = model.extra.get("space") or registry.manifest(model.extra["representation_version"]).representation_space
    target_space = registry.manifest(representation_version).representation_space
    if target_space != space:
        raise RegistryError(
            f"{task} {model_version} was trained in representation space {space}, but {representation_version} is in space "
            f"{target_space}: its vectors mean something else; train a {task} model on {representation_version}")
    state["downstream"][task] = {"model_version": model_version, "representation_version": representation_version,
                                 "space": space}
    write_project_files(state)
    return state


def move_downstream(task: str, representation_version: str, registry: Registry | None = None) -> dict:
    """Point the published `task` scores at another version of its space, keeping its model."""
    state = load_state()
    if task not in state["downstream"]:
        raise RegistryError(f"no published {task} model; run `userrep train-downstream {task} --version vN` first")
    return publish_downstream(task, state["downstream"][task]["model_version"], representation_version, registry)


def _n(version: str) -> int:
    return version_number(version)


def render(state: dict) -> dict[str, str]:
    """File name -> content for models/published/."""
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
        return [
            # unique by test, not by a PRIMARY KEY: DuckDB's index made a refresh that rewrites every
            # user (a new day) spend 44 s in COMMIT at 1M users, against 0.1 s without it
            {"name": "user_id", "data_type": "varchar", "constraints": [{"type": "not_null"}], "data_tests": ["unique"]},
            {"name": "embedding", "data_type": f"float[{latent_dim}]", "constraints": [{"type": "not_null"}],
             "description": f"The user's representation: {latent_dim} floats, unit length."},
            {"name": "model_version", "data_type": "varchar", "constraints": [{"type": "not_null"}],
             "data_tests": [{"accepted_values": {"arguments": {"values": ["__VERSION__"]}}}]},
            {"name": "feature_schema_hash", "data_type": "varchar", "constraints": [{"type": "not_null"}]},
            {"name": "computed_at", "data_type": "timestamp with time zone", "constraints": [{"type": "not_null"}],
             "description": "When this user's embedding was computed by this version."},
            {"name": "updated_at", "data_type": "timestamp with time zone", "constraints": [{"type": "not_null"}],
             "description": "When the row was last written; refreshes leave unchanged users alone."},
        ]

    version_entries = []
    for v in versions:
        entry = state["representations"][v]
        cols = columns(entry["latent_dim"])
        cols[2]["data_tests"][0]["accepted_values"]["arguments"]["values"] = [v]
        item = {"v": _n(v), "defined_in": f"user_representation_{v}", "columns": cols}
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
            "config": {"contract": {"enforced": True}, "access": "public"},
            "versions": version_entries,
        },
        {
            "name": "user_representation_latest",
            "description": "Grain: one row per user. A view on the latest representation version, for ad-hoc SQL only.",
            "config": {"access": "public"},
        },
    ]
    if state["similar_users"]:
        models.append({
            "name": "similar_users",
            "description": (
                "Grain: one row per cohort user x neighbour (top 10). Cosine neighbours of recently signed-up "
                f"users, pinned to representation {state['similar_users']}."
            ),
            "config": {"access": "public"},
            "data_tests": [{"unique_combination": {"arguments": {"columns": ["user_id", "neighbour_id"]}}}],
        })
    for task, entry in sorted(state["downstream"].items()):
        models.append({
            "name": f"{task}_scores",
            "description": (
                f"Grain: one row per user. Scores of the {task} task model {entry['model_version']} (representation "
                f"space {entry.get('space', entry['representation_version'])}) on representation {entry['representation_version']}."
            ),
            "config": {"access": "public"},
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


def write_project_files(state: dict) -> None:
    directory = published_dir()
    directory.mkdir(parents=True, exist_ok=True)
    files = render(state)
    for stale in directory.iterdir():
        if stale.name not in files:
            stale.unlink()
    for name, content in files.items():
        (directory / name).write_text(content)
