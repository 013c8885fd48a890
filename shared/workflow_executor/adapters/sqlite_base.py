"""Opening the SQLite file (create, migrate, WAL, wait while another process holds it) and using
it safely: one connection under a lock, explicit transactions, and a damaged file reported as
StoreCorrupt and never written to again. The stores (sqlite.py, sqlite_registry.py) build on it."""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from types import TracebackType

from ..errors import InvalidArgument, StoreCorrupt, Transient
from . import sqlite_columns, sqlite_key_usage, sqlite_migrate, sqlite_stats, sqlite_steps

SCHEMA_VERSION = 4
BUSY_TIMEOUT_MS = 5000
_DAMAGED = frozenset({11, 26})  # SQLITE_CORRUPT, SQLITE_NOTADB
_SCHEMA = (
    sqlite_migrate.EXECUTIONS,  # v4: an integer key (num) beside the text id
    """CREATE UNIQUE INDEX IF NOT EXISTS executions_idempotency
        ON executions (COALESCE(principal, ''), idempotency_key) WHERE idempotency_key IS NOT NULL""",
    "CREATE INDEX IF NOT EXISTS executions_created ON executions (created_at_s, id)",
    "CREATE INDEX IF NOT EXISTS executions_status ON executions (status, created_at_s)",
    "CREATE INDEX IF NOT EXISTS executions_workflow ON executions (workflow_name, created_at_s)",
    "CREATE INDEX IF NOT EXISTS executions_principal ON executions (principal, created_at_s)",
    sqlite_steps.SCHEMA,  # v3: one B-tree, and the progress and lease of each checkpoint; v4: keyed by num
    """CREATE TABLE IF NOT EXISTS workflows (
        name TEXT NOT NULL, version INTEGER NOT NULL, hash TEXT NOT NULL, document TEXT NOT NULL,
        source TEXT, description TEXT, created_at_s REAL NOT NULL,
        PRIMARY KEY (name, version), UNIQUE (name, hash))""",
    # v2: which version a name means; versions stored with latest=False have no head of their own
    "CREATE TABLE IF NOT EXISTS workflow_heads (name TEXT PRIMARY KEY, hash TEXT NOT NULL)",
    # the journal of agent turns (model replies, tool results) of each step attempt
    """CREATE TABLE IF NOT EXISTS turns (
        execution_id TEXT NOT NULL, key TEXT NOT NULL, idx INTEGER NOT NULL, turn TEXT NOT NULL,
        PRIMARY KEY (execution_id, key, idx))""",
    sqlite_stats.PAUSED_SCHEMA,  # schedules and triggers an admin paused
    sqlite_stats.SCHEMA,  # per workflow and hour: runs, statuses, durations, tokens, cost
    sqlite_key_usage.SCHEMA,  # each principal's LLM spending per day (the daily key ledger)
)
_MIGRATE_V2 = (
    "INSERT OR IGNORE INTO workflow_heads (name, hash) SELECT name, hash FROM workflows w"
    " WHERE version = (SELECT MAX(version) FROM workflows v WHERE v.name = w.name)"
)


def connect(path: str | os.PathLike[str], synchronous: str = "NORMAL") -> sqlite3.Connection:
    """Open (and create or migrate) the database; autocommit mode, transactions are explicit."""
    if synchronous not in ("NORMAL", "FULL"):
        raise InvalidArgument(f"synchronous must be NORMAL or FULL, got {synchronous!r}")
    try:
        return _connect_when_free(path, synchronous)
    except sqlite3.DatabaseError as exc:  # corrupt or truncated: say so, and never overwrite it
        raise InvalidArgument(f"the database {os.fspath(path)} cannot be opened ({exc}); nothing was changed",
                              fix="restore it from a backup, or move it away to start with an empty store") from None


def _connect_when_free(path: str | os.PathLike[str], synchronous: str, attempts: int = 40) -> sqlite3.Connection:
    """``_connect``, again while another process holds the file locked: switching to WAL (or its
    recovery) right as another process creates the database answers "locked" at once, without
    the busy timeout (seen with `wfx executions` beside a starting `wfx run`)."""
    for attempt in range(attempts):
        try:
            return _connect(path, synchronous)
        except sqlite3.OperationalError as exc:
            if attempt + 1 == attempts or not any(w in str(exc) for w in ("locked", "busy")):
                raise
            time.sleep(min(0.01 * 2**attempt, 0.25))
    raise AssertionError("unreachable")


