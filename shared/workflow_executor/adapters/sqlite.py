"""SQLite ExecutionStore: the default local backend, one file, WAL mode (the file itself is
opened and guarded in sqlite_base.py; the WorkflowRegistry in sqlite_registry.py shares it)."""

from __future__ import annotations

import builtins
import json
import os
import sqlite3
import time
from collections.abc import Mapping
from typing import Any, Literal

from ..errors import Conflict, InvalidArgument, LeaseHeld, LeaseLost, NotFound
from ..models import ErrorInfo, Execution, ExecutionStatus, KeyUsage, Page, Progress, StepRecord, Usage, WaitState
from ..ports import ExecutionQuery, Turns, WorkflowHour
from ..workflow_stats import counts_for, hour_of
from . import sqlite_key_usage, sqlite_stats, sqlite_steps, waits
from .common import cancelled_error, encode_cursor, frozen_error
from .sqlite_base import SCHEMA_VERSION, SqliteBase
from .sqlite_group import GroupCommit
from .sqlite_list import list_sql
from .sqlite_rows import SELECT_ONE, Held
from .sqlite_rows import doc as doc_of
from .sqlite_rows import execution as execution_of

__all__ = ["SCHEMA_VERSION", "SqliteBase", "SqliteExecutionStore"]

_INSERT = (
    "INSERT INTO executions (id, status, workflow_name, principal, idempotency_key, created_at_s,"
    " updated_at_s, version, lease_owner, lease_expires_at_s, progress, doc)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING"  # a taken id or key: (existing, False)
)
_REWRITE = (
    "UPDATE executions SET status = ?, version = ?, lease_owner = ?, lease_expires_at_s = ?,"
    " updated_at_s = ?, progress = ?, doc = ? WHERE id = ? AND version = ?"
)
_INSERT_TURN = (
    "INSERT OR IGNORE INTO turns (execution_id, key, idx, turn)"
    " SELECT ?, ?, ?, ? WHERE EXISTS (SELECT 1 FROM executions WHERE id = ?)"
)
_SELECT_TURN = "SELECT turn FROM turns WHERE execution_id = ? AND key = ? AND idx = ?"
_SELECT_TURNS = "SELECT idx, turn FROM turns WHERE execution_id = ? AND key = ? ORDER BY idx"


