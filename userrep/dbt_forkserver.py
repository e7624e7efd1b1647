"""A process that imports dbt once and forks a fresh dbt process for every run.

Importing dbt takes seconds, more than a small refresh's SQL. A process that runs dbt many times
(a refresh loop, `userrep cost`, the tests) starts one server; each run is a fork of it, so it
skips the imports and still gets a process of its own (dbt-duckdb's handle on the warehouse
closes when it exits). Requests go over a Unix socket with the file descriptor the run writes its
output to; the server answers with the run's pid, then with its exit code once it has reaped it.

A long-running caller (`userrep watch`, the test session) asks for a warmed server: before serving,
it builds a tiny project on an in-memory DuckDB, so that dbt's work done once per process on first
use (its artifact classes' serialisers and schemas) is done before the fork, not in every run.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import traceback

# what every dbt run imports: dbt's CLI and tasks, the DuckDB adapter and the project's UDF plugin
PRELOADED = ("dbt.cli.main", "dbt.task.run", "dbt.task.build", "dbt.adapters.duckdb", "python_udfs.userrep_udfs")
MESSAGE_BYTES = 1 << 20

# A view, a table, an incremental model and a data test: the node kinds a userrep run builds.
WARM_UP_PROJECT = {
    "dbt_project.yml": "name: warm_up\nversion: '1.0.0'\nconfig-version: 2\nprofile: warm_up\n"
                       "flags: {send_anonymous_usage_stats: false}\n",
    "profiles.yml": "warm_up:\n  target: memory\n  outputs:\n    memory: {type: duckdb, path: ':memory:', threads: 1}\n",
    "models/warm_up_view.sql": "select 1 as id",
    "models/warm_up_table.sql": "{{ config(materialized='table') }} select id from {{ ref('warm_up_view') }}",
    "models/warm_up_incremental.sql": "{{ config(materialized='incremental', unique_key='id', incremental_strategy='delete+insert') }}\n"
                                      "select id from {{ ref('warm_up_table') }}",
    "models/warm_up.yml": "models:\n  - name: warm_up_table\n    columns:\n      - name: id\n        data_tests: [not_null]\n",
}


class ForkServerGone(RuntimeError):
    pass


def serve(connection: socket.socket, warm: bool = False) -> None:
    """Answer requests until the client closes its end."""
    import importlib

    for name in PRELOADED:
        importlib.import_module(name)
    if warm:
        threads = thread_count()
        warm_up()
        if thread_count() > threads:
            # a thread the warm-up started would be missing in every fork, and whatever waits on it
            # would hang: serve from a fresh process instead, unwarmed
            os.execv(sys.executable, [sys.executable, "-P", "-m", "userrep.dbt_forkserver", str(connection.fileno())])
    while True:
        message, fds, _flags, _address = socket.recv_fds(connection, MESSAGE_BYTES, 1)
        if not message:
            return
        request = json.loads(message)
        (output,) = fds
        pid = os.fork()
        if pid == 0:
            connection.close()
            run_dbt_here(request["args"], request["env"], request["cwd"], output)
        os.close(output)
        connection.send(json.dumps({"pid": pid}).encode())
        _, status = os.waitpid(pid, 0)
        connection.send(json.dumps({"exit_code": os.waitstatus_to_exitcode(status)}).encode())


def run_dbt_here(args: list[str], env: dict, cwd: str, output: int) -> None:
    """The forked run: `dbt <args>` in `cwd` with `env`, stdout and stderr into `output`; ends the
    process with dbt's exit code."""
    os.setpgid(0, 0)  # its own process group: a terminal's Ctrl-C reaches dbt once, through its caller
    for fd in (1, 2):
        os.dup2(output, fd)
    os.close(output)
    code = 2
    try:
        os.chdir(cwd)
        os.environ.clear()
        os.environ.update(env)
        from dbt.cli.main import dbtRunner

        result = dbtRunner().invoke(args)
        code = 0 if result.success else 2 if result.exception else 1  # the dbt executable's exit codes
    except BaseException:  # noqa: BLE001 - a forked child reports and exits, it never serves
        traceback.print_exc()
    # an interpreter's exit, not os._exit: multiprocessing releases the locks dbt made, which its
    # resource tracker would otherwise report as leaked into the run's output
    raise SystemExit(code)


def thread_count() -> int:
    """This process's threads, Python's or not (0 where /proc is missing, so nothing is compared)."""
    return len(os.listdir("/proc/self/task")) if os.path.isdir("/proc/self/task") else 0


