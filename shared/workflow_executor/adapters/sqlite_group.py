"""Group commit for the SQLite store: writes that arrive while the connection is busy go out
together, in one transaction (one fsync under synchronous=FULL), each in its own savepoint so
one write's error undoes only that write. Every caller returns after the commit holding its own
write, or raises its own error: durability per call is that of a transaction of its own."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any, Generic, TypeVar

T = TypeVar("T")


class _Write(Generic[T]):
    __slots__ = ("error", "fn", "result", "settled")

    def __init__(self, fn: Callable[[sqlite3.Connection], T]) -> None:
        self.fn = fn
        self.result: T | None = None
        self.error: BaseException | None = None
        self.settled = False


class GroupCommit:
    """``run(fn)``: ``fn(db)`` inside a write transaction, committed before ``run`` returns its
    result (or raises what ``fn`` raised, with nothing of ``fn`` written). ``guard`` holds the
    connection (one holder at a time); ``tx`` opens, commits or rolls back a transaction on it."""

    def __init__(self, guard: Callable[[], AbstractContextManager[sqlite3.Connection]],
                 tx: Callable[[sqlite3.Connection], AbstractContextManager[None]]) -> None:
        self._guard = guard
        self._tx = tx
        self._queue: list[_Write[Any]] = []
        self._lock = threading.Lock()

    def run(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        mine: _Write[T] = _Write(fn)
        with self._lock:
            self._queue.append(mine)
        # Whoever holds the connection next writes every write queued by then (its own included).
        with self._guard() as db:
            if not mine.settled:
                with self._lock:
                    batch, self._queue = self._queue, []
                self._write(db, batch)
            if mine.error is not None:
                raise mine.error  # inside the guard: a damaged file is reported the same way to all
        return mine.result  # type: ignore[return-value]

    def _write(self, db: sqlite3.Connection, batch: list[_Write[Any]]) -> None:
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


def _in_savepoint(db: sqlite3.Connection, item: _Write[Any]) -> None:
    db.execute("SAVEPOINT wfx_write")
    try:
        item.result = item.fn(db)
    except Exception as exc:  # this write's own error: undo it, keep the others
        item.error = exc
        db.execute("ROLLBACK TO wfx_write")
    db.execute("RELEASE wfx_write")


