"""The SQLite steps table: one row per step record, keyed (run, step) in one B-tree (WITHOUT ROWID),
where ``run`` is the execution row's integer key (``executions.num``, given in creation order): a
run's checkpoints append at the B-tree's right edge, so a checkpoint writes one page, and mostly the
page the previous one wrote. The row also carries the progress and the lease renewal of its
checkpoint: the execution row is not rewritten per step, and reads lay the newest checkpoint of
the current lease holder over it (as the Firestore adapter does with its slots)."""

from __future__ import annotations

import sqlite3
from typing import Any

SCHEMA = """CREATE TABLE IF NOT EXISTS steps (
    run INTEGER NOT NULL, step_id TEXT NOT NULL, seq INTEGER NOT NULL DEFAULT 0, owner TEXT,
    lease_until_s REAL, at_s REAL, progress TEXT, record TEXT NOT NULL,
    PRIMARY KEY (run, step_id)) WITHOUT ROWID"""
# The execution's integer key, from its text id (executions' unique index on id); an id that names
# no execution gives NULL, which no step row has.
RUN_OF = "(SELECT num FROM executions WHERE id = ?1)"
# The record column comes last: reading the small columns never touches a large output's overflow pages.
SELECT = f"SELECT step_id, record FROM steps WHERE run = {RUN_OF} ORDER BY seq, at_s, step_id"
# One statement checkpoints a step: the row is written only while ``owner`` holds the running
# execution's lease (a read of the execution row, not a write), which also gives the row its key.
CHECKPOINT = (
    "INSERT INTO steps (run, step_id, seq, owner, lease_until_s, at_s, progress, record)"
    " SELECT num, ?2, ?3, ?4, ?5, ?6, ?7, ?8 FROM executions"
    " WHERE id = ?1 AND lease_owner = ?4 AND status = 'running'"
    " ON CONFLICT (run, step_id) DO UPDATE SET seq = excluded.seq, owner = excluded.owner,"
    " lease_until_s = excluded.lease_until_s, at_s = excluded.at_s, progress = excluded.progress,"
    " record = excluded.record"
)
# (execution id, step id, seq, at_s, record): a record written under no lease (a finish, a copy)
UPSERT = (
    "INSERT INTO steps (run, step_id, seq, at_s, record) SELECT num, ?2, ?3, ?4, ?5 FROM executions WHERE id = ?1"
    " ON CONFLICT (run, step_id) DO UPDATE SET seq = excluded.seq, owner = NULL,"
    " lease_until_s = NULL, at_s = excluded.at_s, progress = NULL, record = excluded.record"
)
# What the current lease holder's checkpoints add to its execution row.
_LATEST = (
    f"SELECT COUNT(*), MAX(lease_until_s), MAX(at_s), (SELECT progress FROM steps WHERE run = {RUN_OF}"
    f" AND owner = ?2 ORDER BY at_s DESC, seq DESC LIMIT 1) FROM steps WHERE run = {RUN_OF} AND owner = ?2"
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
