"""How an execution is laid out in the SQLite store's ``executions`` row: the hot columns, the
rest as JSON, and on read the lease holder's newest checkpoints laid over them (sqlite_steps)."""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from ..models import Execution, ExecutionStatus
from . import sqlite_steps

TERMINAL = frozenset(s.value for s in ExecutionStatus if s.terminal)

# Columns that change often live outside ``doc`` (the rest of the Execution, without steps), so a
# transition never rewrites the input or the result; on read the columns are laid over ``doc``, and
# the newest checkpoints of the lease holder over them (a checkpoint writes only its step row:
# sqlite_steps.py).
HOT = ("id", "status", "version", "lease_owner", "lease_expires_at_s", "updated_at_s", "progress")
COLS = "id, status, version, lease_owner, lease_expires_at_s, updated_at_s, progress, doc"
SELECT_ONE = f"SELECT {COLS} FROM executions WHERE id = ?"


def doc(execution: Execution) -> str:
    """The non-hot fields of ``execution`` as the row's ``doc`` JSON (steps are rows of their own)."""
    return execution.model_dump_json(exclude={"steps", *HOT})


def execution(db: sqlite3.Connection, row: tuple[Any, ...], steps: dict[str, Any]) -> tuple[Execution, int]:
    """The execution of a row (with the lease holder's newest checkpoints), and the row's version."""
    data = json.loads(row[7])
    data.update(zip(HOT, row[:7], strict=True))
    if data["status"] not in TERMINAL:
        sqlite_steps.overlay(db, data)
    data["progress"] = json.loads(data["progress"])
    data["steps"] = steps
    return Execution.model_validate(data), row[2]


# The hot columns a finish compares with what the store wrote last (``Held``), and the count of the
# lease holder's checkpoints (the versions ``overlay`` would add on a full read).
HEAD = ("SELECT e.version, e.lease_owner, e.status, (SELECT COUNT(*) FROM steps WHERE run = e.num"
        " AND owner = e.lease_owner) FROM executions e WHERE e.id = ?")


class Held:
    """The executions this store last wrote running under a lease (created running, or leased), by
    id: a finish whose row still has that version, owner and status starts from the held copy instead
    of reading and parsing the row (any other write changed the version: the finish reads). Bounded;
    an entry is taken by the finish."""

    LIMIT = 4096

    def __init__(self) -> None:
        self._runs: dict[str, Execution] = {}

    def keep(self, execution: Execution) -> None:
        if len(self._runs) >= self.LIMIT:  # runs never finished here (handed over, crashed): oldest out
            self._runs.pop(next(iter(self._runs)), None)
        self._runs[execution.id] = execution

    def take(self, db: sqlite3.Connection, execution_id: str, owner: str) -> tuple[Execution, int] | None:
        """The held execution as a full read would give it (checkpoint versions laid over), and the
        row's version; None when nothing is held or the row changed since (read it then)."""
        held = self._runs.pop(execution_id, None)
        if held is None:
            return None
        row = db.execute(HEAD, (execution_id,)).fetchone()
        if row is None or row[0] != held.version or row[1] != owner or row[2] != ExecutionStatus.RUNNING.value:
            return None
        return held.model_copy(update={"version": row[0] + row[3], "steps": {}}), row[0]
