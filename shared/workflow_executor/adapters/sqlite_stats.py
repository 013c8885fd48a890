"""SQLite side of the per-workflow hourly aggregates (``ports.StatsStore``): one row per
(hour, workflow) holding its counters as JSON (a page reads a row per workflow and hour); and the
paused schedules and triggers (``ports.PauseStore``)."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Mapping

from ..ports import WorkflowHour
from .sqlite_key_usage import Tx

SCHEMA = """CREATE TABLE IF NOT EXISTS workflow_hours (
    hour INTEGER NOT NULL, workflow TEXT NOT NULL, counts TEXT NOT NULL, PRIMARY KEY (hour, workflow))"""
PAUSED_SCHEMA = "CREATE TABLE IF NOT EXISTS paused (key TEXT PRIMARY KEY)"
_GET = "SELECT counts FROM workflow_hours WHERE hour = ? AND workflow = ?"
_PUT = "INSERT OR REPLACE INTO workflow_hours (hour, workflow, counts) VALUES (?, ?, ?)"
_READ = "SELECT workflow, hour, counts FROM workflow_hours WHERE hour >= ?"


def add_stats(tx: Tx, workflow: str, hour: int, counts: Mapping[str, float]) -> None:
    """``StatsStore.add_stats``: read, add and write back in one IMMEDIATE transaction (which
    holds the write lock from its start: safe across processes)."""
    with tx() as db:
        add_in(db, workflow, hour, counts)


def add_in(db: sqlite3.Connection, workflow: str, hour: int, counts: Mapping[str, float]) -> None:
    """Add ``counts`` to a workflow's hour inside the caller's transaction (a run's finish)."""
    row = db.execute(_GET, (hour, workflow)).fetchone()
    sums: dict[str, float] = json.loads(row[0]) if row else {}
    for name, value in counts.items():
        sums[name] = sums.get(name, 0.0) + float(value)
    db.execute(_PUT, (hour, workflow, json.dumps(sums, separators=(",", ":"))))


def stats(tx: Tx, since_hour: int) -> list[WorkflowHour]:
    """``StatsStore.stats``: the rows of ``since_hour`` and later."""
    with tx() as db:
        rows = db.execute(_READ, (since_hour,)).fetchall()
    return [WorkflowHour(workflow, int(hour), json.loads(counts)) for workflow, hour, counts in rows]

def paused(tx: Tx) -> set[str]:
    """``PauseStore.paused``."""
    with tx() as db:
        return {row[0] for row in db.execute("SELECT key FROM paused")}


def set_paused(tx: Tx, key: str, pause: bool) -> None:
    """``PauseStore.set_paused``."""
    with tx() as db:
        if pause:
            db.execute("INSERT OR IGNORE INTO paused (key) VALUES (?)", (key,))
        else:
            db.execute("DELETE FROM paused WHERE key = ?", (key,))
