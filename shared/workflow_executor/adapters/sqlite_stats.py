"""SQLite side of the per-workflow hourly aggregates (``ports.StatsStore``): one row per
(hour, workflow, counter), added to with an upsert in one IMMEDIATE transaction; and the
paused schedules and triggers (``ports.PauseStore``)."""

from __future__ import annotations

from collections.abc import Mapping

from ..ports import WorkflowHour
from .sqlite_key_usage import Tx

SCHEMA = """CREATE TABLE IF NOT EXISTS workflow_stats (
    hour INTEGER NOT NULL, workflow TEXT NOT NULL, name TEXT NOT NULL, value REAL NOT NULL,
    PRIMARY KEY (hour, workflow, name))"""
_ADD = ("INSERT INTO workflow_stats (hour, workflow, name, value) VALUES (?, ?, ?, ?) "
        "ON CONFLICT (hour, workflow, name) DO UPDATE SET value = value + excluded.value")
PAUSED_SCHEMA = "CREATE TABLE IF NOT EXISTS paused (key TEXT PRIMARY KEY)"
_READ = "SELECT workflow, hour, name, value FROM workflow_stats WHERE hour >= ?"


def add_stats(tx: Tx, workflow: str, hour: int, counts: Mapping[str, float]) -> None:
    """``StatsStore.add_stats`` in one transaction of ``tx``."""
    with tx() as db:
        db.executemany(_ADD, [(hour, workflow, name, float(v)) for name, v in counts.items()])


def stats(tx: Tx, since_hour: int) -> list[WorkflowHour]:
    """``StatsStore.stats``: the rows of ``since_hour`` and later, folded per (workflow, hour)."""
    with tx() as db:
        rows = db.execute(_READ, (since_hour,)).fetchall()
    out: dict[tuple[str, int], dict[str, float]] = {}
    for workflow, hour, name, value in rows:
        out.setdefault((workflow, int(hour)), {})[name] = float(value)
    return [WorkflowHour(w, h, c) for (w, h), c in out.items()]


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
