"""Moving an older SQLite file's executions and steps tables to the current schema (4), inside the
opening transaction (sqlite_base.connect): the executions gain their integer key ``num`` (in
creation order) and the step rows move to the table keyed by it (sqlite_steps.py)."""

from __future__ import annotations

import json
import sqlite3

from . import sqlite_steps

# Schema 4: ``num`` aliases the rowid (it survives VACUUM, unlike an implicit rowid), so the steps
# table can key a run's rows by a number that grows with each new execution; the text id stays the
# execution's name (and its Firestore document id) through the unique index.
EXECUTIONS = """CREATE TABLE IF NOT EXISTS executions (
        num INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, status TEXT NOT NULL, workflow_name TEXT NOT NULL,
        principal TEXT, idempotency_key TEXT, created_at_s REAL NOT NULL, updated_at_s REAL NOT NULL,
        version INTEGER NOT NULL, lease_owner TEXT, lease_expires_at_s REAL,
        progress TEXT NOT NULL, doc TEXT NOT NULL)"""
_COLUMNS = ("id, status, workflow_name, principal, idempotency_key, created_at_s, updated_at_s, version,"
            " lease_owner, lease_expires_at_s, progress, doc")
_STEP_COLUMNS = "step_id, seq, owner, lease_until_s, at_s, progress, record"
_OLD_STEP_COLUMNS = "s.step_id, s.seq, s.owner, s.lease_until_s, s.at_s, s.progress, s.record"


def migrate(db: sqlite3.Connection) -> None:
    """Before schema 4 executions were keyed by their text id alone, and step rows by it (before
    schema 3 in a rowid table with a second B-tree, without ``seq``): rebuild both, keeping every
    row (steps in their order). A new or current file is left as it is."""
    if not _columns(db, "executions") or "num" in _columns(db, "executions"):
        return
    db.execute("ALTER TABLE executions RENAME TO executions_v3")
    db.execute(EXECUTIONS)
    # the oldest first: ``num`` follows creation, as it does for the runs created from now on
    db.execute(f"INSERT INTO executions ({_COLUMNS}) SELECT {_COLUMNS} FROM executions_v3"
               " ORDER BY created_at_s, rowid")
    old_steps = _columns(db, "steps")
    if old_steps:
        db.execute("ALTER TABLE steps RENAME TO steps_v3")
        db.execute(sqlite_steps.SCHEMA)
        if "seq" in old_steps:  # schema 3: the same columns, keyed by the text id
            db.execute(f"INSERT INTO steps (run, {_STEP_COLUMNS}) SELECT e.num, {_OLD_STEP_COLUMNS}"
                       " FROM steps_v3 s JOIN executions e ON e.id = s.execution_id")
        else:  # schema 2: the record alone, whose ``seq`` orders it
            rows = db.execute("SELECT execution_id, step_id, record FROM steps_v3 ORDER BY rowid").fetchall()
            db.executemany(sqlite_steps.UPSERT, [(eid, sid, _seq(record), None, record) for eid, sid, record in rows])
        db.execute("DROP TABLE steps_v3")
    db.execute("DROP TABLE executions_v3")  # its indexes go with it; connect creates them on the new table


def _columns(db: sqlite3.Connection, table: str) -> list[str]:
    return [row[1] for row in db.execute(f"PRAGMA table_info({table})")]


def _seq(record: str) -> int:
    try:
        return int(json.loads(record).get("seq") or 0)
    except (ValueError, TypeError, AttributeError):
        return 0
