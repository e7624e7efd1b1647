"""Run the dbt project (the same commands an analytics engineer types).

dbt runs in a child process: dbt-duckdb keeps its database handle open for the life of the
process, which would lock the warehouse against our own later connections. The child is a fork of
a server that imported dbt once (userrep.dbt_forkserver), so only the first run of a process pays
dbt's imports. A SIGTERM or SIGINT sent to us is passed on to dbt, and we wait for it to stop, so
no dbt outlives its caller.
"""

from __future__ import annotations

import atexit
import json
import os
import signal
import sys
import threading
import time
from pathlib import Path

from userrep.config import Deployment, project_dir
from userrep.dbt_forkserver import ForkServer, ForkServerGone
from userrep.project import project_view
from userrep.warehouse import busy_error, wait_until_free

FORWARDED_SIGNALS = (signal.SIGTERM, signal.SIGINT)
FORK_SERVER = ForkServer()
atexit.register(FORK_SERVER.close)


class DbtError(RuntimeError):
    pass


class DbtInterrupted(DbtError):
    pass


def dbt_executable() -> str:
    return str(Path(sys.executable).with_name("dbt"))


def deployment_for(deployment: Deployment | None = None, home=None, raw_dir=None, warehouse=None,
                   registry=None) -> Deployment:
    """`deployment` (default: from the environment), or the one under `home`, with any path overridden."""
    base = Deployment.under(home) if home else deployment or Deployment.from_env()

    def resolved(path, default: Path) -> Path:
        return Path(path).resolve() if path else default

    return Deployment(base.home, resolved(raw_dir, base.raw), resolved(warehouse, base.warehouse),
                      resolved(registry, base.registry), base.spark_warehouse)


def dbt_command(args: list[str], dbt_vars: dict | None = None, deployment: Deployment | None = None, target_path=None,
                project=None, home=None, raw_dir=None, warehouse=None, registry=None) -> tuple[list[str], dict, Path]:
    """The argv, environment and working directory of `dbt <args>` for one deployment."""
    deployment = deployment_for(deployment, home, raw_dir, warehouse, registry)
    project = Path(project).resolve() if project else project_dir()
    view = project_view(project, deployment.home)
    argv = [dbt_executable(), "--no-use-colors", *args, "--project-dir", str(view), "--profiles-dir", str(view)]
    if target_path:
        argv += ["--target-path", str(target_path)]
    if dbt_vars:
        argv += ["--vars", json.dumps(dbt_vars, default=str)]  # YAML dates such as as_of: 2018-08-27
    deployment.warehouse.parent.mkdir(parents=True, exist_ok=True)
    return argv, {**os.environ, **deployment.env(), "USERREP_PROJECT_DIR": str(project)}, view


def run_dbt(args: list[str], dbt_vars: dict | None = None, deployment: Deployment | None = None, quiet: bool = True,
            target_path=None, project=None, wait_seconds: float = 0, home=None, raw_dir=None, warehouse=None,
            registry=None) -> str:
    """`dbt <args>` against the project for one deployment; returns its output, raises DbtError
    with the failures (WarehouseBusy when another process holds the warehouse, after waiting up
    to `wait_seconds` for it)."""
    deployment = deployment_for(deployment, home, raw_dir, warehouse, registry)
    argv, env, view = dbt_command(args, dbt_vars, deployment, target_path, project)
    deadline = time.monotonic() + wait_seconds
    while True:
        wait_until_free(deployment.warehouse, max(deadline - time.monotonic(), 0), waited=wait_seconds)
        try:
            returncode, output, stopped_by = _run_forwarding_signals(argv, env, view, echo=not quiet)
        except ForkServerGone as error:
            raise DbtError(f"dbt {' '.join(args)} did not finish: {error}") from error
        busy = busy_error(output, waited=wait_seconds or None)
        if busy is not None and time.monotonic() < deadline:
            continue  # another writer took the lock between our check and dbt's start
        break
    if stopped_by:
        raise DbtInterrupted(f"stopped by {stopped_by}: dbt {' '.join(args)} was passed the signal and exited ({returncode})")
    if returncode != 0:
        if busy is not None:
            raise busy
        lines = output.splitlines()
        # dbt repeats every failure with its message after "Completed with"; else show the tail
        start = next((i for i, line in enumerate(lines) if "Completed with" in line), max(len(lines) - 40, 0))
        detail = "\n".join(line for line in lines[start:] if line.strip()) if quiet else "see the dbt output above"
        raise DbtError(f"dbt {' '.join(args)} failed (exit {returncode}):\n{detail}")
    return output


def _run_forwarding_signals(argv: list[str], env: dict, cwd: Path, echo: bool) -> tuple[int, str, str | None]:
    """Run argv (a dbt command line) to completion, echoing its output when asked; a SIGTERM or
    SIGINT received meanwhile is passed to it. Returns (exit code, output, name of the signal
    received or None)."""
    received: list[int] = []
    child: list[int] = []

    def forward(signum, _frame):
        received.append(signum)
        for pid in child:
            os.kill(pid, signum)

    # handlers first: a signal that arrives while dbt starts is passed on once it has started
    main_thread = threading.current_thread() is threading.main_thread()
    previous = {signum: signal.signal(signum, forward) for signum in FORWARDED_SIGNALS} if main_thread else {}
    try:
        pid, output = FORK_SERVER.start(argv[1:], env, str(cwd))
        child.append(pid)
        if received:
            os.kill(pid, received[0])
        lines = []
        try:
            with open(output, encoding="utf-8", errors="replace") as stream:
                for line in stream:
                    lines.append(line)
                    if echo:
                        sys.stdout.write(line)
                        sys.stdout.flush()
        finally:
            returncode = FORK_SERVER.finish()
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    return returncode, "".join(lines), signal.Signals(received[0]).name if received else None
