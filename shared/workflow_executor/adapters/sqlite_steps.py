"""The SQLite steps table: one row per step record, keyed (execution, step) in one B-tree (WITHOUT
ROWID), so a checkpoint writes one page. The row also carries the progress and the lease renewal of
its checkpoint: the execution row is not rewritten per step, and reads lay the newest checkpoint of
the current lease holder over it (as the Firestore adapter does with its slots)."""

from __future__ import annotations

import json
import sqlite3
from typing import Any

SCHEMA = """CREATE TABLE IF NOT EXISTS steps (
    execution_id TEXT NOT NULL, step_id TEXT NOT NULL, seq INTEGER NOT NULL DEFAULT 0, owner TEXT,
    lease_until_s REAL, at_s REAL, progress TEXT, record TEXT NOT NULL,
    PRIMARY KEY (execution_id, step_id)) WITHOUT ROWID"""
# The record column comes last: reading the small columns never touches a large output's overflow pages.
SELECT = "SELECT step_id, record FROM steps WHERE execution_id = ? ORDER BY seq, at_s, step_id"
# One statement checkpoints a step: the row is written only while ``owner`` holds the running
# execution's lease (a read of the execution row, not a write).
CHECKPOINT = (
    "INSERT INTO steps (execution_id, step_id, seq, owner, lease_until_s, at_s, progress, record)"
    " SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8 WHERE EXISTS (SELECT 1 FROM executions"
    " WHERE id = ?1 AND lease_owner = ?4 AND status = 'running')"
    " ON CONFLICT (execution_id, step_id) DO UPDATE SET seq = excluded.seq, owner = excluded.owner,"
    " lease_until_s = excluded.lease_until_s, at_s = excluded.at_s, progress = excluded.progress,"
    " record = excluded.record"
)
UPSERT = (
    "INSERT INTO steps (execution_id, step_id, seq, at_s, record) VALUES (?, ?, ?, ?, ?)"
    " ON CONFLICT (execution_id, step_id) DO UPDATE SET seq = excluded.seq, owner = NULL,"
    " lease_until_s = NULL, at_s = excluded.at_s, progress = NULL, record = excluded.record"
)
# What the current lease holder's checkpoints add to its execution row.
_LATEST = (
    "SELECT COUNT(*), MAX(lease_until_s), MAX(at_s), (SELECT progress FROM steps WHERE execution_id = ?1"
    " AND owner = ?2 ORDER BY at_s DESC, seq DESC LIMIT 1) FROM steps WHERE execution_id = ?1 AND owner = ?2"
)


def overlay(db: sqlite3.Connection, data: dict[str, Any]) -> None:
    """Lay the newest checkpoints of ``data``'s lease holder over ``data`` (an execution row as a
    dict, ``progress`` still JSON text): progress, lease expiry, updated time, and one version per
    checkpoint. A row without a lease holder (finished, queued, released) is exact as stored."""
    owner = data.get("lease_owner")
    if owner is None:
        return
    count, lease, at, progress = db.execute(_LATEST, (data["id"], owner)).fetchone()
    if not count:
        return
    data["version"] += count
    if lease is not None:
        data["lease_expires_at_s"] = max(lease, data["lease_expires_at_s"] or lease)
    if at is not None:
        data["updated_at_s"] = max(at, data["updated_at_s"])
    if progress is not None:
        data["progress"] = progress


def migrate(db: sqlite3.Connection) -> None:
    """Before schema 3 the steps table was a rowid table with a second B-tree for its key: move its
    rows (in their order) into the one-B-tree table. Call inside the opening transaction."""
    columns = [row[1] for row in db.execute("PRAGMA table_info(steps)")]
    if not columns or "seq" in columns:
        return
    db.execute("ALTER TABLE steps RENAME TO steps_v2")
    db.execute(SCHEMA)
    rows = db.execute("SELECT execution_id, step_id, record FROM steps_v2 ORDER BY rowid").fetchall()
    db.executemany(UPSERT, [(eid, sid, _seq(record), None, record) for eid, sid, record in rows])
    db.execute("DROP TABLE steps_v2")


def _seq(record: str) -> int:
    try:
        return int(json.loads(record).get("seq") or 0)
    except (ValueError, TypeError, AttributeError):
        return 0
