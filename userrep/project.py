"""The dbt project as each deployment sees it, and copies of it for tests and benchmarks.

The project's model paths are `models` and `published`, both relative: dbt writes every
compiled and run SQL file to target/<original file path>, so a model path given absolute (such
as HOME/published) would have its sources overwritten by their compiled SQL. A deployment whose
root is not the project gets a view of it, HOME/.dbt: links to the project's files beside
`published` -> HOME/published. dbt runs there (`dbt build --project-dir HOME/.dbt`).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import yaml

from userrep.config import ConfigError

# The checkout this package was installed from (editable): the source of copies, never a default project.
REPO_DIR = Path(__file__).resolve().parent.parent

PROJECT_FILES = ["dbt_project.yml", "profiles.yml", "models", "macros"]
VIEW = ".dbt"
PUBLISHED = "published"


def set_project_vars(project: Path, values: dict) -> None:
    """Set dbt vars in a project copy's dbt_project.yml (its comments are not kept)."""
    path = Path(project) / "dbt_project.yml"
    settings = yaml.safe_load(path.read_text())
    settings["vars"].update(values)
    path.write_text(yaml.safe_dump(settings, sort_keys=False))


def copy_project(destination: Path, source: Path = REPO_DIR) -> Path:
    """The dbt project at `source` copied to `destination` (published models live in a deployment, not here)."""
    shutil.rmtree(destination, ignore_errors=True)
    destination.mkdir(parents=True)
    for name in PROJECT_FILES:
        path = source / name
        if path.is_dir():
            shutil.copytree(path, destination / name)
        else:
            shutil.copy(path, destination / name)
    return destination


def dbt_entries(project: Path) -> list[str]:
    """The project's top-level files and directories that dbt reads, except `published`."""
    settings = yaml.safe_load((project / "dbt_project.yml").read_text())
    names = ["dbt_project.yml", "profiles.yml"]
    for key, default in (("model-paths", ["models"]), ("macro-paths", ["macros"]), ("test-paths", ["tests"]),
                         ("seed-paths", ["seeds"]), ("snapshot-paths", ["snapshots"]), ("analysis-paths", ["analyses"])):
        names += [name for name in settings.get(key, default) if name != PUBLISHED]
    return [name for name in dict.fromkeys(names) if (project / name).exists()]


def project_view(project: Path, home: Path) -> Path:
    """The directory dbt runs in for the deployment at `home`: the project itself when it is
    the deployment's root, else HOME/.dbt, (re)linked to the project and to HOME/published."""
    project, home = Path(project).resolve(), Path(home).resolve()
    if home == project:
        return project
    view = home / VIEW
    view.mkdir(parents=True, exist_ok=True)
    for name in [*dbt_entries(project), PUBLISHED]:
        _link(view / name, home / PUBLISHED if name == PUBLISHED else project / name)
    return view


def _link(link: Path, target: Path) -> None:
    """Make `link` a symlink to `target`, replacing only a symlink that points elsewhere."""
    if link.is_symlink():
        if Path(os.readlink(link)) == target:
            return
    elif link.exists():
        raise ConfigError(f"{link} exists and is not a link: {link.parent} is userrep's view of the dbt project; move it away")
    temporary = link.with_name(f".{link.name}.{os.getpid()}.link")
    temporary.unlink(missing_ok=True)
    os.symlink(target, temporary)
    os.replace(temporary, link)  # atomic: a concurrent run sees the old link or the new one
