"""How an execution is laid out in the SQLite store's ``executions`` row: the hot columns, the
rest as JSON, and on read the lease holder's newest checkpoints laid over them (sqlite_steps)."""

from __future__ import annotations

import json
import sqlite3
import threading
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


# A finish of a run this store holds (``Held``): written only while the row is as the store wrote
# it (version, lease holder, running); the version counts the holder's checkpoints, as a read would.
_FINISH_HELD = (
    "UPDATE executions SET status = ?, version = version + 1 + (SELECT COUNT(*) FROM steps"
    " WHERE run = executions.num AND owner = ?), lease_owner = NULL, lease_expires_at_s = NULL, updated_at_s = ?,"
    " progress = ?, doc = ? WHERE id = ? AND version = ? AND lease_owner = ? AND status = 'running' RETURNING version"
)


class Held:
    """The executions this store last wrote running under a lease (created running, or leased), by
    id: their finish writes the row from the held copy in one statement while the row still has that
    version, owner and status, instead of reading and parsing it first (after any other write the
    finish reads). Bounded; an entry is taken by the finish."""

    LIMIT = 4096

    def __init__(self) -> None:
        self._runs: dict[str, Execution] = {}
        self._lock = threading.Lock()  # runners keep and finish from their own threads

    def keep(self, execution: Execution) -> None:
        with self._lock:
            if len(self._runs) >= self.LIMIT:  # runs never finished here (handed over, crashed): oldest out
                self._runs.pop(next(iter(self._runs)), None)
            self._runs[execution.id] = execution

    def drop(self, execution_id: str) -> None:
        """Forget a run whose row another write changed (its finish reads the row anyway)."""
        with self._lock:
            self._runs.pop(execution_id, None)

    def finish(self, db: sqlite3.Connection, execution_id: str, owner: str,
               changes: dict[str, Any]) -> Execution | None:
        """The held run with the terminal ``changes`` written (lease cleared); None, with nothing
        written, when nothing is held or the row changed since (the caller reads it then)."""
        with self._lock:
            held = self._runs.pop(execution_id, None)
        if held is None:
            return None
        final = held.model_copy(update={**changes, "steps": {}, "lease_owner": None, "lease_expires_at_s": None})
        row = db.execute(_FINISH_HELD, (final.status.value, owner, final.updated_at_s,
                                        final.progress.model_dump_json(), doc(final), execution_id,
                                        held.version, owner)).fetchone()
        if row is None:
            return None
        final.version = row[0]
        return final