def warm_up() -> None:
    """Build WARM_UP_PROJECT twice (the second run is incremental) in a throwaway directory, then
    close its database. It must leave no thread running: a fork copies only the forking thread."""
    import gc
    import tempfile
    from pathlib import Path

    from dbt.adapters.duckdb.connections import DuckDBConnectionManager
    from dbt.cli.main import dbtRunner

    # dbt's static parser runs on a pool of threads that it starts once per process
    static_parser = os.environ.get("DBT_STATIC_PARSER")
    os.environ["DBT_STATIC_PARSER"] = "false"
    with tempfile.TemporaryDirectory(prefix="userrep-dbt-warm-up-") as directory:
        for name, text in WARM_UP_PROJECT.items():
            (Path(directory) / name).parent.mkdir(parents=True, exist_ok=True)
            (Path(directory) / name).write_text(text)
        paths = ["--project-dir", directory, "--profiles-dir", directory, "--target", "memory",
                 "--target-path", f"{directory}/target", "--log-path", f"{directory}/logs", "--quiet"]
        for _ in range(2):
            try:
                dbtRunner().invoke(["build", *paths])
            except Exception as error:  # noqa: BLE001 - a failed warm-up leaves the server as fast as an unwarmed one
                print(f"dbt fork server: warm-up failed, serving unwarmed: {error}", file=sys.stderr)
    if static_parser is None:
        os.environ.pop("DBT_STATIC_PARSER")
    else:
        os.environ["DBT_STATIC_PARSER"] = static_parser
    DuckDBConnectionManager.close_all_connections()  # an open DuckDB database keeps its threads
    gc.collect()


class ForkServer:
    """The client: one server per process, started on first use, one dbt run at a time."""

    def __init__(self):
        self.lock = threading.Lock()
        self.connection: socket.socket | None = None
        self.process: subprocess.Popen | None = None
        self.warm = False  # the servers this client starts warm up before serving

    def keep_warm(self) -> None:
        """Start a warmed server now, for a caller that will run dbt many times (a running server
        is replaced)."""
        with self.lock:
            self.warm = True
            self.close()
            self._start_server()

    def start(self, args: list[str], env: dict, cwd: str) -> tuple[int, int]:
        """Fork `dbt <args>`; returns its pid and the read end of its output. Call finish() next."""
        self.lock.acquire()
        try:
            if self.process is not None and self.process.poll() is not None:
                self.close()  # it died between runs (killed, out of memory): start another
            if self.connection is None:
                self._start_server()
            read_end, write_end = os.pipe()
            try:
                socket.send_fds(self.connection, [json.dumps({"args": args, "env": env, "cwd": cwd}).encode()], [write_end])
            finally:
                os.close(write_end)
            return self._answer()["pid"], read_end
        except BaseException:
            self.lock.release()
            raise

    def finish(self) -> int:
        """The exit code of the run start() forked (negative: killed by that signal)."""
        try:
            return self._answer()["exit_code"]
        finally:
            self.lock.release()

    def _answer(self) -> dict:
        try:
            message = self.connection.recv(MESSAGE_BYTES)
        except OSError:
            message = b""
        if not message:
            code = self.close()
            raise ForkServerGone(f"the dbt fork server stopped (exit {code}); the next dbt run starts a new one")
        return json.loads(message)

    def _start_server(self) -> None:
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        with theirs:
            # its own process group: a terminal's Ctrl-C is for the runs, which their caller forwards;
            # -P: the caller's directory is not on sys.path, so its files cannot shadow a module dbt imports
            self.process = subprocess.Popen([sys.executable, "-P", "-m", "userrep.dbt_forkserver", str(theirs.fileno()),
                                             *(["--warm"] if self.warm else [])],
                                            pass_fds=[theirs.fileno()], stdin=subprocess.DEVNULL,
                                            stdout=subprocess.DEVNULL, process_group=0)
        self.connection = ours

    def close(self) -> int | None:
        """Stop the server and wait for it, so the runs it reaped count as this process's children
        (the benchmarks measure a stage's CPU with everything it started)."""
        if self.connection is None:
            return None
        self.connection.close()
        self.connection = None
        code = self.process.wait()
        self.process = None
        return code


if __name__ == "__main__":
    serve(socket.socket(fileno=int(sys.argv[1])), warm="--warm" in sys.argv[2:])
