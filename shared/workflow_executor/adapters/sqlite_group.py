"""Group commit for the SQLite store: writes that arrive while another write is being committed go
out together, in one transaction (one fsync under synchronous=FULL), each in its own savepoint so
one write's error undoes only that write. Every caller returns after the commit holding its own
write, or raises its own error: durability per call is that of a transaction of its own."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any, Generic, TypeVar

T = TypeVar("T")
LEAD_ROUNDS = 4  # batches one caller commits before it hands the lead on and returns


class _Write(Generic[T]):
    __slots__ = ("atomic", "error", "fn", "result", "settled", "single", "wake")

    def __init__(self, fn: Callable[[sqlite3.Connection], T], atomic: bool, single: bool) -> None:
        self.fn = fn
        self.atomic = atomic
        self.single = single
        self.result: T | None = None
        self.error: BaseException | None = None
        self.settled = False
        self.wake: threading.Lock | None = None  # held while its caller waits (released: settled or leads)


class GroupCommit:
    """``run(fn)``: ``fn(db)`` inside a write transaction, committed before ``run`` returns its
    result (or raises what ``fn`` raised, with nothing of ``fn`` written). ``guard`` holds the
    connection (one holder at a time); ``tx`` opens, commits or rolls back a transaction on it.

    One caller at a time leads: it writes its own write and every write queued meanwhile, then
    wakes their callers at once (they do not queue for the connection again); it writes the
    batches that queue meanwhile too, up to LEAD_ROUNDS, then hands the lead to the oldest write
    still queued, whose caller takes the next batch."""

    def __init__(self, guard: Callable[[], AbstractContextManager[sqlite3.Connection]],
                 tx: Callable[[sqlite3.Connection], AbstractContextManager[None]],
                 writable: Callable[[], None]) -> None:
        self._guard = guard
        self._tx = tx
        self._writable = writable  # raises when nothing may be written (a damaged file)
        self._queue: list[_Write[Any]] = []
        self._leading = False
        self._lock = threading.Lock()

    def run(self, fn: Callable[[sqlite3.Connection], T], *, atomic: bool = False, single: bool = False) -> T:
        """``atomic``: ``fn`` writes nothing when it raises (one statement, or checks before its
        first write), so in a batch it needs no savepoint of its own. ``single``: ``fn`` writes
        with one statement (and only reads after it): alone in its batch it runs without BEGIN
        and COMMIT, as SQLite's own transaction of one statement, committed (durable per
        ``synchronous``) when the statement ends."""
        mine: _Write[T] = _Write(fn, atomic or single, single)
        with self._lock:
            self._queue.append(mine)
            if self._leading:  # a commit is under way: wait to be written with the next batch
                mine.wake = threading.Lock()
                mine.wake.acquire()
            else:
                self._leading = True
        if mine.wake is not None:
            mine.wake.acquire()  # released by the leader: written (settled), or the lead is ours
            if mine.settled:
                return _outcome(mine)
        # We lead: our write and every write queued behind it; then, while writes keep queueing,
        # a few more batches (a woken thread would take the next one later than we can).
        for _ in range(LEAD_ROUNDS):
            self._commit_batch(mine)
            with self._lock:
                if not self._queue:
                    self._leading = False
                    return _outcome(mine)
        with self._lock:  # our caller has waited long enough: the oldest queued write leads on
            nxt = self._queue[0]
        assert nxt.wake is not None
        nxt.wake.release()
        return _outcome(mine)

    def _commit_batch(self, mine: _Write[Any]) -> None:
        """Write and commit every queued write, then wake their callers (not ``mine``'s: it leads)."""
        batch: list[_Write[Any]] = []
        try:
            with self._guard() as db:
                batch = self._take()  # with the connection held: what queued while we waited comes too
                self._write(db, batch)
        except BaseException as exc:  # refused (a closed store, a damaged file) or failed: all learn why
            batch = batch or self._take()
            for item in batch:  # SQLite's own error becomes the guard's (StoreCorrupt) for every caller
                if item.error is None or isinstance(item.error, sqlite3.DatabaseError):
                    item.error = exc
                item.settled = True
        finally:
            for item in batch:
                if item is not mine:
                    assert item.wake is not None
                    item.wake.release()

    def _take(self) -> list[_Write[Any]]:
        with self._lock:
            batch, self._queue = self._queue, []
        return batch

    def _write(self, db: sqlite3.Connection, batch: list[_Write[Any]]) -> None:
        if len(batch) == 1 and batch[0].single:
            self._alone(db, batch[0])
            return
        try:
            with self._tx(db):
                if len(batch) == 1:  # alone: its error rolls the transaction back
                    batch[0].result = batch[0].fn(db)
                else:
                    for item in batch:
                        _in_savepoint(db, item)
        except BaseException as exc:  # nothing of the batch was committed: every caller learns why
            for item in batch:
                item.error = item.error or exc
            raise
        finally:
            for item in batch:
                item.settled = True


    def _alone(self, db: sqlite3.Connection, item: _Write[Any]) -> None:
        """One statement in autocommit mode: it takes the write lock when it starts (waiting up to
        the busy timeout, as BEGIN IMMEDIATE does) and commits when it ends, or SQLite undoes it."""
        try:
            self._writable()
            item.result = item.fn(db)
        except BaseException as exc:
            item.error = exc
            raise
        finally:
            item.settled = True


def _outcome(write: _Write[T]) -> T:
    if write.error is not None:
        raise write.error
    return write.result  # type: ignore[return-value]


def _in_savepoint(db: sqlite3.Connection, item: _Write[Any]) -> None:
    if item.atomic:  # its own refusal leaves nothing behind: no savepoint to undo it
        try:
            item.result = item.fn(db)
        except sqlite3.Error:
            raise  # SQLite's (a full disk, say) may have ended the transaction: the batch fails
        except Exception as exc:
            item.error = exc
        return
    db.execute("SAVEPOINT wfx_write")
    try:
        item.result = item.fn(db)
    except Exception as exc:  # this write's own error: undo it, keep the others
        item.error = exc
        db.execute("ROLLBACK TO wfx_write")
    db.execute("RELEASE wfx_write")
