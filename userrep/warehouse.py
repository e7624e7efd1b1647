"""The warehouse's single-writer lock, as one line a user can act on.

DuckDB lets one process write a database file (or several read it): a second process fails with
"Could not set lock on file ... (PID n)". userrep reports that as WarehouseBusy, and can wait.
"""

from __future__ import annotations

import re
import time
from pathlib import Path

import duckdb

LOCK_ERROR = re.compile(r'Could not set lock on file "(?P<path>[^"]+)"(?:.*?\(PID (?P<pid>\d+)\))?')


class WarehouseBusy(RuntimeError):
    pass


def busy_error(text: str, waited: float | None = None) -> WarehouseBusy | None:
    """The one-line error for a DuckDB lock conflict found in `text`, else None."""
    match = LOCK_ERROR.search(text)
    if not match:
        return None
    holder = f"another process (PID {match['pid']})" if match["pid"] else "another process"
    if waited is not None:
        return WarehouseBusy(f"the warehouse {match['path']} is still in use by {holder} after waiting {waited:g} s")
    return WarehouseBusy(
        f"the warehouse {match['path']} is in use by {holder}; run again when it is done, "
        "or let `userrep refresh --wait SECONDS` wait for it"
    )


def connect(path: Path, read_only: bool = True) -> duckdb.DuckDBPyConnection:
    """A connection to the warehouse; WarehouseBusy when another process holds its lock."""
    path = Path(path)
    if read_only and not path.exists():
        raise FileNotFoundError(f"no warehouse at {path}: build it first (userrep build)")
    try:
        return duckdb.connect(str(path), read_only=read_only)
    except duckdb.IOException as error:
        busy = busy_error(str(error))
        if busy is None:
            raise
        raise busy from None


def wait_until_free(path: Path, seconds: float, waited: float | None = None, poll: float = 0.5) -> None:
    """Return once no other process holds the warehouse's lock; WarehouseBusy after `seconds`
    (the error says `waited` seconds, the caller's whole wait, when given)."""
    deadline = time.monotonic() + seconds
    while Path(path).exists():
        try:
            duckdb.connect(str(path)).close()
            return
        except duckdb.IOException as error:
            busy = busy_error(str(error), waited=(waited or seconds) or None)
            if busy is None:
                return  # not a lock: the caller's own open reports it
            if time.monotonic() >= deadline:
                raise busy from None
        time.sleep(poll)


def read_only_query(path: Path, query: str, max_rows: int) -> tuple[list[str], list[tuple], bool]:
    """One SELECT (or EXPLAIN) on a read-only connection: (column names, up to max_rows rows, more rows left)."""
    statements = duckdb.extract_statements(query)
    kinds = [statement.type.name for statement in statements]
    if len(statements) != 1 or kinds[0] not in ("SELECT", "EXPLAIN"):
        raise ValueError(f"userrep sql runs one read-only query, a SELECT or an EXPLAIN; got {', '.join(kinds) or 'nothing'}")
    with connect(path, read_only=True) as con:
        cursor = con.execute(query)
        columns = [d[0] for d in cursor.description]
        rows = cursor.fetchmany(max_rows + 1)
    return columns, rows[:max_rows], len(rows) > max_rows
