"""`userrep watch`: refresh as files land, in one long-running process.

The process keeps its dbt fork server (dbt imported once, userrep.dbt_forkserver) between
refreshes, so a batch pays its refresh and not dbt's start. It polls the raw directory; when a file
appears, changes or goes, and stays unchanged for one more poll (a writer may still be writing it),
it runs the refresh that `userrep refresh` runs. Bad rows and bad files are quarantined by that
refresh like any other; a refresh that fails is reported in one line and retried at the next
change; a warehouse held by another writer is retried at the next poll. SIGTERM or SIGINT stops it:
between refreshes at once, during one by passing the signal to dbt.
"""

from __future__ import annotations

import signal
import threading
import time
from pathlib import Path

from userrep.config import Deployment
from userrep.dbt import DbtError, DbtInterrupted
from userrep.refresh import refresh
from userrep.warehouse import WarehouseBusy

FileStates = dict[str, tuple[int, int]]


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


def watch(deployment: Deployment, dbt_vars: dict | None, interval: float, echo, refreshes: int | None = None) -> int:
    """Refresh now, then each time the raw directory changes; returns the number of refreshes run.
    `refreshes`: stop after that many (None: until a signal)."""
    stop = threading.Event()
    previous = {signum: signal.signal(signum, lambda *_: stop.set()) for signum in (signal.SIGTERM, signal.SIGINT)}
    done = 0
    try:
        refreshed: FileStates | None = None  # the raw files the last refresh saw; None: refresh now
        seen = raw_file_states(deployment.raw)
        echo(f"watching {deployment.raw} every {interval:g}s (SIGTERM or Ctrl-C stops)")
        while not stop.is_set() and (refreshes is None or done < refreshes):
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
                    lines = str(error).splitlines()
                    reason = next((line.strip() for line in lines[1:] if "rror" in line), lines[-1])
                    echo(f"refresh failed, retried when {deployment.raw} changes: {reason}")
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
    encoded = ", ".join(f"{v}: {n:,}" for v, n in result["re_encoded"].items()) or "no published version"
    return (f"refreshed in {result['seconds']:.1f}s{lag} ({files}): {result['new_event_files']} new event file(s), "
            f"{result['users_with_new_features']:,} of {result['users']:,} users with new features, re-encoded {encoded}")
