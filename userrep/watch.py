"""`userrep watch`: refresh as files land, in one long-running process.

The process keeps its dbt fork server (dbt imported and warmed up once, userrep.dbt_forkserver)
between refreshes, so a batch pays its refresh and not dbt's start. It polls the raw directory;
when a file appears, changes or goes, and stays unchanged for one more poll (a writer may still be
writing it), it runs the refresh that `userrep refresh` runs. Bad rows and bad files are
quarantined by that refresh like any other; a refresh that fails is reported in one line and
retried at the next change; a warehouse held by another writer is retried at the next poll.
SIGTERM or SIGINT stops it: between refreshes at once, during one by passing the signal to dbt.
"""

from __future__ import annotations

import re
import signal
import threading
import time
from pathlib import Path

from userrep.config import Deployment
from userrep.dbt import FORK_SERVER, DbtError, DbtInterrupted
from userrep.refresh import describe, refresh
from userrep.warehouse import WarehouseBusy

FileStates = dict[str, tuple[int, int]]
DBT_LOG_LINE = re.compile(r"^\d\d:\d\d:\d\d ")  # dbt's own lines start with a time; an error's text does not


def raw_file_states(raw: Path) -> FileStates:
    """Size and mtime of every file under the raw directory; names starting with a dot are files
    still being written (land-batch's temporaries) and are left out."""
    states = {}
    for path in sorted(raw.rglob("*")):
        if path.is_file() and not any(part.startswith(".") for part in path.relative_to(raw).parts):
            stat = path.stat()
            states[str(path.relative_to(raw))] = (stat.st_size, stat.st_mtime_ns)
    return states


def changed_files(before: FileStates, after: FileStates) -> list[str]:
    return sorted(name for name in before.keys() | after.keys() if before.get(name) != after.get(name))


def failure_reason(error: DbtError) -> str:
    """A failed dbt run in one line: the first two lines of the error's own text (what failed, and
    why), else the message's last line."""
    lines = str(error).splitlines()
    text = [line.strip() for line in lines[1:] if line.strip() and not DBT_LOG_LINE.match(line)]
    return " ".join(text[:2]) or lines[-1]


def watch(deployment: Deployment, dbt_vars: dict | None, interval: float, echo) -> int:
    """Refresh now, then each time the raw directory changes, until a signal; returns the number
    of refreshes run."""
    stop = threading.Event()
    previous = {signum: signal.signal(signum, lambda *_: stop.set()) for signum in (signal.SIGTERM, signal.SIGINT)}
    done = 0
    try:
        refreshed: FileStates | None = None  # the raw files the last refresh saw; None: refresh now
        seen = raw_file_states(deployment.raw)
        FORK_SERVER.keep_warm()  # every refresh is a fork of it: dbt's first-use work is done once
        echo(f"watching {deployment.raw} every {interval:g}s (SIGTERM or Ctrl-C stops)")
        while not stop.is_set():
            current = raw_file_states(deployment.raw)
            settled = current == seen  # unchanged for one poll: nobody is writing them
            seen = current
            if settled and current != refreshed:
                changes = changed_files(refreshed or {}, current) if refreshed is not None else []
                try:
                    result = refresh(deployment, dbt_vars)
                except DbtInterrupted:
                    echo("stopped during a refresh; the next refresh finishes its work")
                    break
                except WarehouseBusy as error:
                    echo(f"{error}; retrying in {interval:g}s")
                    stop.wait(interval)
                    continue
                except DbtError as error:
                    echo(f"refresh failed, retried when {deployment.raw} changes: {failure_reason(error)}")
                    refreshed = current
                    continue
                refreshed = current
                done += 1
                echo(summary_line(result, changes, current, deployment.raw))
                continue  # look again at once: files may have landed during the refresh
            stop.wait(interval)
        echo(f"stopped after {done} refresh(es)")
        return done
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def summary_line(result: dict, changes: list[str], states: FileStates, raw: Path) -> str:
    """What a refresh did, and how long after the newest changed file landed its users were represented."""
    landed = [states[name][1] / 1e9 for name in changes if name in states]
    lag = f", {time.time() - max(landed):.1f}s after the newest landed" if landed else ""
    files = f"{len(changes)} changed file(s) in {raw.name}/" if changes else "catching up"
    return f"refreshed in {result['seconds']:.1f}s{lag} ({files}): {describe(result)}"
