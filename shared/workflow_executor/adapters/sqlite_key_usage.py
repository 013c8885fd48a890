"""SQLite side of the daily key ledger: one row per (principal, day) in ``key_usage``, updated
compare-and-set on its version (an IMMEDIATE transaction: safe across processes too)."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from contextlib import AbstractContextManager

from ..models import KeyUsage

SCHEMA = """CREATE TABLE IF NOT EXISTS key_usage (
    principal TEXT NOT NULL, day TEXT NOT NULL, version INTEGER NOT NULL, doc TEXT NOT NULL,
    PRIMARY KEY (principal, day))"""
_SELECT = "SELECT doc, version FROM key_usage WHERE principal = ? AND day = ?"
_INSERT = "INSERT OR IGNORE INTO key_usage (principal, day, version, doc) VALUES (?, ?, 1, ?)"
_UPDATE = "UPDATE key_usage SET version = ?, doc = ? WHERE principal = ? AND day = ? AND version = ?"


Tx = Callable[[], AbstractContextManager[sqlite3.Connection]]


def key_usage(tx: Tx, principal: str, day: str) -> KeyUsage | None:
    """``ExecutionStore.key_usage`` in a transaction of ``tx``."""
    with tx() as db:
        row = db.execute(_SELECT, (principal, day)).fetchone()
    if row is None:
        return None
    return KeyUsage.model_validate_json(row[0]).model_copy(update={"version": int(row[1])})


def put_key_usage(tx: Tx, usage: KeyUsage, expected_version: int) -> bool:
    """Compare-and-set on the version (see ``ports.ExecutionStore.put_key_usage``)."""
    doc = usage.model_copy(update={"version": expected_version + 1}).model_dump_json()
    with tx() as db:
        if expected_version == 0:
            cur = db.execute(_INSERT, (usage.principal, usage.day, doc))
        else:
            cur = db.execute(_UPDATE, (expected_version + 1, doc, usage.principal, usage.day, expected_version))
    return cur.rowcount == 1
