"""`userrep watch` as a user runs it: a long-running process that refreshes as files land, keeps
going past a file that is not events, and stops cleanly on SIGTERM."""

import os
import queue
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from conftest import clone_world, deploy_v1
from test_refresh import TINY
from userrep.config import ENVIRONMENT
from userrep.synthetic import land_batch


@pytest.fixture(scope="module")
def live(built_world, tmp_path_factory):
    return deploy_v1(clone_world(built_world, tmp_path_factory.mktemp("watch")), TINY)


class Watcher:
    """`userrep watch` in a subprocess, its output lines read as they come."""

    def __init__(self, world, cwd):
        env = {k: v for k, v in os.environ.items() if k not in ENVIRONMENT}
        env.update({"USERREP_HOME": str(world.root), "USERREP_RAW_DIR": str(world.raw), "USERREP_WAREHOUSE": str(world.warehouse),
                    "USERREP_REGISTRY": str(world.registry), "USERREP_PROJECT_DIR": str(world.project)})
        self.process = subprocess.Popen([str(Path(sys.executable).with_name("userrep")), "watch", "--interval", "0.3"], env=env, cwd=cwd,
                                        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        self.lines, self.output = queue.Queue(), []
        threading.Thread(target=lambda: [self.lines.put(line) for line in self.process.stdout], daemon=True).start()

    def next_line_with(self, text: str, timeout: float = 90) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=0.2)
            except queue.Empty:
                assert self.process.poll() is None, "".join(self.output)
                continue
            self.output.append(line)
            if text in line:
                return line
        raise AssertionError(f"no line with {text!r} after {timeout}s:\n" + "".join(self.output))


def test_watch_refreshes_each_landing_survives_a_bad_file_and_stops_on_sigterm(live, tmp_path):
    # started from a directory whose files shadow modules dbt imports: none of them may be imported
    (tmp_path / "logging.py").write_text("raise ImportError('the working directory was on sys.path')")
    watcher = Watcher(live, tmp_path)
    try:
        assert "catching up" in watcher.next_line_with("refreshed in")

        with live.connect() as con:
            before = con.execute("select count(*) from user_representation_v1").fetchone()[0]
        land_batch(live.raw, users=20, new_users=3, seed=41)
        line = watcher.next_line_with("refreshed in")
        assert "after the newest landed" in line and "1 new event file(s)" in line, line
        with live.connect() as con:
            users, encoded = con.execute("select (select count(*) from user_features),"
                                         " (select count(*) from user_representation_v1)").fetchone()
        assert users == encoded == before + 3, "every user, the 3 new ones included, is represented"

        (live.raw / "events" / "notes.txt").write_text("not events")
        line = watcher.next_line_with("refreshed in")
        assert "0 new event file(s)" in line and "1 event file(s) not read, see quarantine_event_files" in line, line
        with live.connect() as con:
            assert con.execute("select quarantine_reason from quarantine_event_files where source_file = 'events/notes.txt'"
                               ).fetchall() == [("not_parquet",)]

        watcher.process.send_signal(signal.SIGTERM)
        assert watcher.process.wait(timeout=60) == 0
        assert "stopped after 3 refresh(es)" in watcher.next_line_with("stopped after")
        assert "Traceback" not in "".join(watcher.output)
    finally:
        if watcher.process.poll() is None:
            watcher.process.kill()
