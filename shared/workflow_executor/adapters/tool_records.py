"""ToolRecords in memory (tests, ``WFX_STORE=memory``) and in SQLite (``wfx serve``: a table of
the store's own database file). Firestore's twin is firestore_records.py."""

from __future__ import annotations

import copy
import json
import os
import threading
from collections.abc import Mapping
from typing import Any

from .sqlite import SqliteBase

_SCHEMA = """CREATE TABLE IF NOT EXISTS tool_records (
    owner TEXT NOT NULL, kind TEXT NOT NULL, key TEXT NOT NULL, seq INTEGER NOT NULL, record TEXT NOT NULL,
    PRIMARY KEY (owner, kind, key))"""


class MemoryToolRecords:
    """ToolRecords in a dict (one process; gone at exit)."""

    def __init__(self) -> None:
        self._rows: dict[tuple[str, str], dict[str, dict[str, Any]]] = {}
        self._lock = threading.Lock()

    def insert(self, owner: str, kind: str, key: str, record: Mapping[str, Any]) -> bool:
        with self._lock:
            rows = self._rows.setdefault((owner, kind), {})
            if key in rows:
                return False
            rows[key] = _copy(record)
            return True

    def put(self, owner: str, kind: str, key: str, record: Mapping[str, Any]) -> None:
        with self._lock:
            self._rows.setdefault((owner, kind), {})[key] = _copy(record)

    def get(self, owner: str, kind: str, key: str) -> dict[str, Any] | None:
        with self._lock:
            found = self._rows.get((owner, kind), {}).get(key)
            return copy.deepcopy(found) if found is not None else None

    def delete(self, owner: str, kind: str, key: str) -> bool:
        with self._lock:
            return self._rows.get((owner, kind), {}).pop(key, None) is not None

    def list(self, owner: str, kind: str, limit: int = 1000) -> list[dict[str, Any]]:
        with self._lock:  # dicts keep insertion order; a replaced record keeps its place
            return [copy.deepcopy(r) for r in list(self._rows.get((owner, kind), {}).values())[:limit]]


class SqliteToolRecords(SqliteBase):
    """ToolRecords in the table ``tool_records`` of a SQLite file (the executions' file)."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        super().__init__(path)
        with self._tx() as db:
            db.execute(_SCHEMA)

    def insert(self, owner: str, kind: str, key: str, record: Mapping[str, Any]) -> bool:
        with self._tx() as db:
            cur = db.execute("INSERT OR IGNORE INTO tool_records (owner, kind, key, seq, record) VALUES"
                             " (?, ?, ?, (SELECT COALESCE(MAX(seq), 0) + 1 FROM tool_records), ?)",
                             (owner, kind, key, json.dumps(dict(record))))
            return cur.rowcount == 1

    def put(self, owner: str, kind: str, key: str, record: Mapping[str, Any]) -> None:
        with self._tx() as db:
            db.execute("INSERT INTO tool_records (owner, kind, key, seq, record) VALUES"
                       " (?, ?, ?, (SELECT COALESCE(MAX(seq), 0) + 1 FROM tool_records), ?)"
                       " ON CONFLICT (owner, kind, key) DO UPDATE SET record = excluded.record",
                       (owner, kind, key, json.dumps(dict(record))))

    def get(self, owner: str, kind: str, key: str) -> dict[str, Any] | None:
        with self._lock:
            row = self._db.execute("SELECT record FROM tool_records WHERE owner = ? AND kind = ? AND key = ?",
                                   (owner, kind, key)).fetchone()
        return json.loads(row[0]) if row else None

    def delete(self, owner: str, kind: str, key: str) -> bool:
        with self._tx() as db:
            cur = db.execute("DELETE FROM tool_records WHERE owner = ? AND kind = ? AND key = ?", (owner, kind, key))
            return cur.rowcount == 1

    def list(self, owner: str, kind: str, limit: int = 1000) -> list[dict[str, Any]]:
        with self._lock:
            rows = self._db.execute("SELECT record FROM tool_records WHERE owner = ? AND kind = ?"
                                    " ORDER BY seq LIMIT ?", (owner, kind, limit)).fetchall()
        return [json.loads(r[0]) for r in rows]


def _copy(record: Mapping[str, Any]) -> dict[str, Any]:
    """A detached copy, JSON-shaped as the other adapters store it."""
    out: dict[str, Any] = json.loads(json.dumps(dict(record)))
    return out
