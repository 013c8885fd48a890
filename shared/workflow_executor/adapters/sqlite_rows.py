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