class SqliteExecutionStore(SqliteBase):
    """ExecutionStore in a SQLite file (see ``ports.ExecutionStore`` for the contract).

    ``synchronous="FULL"`` survives power loss; ``"NORMAL"`` (WAL) survives a process crash.
    ``list`` returns full records without their step records (``steps == {}``).
    """

    STATS_ON_FINISH = True  # _finish adds the run to its workflow's hour in the same commit

    def __init__(
        self, path: str | os.PathLike[str], *, synchronous: Literal["NORMAL", "FULL"] = "NORMAL"
    ) -> None:
        super().__init__(path, synchronous)
        self._group = GroupCommit(self._guard, self._tx_on, self._writable)  # the hot writes, committed together
        self._leased = Held()  # what a finish would otherwise read back

    def create(self, execution: Execution) -> tuple[Execution, bool]:
        """Store it; (existing, False) when the id or (principal, idempotency_key) is taken."""
        # without step records it is one insert (reads only after it): alone, its own transaction
        return self._group.run(lambda db: self._create(db, execution), single=not execution.steps)

    def _create(self, db: sqlite3.Connection, execution: Execution) -> tuple[Execution, bool]:
        e = execution
        values = (e.id, e.status.value, e.workflow_name, e.principal, e.idempotency_key, e.created_at_s,
                  e.updated_at_s, e.version, e.lease_owner, e.lease_expires_at_s, e.progress.model_dump_json(),
                  doc_of(e))
        if db.execute(_INSERT, values).rowcount == 1:  # the id and the idempotency key were free
            if e.steps:
                at = time.time()
                db.executemany(sqlite_steps.UPSERT, [(e.id, k, r.seq, at, r.model_dump_json())
                                                     for k, r in e.steps.items()])
            # The file holds its own (serialized) copy: a copy of the caller's object would add
            # nothing but a deep copy per run.
            return execution, True
        row = db.execute("SELECT id FROM executions WHERE id = ?", (e.id,)).fetchone()
        if row is None:  # the idempotency key was taken
            row = db.execute(
                "SELECT id FROM executions WHERE COALESCE(principal, '') = ? AND idempotency_key = ?"
                " AND idempotency_key IS NOT NULL", (e.principal or "", e.idempotency_key)).fetchone()
        existing = None if row is None else self._read(db, row[0])
        if existing is None:  # unreachable: only those two unique keys refuse an insert
            raise Conflict(f"execution {e.id} could not be stored", fix="retry")
        return existing, False

    def create_running(self, execution: Execution, owner: str, ttl_s: float, now_s: float) -> tuple[Execution, bool]:
        """``create`` of the execution already running under ``owner``'s lease (one commit in
        place of create + acquire_lease); (existing, False) as ``create``."""
        got = self.create(execution.model_copy(update={
            "status": ExecutionStatus.RUNNING, "lease_owner": owner, "lease_expires_at_s": now_s + ttl_s,
            "started_at_s": execution.started_at_s or now_s, "updated_at_s": now_s}))
        if got[1]:
            self._leased.keep(got[0])
        return got

    def get(self, execution_id: str) -> Execution | None:
        """The execution with all its step records, or None."""
        with self._guard() as db:
            return self._read(db, execution_id)

    def get_head(self, execution_id: str) -> Execution | None:
        """The execution without its step records, or None (one row read)."""
        with self._guard() as db:
            row = db.execute(SELECT_ONE, (execution_id,)).fetchone()
            return None if row is None else execution_of(db, row, {})[0]

    def list(self, query: ExecutionQuery) -> Page:
        """Newest first (created_at_s, then id, descending); items carry no step records.
        Errors: InvalidArgument (a bad limit, search filter or cursor)."""
        sql, args = list_sql(query)
        with self._guard() as db:
            rows = db.execute(sql, args).fetchall()
            items = [execution_of(db, row, {})[0] for row in rows[: query.limit]]
        more = len(rows) > query.limit
        return Page(
            items=items, next_cursor=encode_cursor(items[-1].created_at_s, items[-1].id) if more else None
        )

    def acquire_lease(self, execution_id: str, owner: str, ttl_s: float, now_s: float) -> Execution:
        """Take a free, expired or own lease; queued -> running. LeaseHeld, Conflict, NotFound."""
        with self._tx() as db:
            run, raw = self._live(db, execution_id)
            waits.refuse_lease(run)
            if run.lease_owner not in (None, owner) and (run.lease_expires_at_s or 0) > now_s:
                raise LeaseHeld(
                    f"execution {execution_id} is leased by another runner",
                    fix="retry after the lease expires",
                    lease_expires_at_s=run.lease_expires_at_s,
                )
            leased = self._rewrite(
                db,
                run,
                raw,
                lease_owner=owner,
                lease_expires_at_s=now_s + ttl_s,
                status=ExecutionStatus.RUNNING,
                started_at_s=run.started_at_s or now_s,
                updated_at_s=now_s,
            )
        self._leased.keep(leased)
        return leased

    def save_step(
        self, execution_id: str, owner: str, record: StepRecord, progress: Progress, lease_until_s: float
    ) -> None:
        """Checkpoint one step with its progress and renewed lease: one statement writing one row
        (the step's), committed before it returns.

        LeaseLost if the lease is not ours (nothing is written), Conflict if finished, NotFound.
        """
        values = (execution_id, record.step_id, record.seq, owner, lease_until_s, time.time(),
                  progress.model_dump_json(), record.model_dump_json())

        def write(db: sqlite3.Connection) -> None:
            if db.execute(sqlite_steps.CHECKPOINT, values).rowcount != 1:
                raise self._why_not(db, execution_id, owner)

        # committed with the checkpoints of other runs that wait meanwhile; one statement: alone,
        # it is its own transaction (no BEGIN and COMMIT around it)
        self._group.run(write, single=True)

    def finish(
        self,
        execution_id: str,
        owner: str | None,
        status: ExecutionStatus,
        *,
        result: Any = None,
        error: ErrorInfo | None = None,
        usage: Usage | None = None,
        now_s: float,
    ) -> Execution:
        """Move to a terminal status and clear the lease; returns the final execution.

        InvalidArgument for a non-terminal ``status``; Conflict if finished; LeaseLost if ``owner``
        is given and the lease is not ours.
        """
        if not status.terminal:
            raise InvalidArgument(f"{status} is not a terminal status", fix="finish with a terminal status")
        with self._tx() as db:
            run, raw = self._live(db, execution_id)
            if owner is not None and run.lease_owner != owner:
                raise LeaseLost(
                    f"execution {execution_id} is no longer leased by {owner}", fix="stop this run"
                )
            return self._finish(db, run, raw, status, result, error, usage, now_s)

    def finish_with_step(
        self,
        execution_id: str,
        owner: str,
        status: ExecutionStatus,
        record: StepRecord,
        progress: Progress,
        *,
        result: Any = None,
        error: ErrorInfo | None = None,
        usage: Usage | None = None,
        now_s: float,
    ) -> Execution:
        """Checkpoint the last step and finish, in one transaction (one commit where save_step
        and finish took two); returns the final execution without its step records (the runner
        holds them). Errors as ``finish``; nothing is written when one is raised."""
        if not status.terminal:
            raise InvalidArgument(f"{status} is not a terminal status", fix="finish with a terminal status")

        def write(db: sqlite3.Connection) -> Execution:
            line = (execution_id, record.step_id, record.seq, time.time(), record.model_dump_json())
            changes = _ended(status, result, error, usage, now_s)
            final = self._leased.finish(db, execution_id, owner, {**changes, "progress": progress})
            if final is not None:  # the row as this store wrote it, unchanged since: one statement
                self._count(db, final, status, now_s)
            else:
                if (row := db.execute(SELECT_ONE, (execution_id,)).fetchone()) is None:
                    raise NotFound(f"no execution {execution_id}", fix="check the id")
                run, raw = execution_of(db, row, {})  # the head only: the step records stay as they are
                if run.finished:
                    raise frozen_error(execution_id, run.status)
                if run.lease_owner != owner:
                    raise LeaseLost(f"execution {execution_id} is no longer leased by {owner}", fix="stop this run")
                final = self._finish(db, run, raw, status, result, error, usage, now_s, progress=progress)
            db.execute(sqlite_steps.UPSERT, line)
            return final

        # with the writes of other runs that wait meanwhile; atomic: only SQLite's errors follow a write
        return self._group.run(write, atomic=True)

    def _finish(self, db: sqlite3.Connection, run: Execution, raw: int, status: ExecutionStatus, result: Any,
                error: ErrorInfo | None, usage: Usage | None, now_s: float, **more: Any) -> Execution:
        changes = _ended(status, result, error, usage if usage is not None else run.usage, now_s)
        final = self._rewrite(db, run, raw, lease_owner=None, lease_expires_at_s=None, **changes, **more)
        self._count(db, final, status, now_s)
        return final

    @staticmethod
    def _count(db: sqlite3.Connection, final: Execution, status: ExecutionStatus, now_s: float) -> None:
        """The run in its workflow's hourly aggregate, in the finish's own commit (none of its own)."""
        took = now_s - (final.started_at_s or final.created_at_s)
        sqlite_stats.add_in(db, final.workflow_name, hour_of(now_s), counts_for(status, took, final.usage))

    def request_cancel(self, execution_id: str, now_s: float) -> Execution:
        """Flag for cancellation; a queued run is cancelled at once; a finished run is returned as is."""
        with self._tx() as db:
            got = self._read_raw(db, execution_id)
            if got is None:
                raise NotFound(f"no execution {execution_id}", fix="check the id")
            run, raw = got
            if run.finished:
                return run
            if waits.cancels_at_once(run):
                return self._rewrite(
                    db,
                    run,
                    raw,
                    cancel_requested=True,
                    status=ExecutionStatus.CANCELLED,
                    error=cancelled_error(),
                    ended_at_s=now_s,
                    updated_at_s=now_s,
                    lease_owner=None,
                    lease_expires_at_s=None,
                )
            return self._rewrite(db, run, raw, cancel_requested=True, updated_at_s=now_s)

    def park(self, execution_id: str, owner: str, wait: WaitState, progress: Progress, now_s: float) -> Execution:
        """running -> waiting (adapters.waits.parked), one transaction."""
        return self._change(execution_id, lambda run: waits.parked(run, owner, wait, progress, now_s))

    def wake(self, execution_id: str, *, event: str | None = None, number: int | None = None,
             payload: Any = None, by: str | None = None, now_s: float) -> Execution:
        """waiting -> queued (adapters.waits.woken), one transaction."""
        return self._change(execution_id, lambda run: waits.woken(run, event=event, number=number,
                                                                    payload=payload, by=by, now_s=now_s))

    def _change(self, execution_id: str, change: Any) -> Execution:
        with self._tx() as db:
            got = self._read_raw(db, execution_id)
            if got is None:
                raise NotFound(f"no execution {execution_id}", fix="check the id")
            return self._rewrite(db, got[0], got[1], **change(got[0]))

    def release_lease(self, execution_id: str, owner: str) -> None:
        """Clear the lease if ``owner`` holds it; otherwise (or if unknown) do nothing."""
        with self._tx() as db:
            row = db.execute(SELECT_ONE, (execution_id,)).fetchone()
            if row is None:
                return
            run, raw = execution_of(db, row, {})  # its checkpoints' progress is folded into the row
            if run.lease_owner == owner and not run.finished:
                self._rewrite(db, run, raw, lease_owner=None, lease_expires_at_s=None)

    def record_turn(self, execution_id: str, key: str, index: int, turn: dict[str, Any]) -> dict[str, Any]:
        """One insert-if-absent, committed (durable per ``synchronous``) before it returns."""
        data = json.dumps(turn)
        with self._guard() as db:
            self._writable()
            # one statement: SQLite's own transaction (no BEGIN and COMMIT around it)
            cur = db.execute(_INSERT_TURN, (execution_id, key, index, data, execution_id))
            if cur.rowcount == 1:
                fresh: dict[str, Any] = json.loads(data)
                return fresh
            row = db.execute(_SELECT_TURN, (execution_id, key, index)).fetchone()
        if row is None:
            raise NotFound(f"no execution {execution_id}", fix="check the id")
        out: dict[str, Any] = json.loads(row[0])
        return out

    def load_turns(self, execution_id: str, key: str) -> Turns:
        with self._guard() as db:
            rows = db.execute(_SELECT_TURNS, (execution_id, key)).fetchall()
        out: list[dict[str, Any]] = []
        for idx, data in rows:
            if idx != len(out):
                break
            out.append(json.loads(data))
        return out

    # -- helpers (called inside the lock) --

    def key_usage(self, principal: str, day: str) -> KeyUsage | None:
        return sqlite_key_usage.key_usage(self._tx, principal, day)

    def put_key_usage(self, usage: KeyUsage, expected_version: int) -> bool:
        return sqlite_key_usage.put_key_usage(self._tx, usage, expected_version)

    def add_stats(self, workflow: str, hour: int, counts: Mapping[str, float]) -> None:
        sqlite_stats.add_stats(self._tx, workflow, hour, counts)

    def paused(self) -> set[str]:
        return sqlite_stats.paused(self._tx)

    def set_paused(self, key: str, paused: bool) -> None:
        sqlite_stats.set_paused(self._tx, key, paused)

    def stats(self, since_hour: int) -> builtins.list[WorkflowHour]:
        return sqlite_stats.stats(self._tx, since_hour)

    def _read(self, db: sqlite3.Connection, execution_id: str) -> Execution | None:
        got = self._read_raw(db, execution_id)
        return None if got is None else got[0]

    def _read_raw(self, db: sqlite3.Connection, execution_id: str) -> tuple[Execution, int] | None:
        """The execution with its step records, and its row's stored version (for ``_rewrite``)."""
        row = db.execute(SELECT_ONE, (execution_id,)).fetchone()
        if row is None:
            return None
        steps = {sid: json.loads(rec) for sid, rec in db.execute(sqlite_steps.SELECT, (execution_id,))}
        return execution_of(db, row, steps)

    def _live(self, db: sqlite3.Connection, execution_id: str) -> tuple[Execution, int]:
        got = self._read_raw(db, execution_id)
        if got is None:
            raise NotFound(f"no execution {execution_id}", fix="check the id")
        if got[0].finished:
            raise frozen_error(execution_id, got[0].status)
        return got

    def _rewrite(self, db: sqlite3.Connection, run: Execution, raw: int, **changes: Any) -> Execution:
        """Store ``run`` with ``changes`` and the next version, compare-and-set on the row's
        stored version ``raw`` (``run.version`` counts the checkpoints laid over it too)."""
        new = run.model_copy(update={**changes, "version": run.version + 1})
        self._leased.drop(run.id)  # a held copy is stale now (a lease taken keeps ``new`` again)
        cur = db.execute(
            _REWRITE,
            (
                new.status.value,
                new.version,
                new.lease_owner,
                new.lease_expires_at_s,
                new.updated_at_s,
                new.progress.model_dump_json(),
                doc_of(new),
                new.id,
                raw,
            ),
        )
        if cur.rowcount != 1:  # unreachable under BEGIN IMMEDIATE; the guard makes the CAS explicit
            raise Conflict(f"execution {run.id} changed concurrently", fix="retry")
        # ``run`` was read from the file for this write and the changes are typed values: ``new``
        # shares nothing with what the store holds (no dump-and-validate copy needed)
        return new

    def _why_not(self, db: sqlite3.Connection, execution_id: str, owner: str) -> Exception:
        try:
            self._live(db, execution_id)
        except (NotFound, Conflict) as exc:
            return exc
        return LeaseLost(f"execution {execution_id} is no longer leased by {owner}", fix="stop this run")


def _ended(status: ExecutionStatus, result: Any, error: Any, usage: Usage | None, now_s: float) -> dict[str, Any]:
    """The fields a finish sets (``usage`` None: the run's own stays)."""
    out = {"status": status, "result": result, "error": error, "ended_at_s": now_s, "updated_at_s": now_s}
    if usage is not None:
        out["usage"] = usage
    return out