def _connect(path: str | os.PathLike[str], synchronous: str) -> sqlite3.Connection:
    db = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=BUSY_TIMEOUT_MS / 1000)
    db.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    db.execute("PRAGMA journal_mode = WAL")
    db.execute(f"PRAGMA synchronous = {synchronous}")
    db.execute("BEGIN IMMEDIATE")
    try:
        found = db.execute("PRAGMA user_version").fetchone()[0]
        if found > SCHEMA_VERSION:
            raise InvalidArgument(
                f"database schema version {found} is newer than {SCHEMA_VERSION}",
                fix="upgrade workflow-executor",
            )
        sqlite_migrate.migrate(db)  # before v4 executions and steps were keyed by the text id
        for statement in _SCHEMA:
            db.execute(statement)
        if 0 < found < 2:
            db.execute(_MIGRATE_V2)  # before v2 the highest version was the latest
        sqlite_columns.migrate(db)  # source_text, error_text: added in place to an older file
        db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        db.execute("COMMIT")
    except BaseException:
        if db.in_transaction:  # a Ctrl-C can land after COMMIT: a ROLLBACK then would mask it
            db.execute("ROLLBACK")
        db.close()
        raise
    return db


class SqliteBase:
    def __init__(self, path: str | os.PathLike[str], synchronous: str = "NORMAL") -> None:
        self._path = os.fspath(path)
        self._db = connect(path, synchronous)
        self._lock = threading.Lock()
        self._damage: str | None = None  # what SQLite said when it first found the file damaged
        self._closed = False
        # one of each, reused: class-based context managers cost a fraction of @contextmanager's,
        # and every checkpoint enters both (the lock makes sharing them safe)
        self._held = _Guard(self)
        self._in_tx = _Tx(self)

    def _guard(self) -> AbstractContextManager[sqlite3.Connection]:
        """The connection, under the lock. SQLite's "malformed" / "not a database" becomes
        StoreCorrupt naming the file and the fix, and from then on this object writes nothing
        more to it (a write to a damaged file can spread the damage)."""
        return self._held

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        with self._held as db, self._in_tx:
            yield db

    def _writable(self) -> None:
        """Raise StoreCorrupt once the file was found damaged (nothing more is written to it)."""
        if self._damage is not None:
            raise store_corrupt(self._path, self._damage)

    def _tx_on(self, db: sqlite3.Connection) -> AbstractContextManager[None]:
        """A transaction on the guarded connection ``db`` (the caller holds ``_guard``)."""
        assert db is self._db
        return self._in_tx

    def close(self) -> None:
        """Close the connection; the object is unusable afterwards."""
        with self._lock:
            self._closed = True
            self._db.close()


class _Guard:
    """``SqliteBase._guard``: the lock, and a damaged file's error turned into StoreCorrupt."""

    __slots__ = ("_base",)

    def __init__(self, base: SqliteBase) -> None:
        self._base = base

    def __enter__(self) -> sqlite3.Connection:
        base = self._base
        base._lock.acquire()
        if base._closed:  # a runner still in flight as the process stops: it resumes at the next start
            base._lock.release()
            raise Transient("the SQLite store is closed (the server is stopping)", fix="retry after the restart")
        return base._db

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        base = self._base
        try:
            if isinstance(exc, sqlite3.DatabaseError) and (
                    getattr(exc, "sqlite_errorcode", None) in _DAMAGED or _damaged_text(exc)):
                base._damage = base._damage or str(exc)
                raise store_corrupt(base._path, base._damage) from None
        finally:
            base._lock.release()


class _Tx:
    """``SqliteBase._tx_on``: BEGIN IMMEDIATE, then COMMIT, or ROLLBACK when the block raised."""

    __slots__ = ("_base",)

    def __init__(self, base: SqliteBase) -> None:
        self._base = base

    def __enter__(self) -> None:
        base = self._base
        base._writable()
        # IMMEDIATE takes the write lock up front: read-then-write is safe across processes too.
        base._db.execute("BEGIN IMMEDIATE")

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        db = self._base._db
        if exc is None:
            db.execute("COMMIT")
        elif db.in_transaction:
            db.execute("ROLLBACK")


def _damaged_text(exc: sqlite3.DatabaseError) -> bool:
    """For a Python without ``sqlite_errorcode`` (before 3.11): SQLite's words for it."""
    return any(w in str(exc) for w in ("malformed", "not a database"))


def store_corrupt(path: str, detail: str) -> StoreCorrupt:
    """The error for a damaged database file: what SQLite said, and how the operator recovers."""
    return StoreCorrupt(
        f"the database {path} is damaged ({detail}); nothing more is written to it",
        fix=f"stop the server, keep a copy of {path}, then recover it with the sqlite3 shell: "
            f"`sqlite3 {path} .recover | sqlite3 recovered.db` and move recovered.db in its place "
            "(or restore a backup)",
        file=path)
