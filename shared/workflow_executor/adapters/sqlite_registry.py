"""SQLite WorkflowRegistry: one row per (name, content hash), in the same file as the
executions or its own."""

from __future__ import annotations

import json
import os
import sqlite3
import time
from typing import Any

from ..models import StoredWorkflow
from .common import workflow_hash
from .sqlite_base import SqliteBase


class SqliteWorkflowRegistry(SqliteBase):
    """WorkflowRegistry in a SQLite file (may be the executions' file): one row per (name, hash)."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        super().__init__(path)

    def put(
        self,
        name: str,
        document: dict[str, Any],
        *,
        source: str | None = None,
        description: str | None = None,
        latest: bool = True,
        source_text: str | None = None,
    ) -> StoredWorkflow:
        """Store a new version, or return the existing one with the same content hash; with
        ``latest`` it becomes the version ``name`` means."""
        digest = workflow_hash(document)
        with self._tx() as db:
            found = _select(db, "WHERE name = ? AND hash = ?", (name, digest))
            if found:
                stored = found[0]
            else:
                top = db.execute("SELECT MAX(version) FROM workflows WHERE name = ?", (name,)).fetchone()[0]
                stored = StoredWorkflow(name=name, version=(top or 0) + 1, hash=digest,
                                        document=json.loads(json.dumps(document)), source=source,
                                        source_text=source_text, description=description, created_at_s=time.time())
                db.execute(
                    "INSERT INTO workflows (name, version, hash, document, source, source_text, description,"
                    " created_at_s) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    (name, stored.version, digest, json.dumps(document), source, source_text, description,
                     stored.created_at_s),
                )
            if latest:
                db.execute("INSERT INTO workflow_heads (name, hash) VALUES (?, ?)"
                           " ON CONFLICT (name) DO UPDATE SET hash = excluded.hash", (name, digest))
            return stored

    def get(self, name: str, workflow_hash: str | None = None) -> StoredWorkflow | None:
        """The latest version of ``name``, or the one with ``workflow_hash``; None if absent."""
        with self._guard() as db:
            if workflow_hash is None:
                found = _select(db, "WHERE name = ? AND hash = (SELECT hash FROM workflow_heads h"
                                " WHERE h.name = ?)", (name, name))
            else:
                found = _select(db, "WHERE name = ? AND hash = ?", (name, workflow_hash))
        return found[0] if found else None

    def list(self) -> list[StoredWorkflow]:
        """The latest version of each name, sorted by name."""
        with self._guard() as db:
            return _select(db, "WHERE hash = (SELECT hash FROM workflow_heads h WHERE h.name = workflows.name)"
                           " ORDER BY name", ())


def _select(db: sqlite3.Connection, tail: str, args: tuple[Any, ...]) -> list[StoredWorkflow]:
    sql = ("SELECT name, version, hash, document, source, source_text, description, created_at_s FROM workflows "
           + tail)
    return [
        StoredWorkflow(name=n, version=v, hash=h, document=json.loads(d), source=s, source_text=t,
                       description=ds, created_at_s=c)
        for n, v, h, d, s, t, ds, c in db.execute(sql, args)
    ]
