"""`userrep demo` works in a root of its own and never touches what USERREP_* names."""

import shlex

import duckdb
from click.testing import CliRunner

from userrep.cli import cli
from userrep.demo import MARKER
from userrep.project import copy_project


def files_under(folder, skip=()):
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.is_file() and not any(p.is_relative_to(folder / s) for s in skip)}


def test_the_demo_leaves_every_folder_userrep_variables_name_as_it_was(tmp_path, monkeypatch):
    project = copy_project(tmp_path / "project")
    folders = {name: tmp_path / name.lower() for name in ("USERREP_HOME", "USERREP_RAW_DIR", "USERREP_REGISTRY", "USERREP_WAREHOUSE")}
    for name, folder in folders.items():
        folder.mkdir()
        (folder / "sentinel.txt").write_text(f"{name} points here")
        monkeypatch.setenv(name, str(folder))
    with duckdb.connect(str(folders["USERREP_WAREHOUSE"] / "userrep.duckdb")) as con:
        con.execute("create table precious as select 42 as answer")
    monkeypatch.setenv("USERREP_WAREHOUSE", str(folders["USERREP_WAREHOUSE"] / "userrep.duckdb"))
    (project / "sentinel.txt").write_text("USERREP_PROJECT_DIR points here")
    monkeypatch.setenv("USERREP_PROJECT_DIR", str(project))
    before = {name: files_under(folder) for name, folder in folders.items()}
    project_before = files_under(project)
    monkeypatch.chdir(tmp_path)

    result = CliRunner().invoke(cli, ["demo", "--users", "300", "--steps", "20"])

    assert result.exit_code == 0, result.output + repr(result.exception)
    assert {name: files_under(folder) for name, folder in folders.items()} == before
    assert files_under(project, skip=["demo"]) == project_before, "the project gains only demo/"
    root = project / "demo"
    assert (root / MARKER).exists() and (root / "warehouse" / "userrep.duckdb").exists()
    assert "userrep demo: 320 of 320 users encoded by v1" in result.output
    queries = [line.split("  ", 1)[-1].strip() for line in result.output.splitlines() if "userrep sql" in line]
    assert len(queries) == 2 and "order by user_id, neighbour_rank" in queries[1]
    for query in queries:  # the printed examples work as printed
        printed = CliRunner().invoke(cli, shlex.split(query)[1:])
        assert printed.exit_code == 0 and ("(3 rows)" in printed.output or "(9 rows)" in printed.output), printed.output
