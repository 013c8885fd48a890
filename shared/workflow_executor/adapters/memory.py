"""In-memory ExecutionStore and WorkflowRegistry: tests and embedded runs, nothing survives a restart.

One lock per object; records are deep-copied in and out so callers never alias stored state.
"""

from __future__ import annotations

import builtins
import copy
import json
import threading
import time
from collections.abc import Mapping
from typing import Any

from ..errors import InvalidArgument, LeaseHeld, LeaseLost, NotFound
from ..models import (
    ErrorInfo,
    Execution,
    ExecutionStatus,
    KeyUsage,
    Page,
    Progress,
    StepRecord,
    StoredWorkflow,
    Usage,
    WaitState,
)
from ..ports import ExecutionQuery, Turns, WorkflowHour
from . import waits
from .common import cancelled_error, decode_cursor, encode_cursor, frozen_error, workflow_hash
from .search import check_query, matches


class MemoryExecutionStore:
    """ExecutionStore in a dict. Same contract as the SQLite store (see ``ports.ExecutionStore``).

    ``list`` returns full records without their step records (``steps == {}``).
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._runs: dict[str, Execution] = {}  # stored without steps
        self._steps: dict[str, dict[str, StepRecord]] = {}
        self._keys: dict[tuple[str, str], str] = {}  # (principal or "", idempotency key) -> id
        self._turns: dict[tuple[str, str], dict[int, str]] = {}  # (id, step attempt key) -> index -> JSON
        self._key_usage: dict[tuple[str, str], str] = {}  # (principal, day) -> KeyUsage JSON
        self._stats: dict[tuple[str, int], dict[str, float]] = {}  # (workflow, hour) -> counter -> sum
        self._paused: set[str] = set()  # schedules and triggers an admin paused

    def create(self, execution: Execution) -> tuple[Execution, bool]:
        """Store a copy; (existing, False) when the id or (principal, idempotency_key) is taken."""
        with self._lock:
            existing = self._runs.get(execution.id)
            key = (
                (execution.principal or "", execution.idempotency_key) if execution.idempotency_key else None
            )
            if existing is None and key is not None and key in self._keys:
                existing = self._runs[self._keys[key]]
            if existing is not None:
                return self._full(existing), False
            self._runs[execution.id] = execution.model_copy(update={"steps": {}}, deep=True)
            self._steps[execution.id] = {k: v.model_copy(deep=True) for k, v in execution.steps.items()}
            if key is not None:
                self._keys[key] = execution.id
            return self._full(self._runs[execution.id]), True

    def get(self, execution_id: str) -> Execution | None:
        """The execution with all its step records, or None."""
        with self._lock:
            run = self._runs.get(execution_id)
            return None if run is None else self._full(run)

    def get_head(self, execution_id: str) -> Execution | None:
        """The execution without its step records, or None."""
        with self._lock:
            run = self._runs.get(execution_id)
            return None if run is None else run.model_copy(deep=True)

    def list(self, query: ExecutionQuery) -> Page:
        """Newest first (created_at_s, then id, descending); items carry no step records."""
        check_query(query)
        after = decode_cursor(query.cursor) if query.cursor else None
        with self._lock:
            runs = [
                r
                for r in self._runs.values()
                if (query.status is None or r.status == query.status)
                and (query.workflow_name is None or r.workflow_name == query.workflow_name)
                and (query.principal is None or r.principal == query.principal)
                and (after is None or (r.created_at_s, r.id) < after)
                and matches(r, query)
            ]
            runs.sort(key=lambda r: (r.created_at_s, r.id), reverse=True)
            items = [r.model_copy(deep=True) for r in runs[: query.limit]]
        more = len(runs) > query.limit
        cursor = encode_cursor(items[-1].created_at_s, items[-1].id) if more else None
        return Page(items=items, next_cursor=cursor)

    def acquire_lease(self, execution_id: str, owner: str, ttl_s: float, now_s: float) -> Execution:
        """Take a free, expired or own lease; queued -> running. LeaseHeld, Conflict, NotFound."""
        with self._lock:
            run = self._live(execution_id)
            waits.refuse_lease(run)
            if (
                run.lease_owner not in (None, owner)
                and run.lease_expires_at_s is not None
                and run.lease_expires_at_s > now_s
            ):
                raise LeaseHeld(
                    f"execution {execution_id} is leased by another runner",
                    fix="retry after the lease expires",
                    lease_expires_at_s=run.lease_expires_at_s,
                )
            run.lease_owner = owner
            run.lease_expires_at_s = now_s + ttl_s
            if run.status == ExecutionStatus.QUEUED:
                run.status = ExecutionStatus.RUNNING
            if run.started_at_s is None:
                run.started_at_s = now_s
            run.updated_at_s = now_s
            run.version += 1
            return self._full(run)

    def save_step(
        self, execution_id: str, owner: str, record: StepRecord, progress: Progress, lease_until_s: float
    ) -> None:
        """Checkpoint one step and renew the lease. LeaseLost if not ours, Conflict if finished."""
        with self._lock:
            run = self._live(execution_id)
            if run.lease_owner != owner or run.status != ExecutionStatus.RUNNING:
                raise LeaseLost(
                    f"execution {execution_id} is no longer leased by {owner}", fix="stop this run"
                )
            self._steps[execution_id][record.step_id] = record.model_copy(deep=True)
            run.progress = progress.model_copy(deep=True)
            run.lease_expires_at_s = lease_until_s
            run.updated_at_s = time.time()
            run.version += 1

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
        with self._lock:
            run = self._live(execution_id)
            if owner is not None and run.lease_owner != owner:
                raise LeaseLost(
                    f"execution {execution_id} is no longer leased by {owner}", fix="stop this run"
                )
            return self._finish(run, status, result, error, usage, now_s)

    def create_running(self, execution: Execution, owner: str, ttl_s: float, now_s: float) -> tuple[Execution, bool]:
        """``create`` of the execution already running under ``owner``'s lease."""
        return self.create(execution.model_copy(update={
            "status": ExecutionStatus.RUNNING, "lease_owner": owner, "lease_expires_at_s": now_s + ttl_s,
            "started_at_s": execution.started_at_s or now_s, "updated_at_s": now_s}))

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
        """Checkpoint the last step and finish, atomically. Errors as ``finish``."""
        if not status.terminal:
            raise InvalidArgument(f"{status} is not a terminal status", fix="finish with a terminal status")
        with self._lock:
            run = self._live(execution_id)
            if run.lease_owner != owner:
                raise LeaseLost(f"execution {execution_id} is no longer leased by {owner}", fix="stop this run")
            self._steps[execution_id][record.step_id] = record.model_copy(deep=True)
            run.progress = progress.model_copy(deep=True)
            return self._finish(run, status, result, error, usage, now_s)

    def _finish(self, run: Execution, status: ExecutionStatus, result: Any, error: ErrorInfo | None,
                usage: Usage | None, now_s: float) -> Execution:
        run.status = status
        run.result = copy.deepcopy(result)
        run.error = error
        if usage is not None:
            run.usage = usage.model_copy()
        run.ended_at_s = run.updated_at_s = now_s
        run.lease_owner = run.lease_expires_at_s = None
        run.version += 1
        return self._full(run)

    def request_cancel(self, execution_id: str, now_s: float) -> Execution:
        """Flag for cancellation; a queued run is cancelled at once; a finished run is returned as is."""
        with self._lock:
            run = self._runs.get(execution_id)
            if run is None:
                raise NotFound(f"no execution {execution_id}", fix="check the id")
            if run.finished:
                return self._full(run)
            run.cancel_requested = True
            if waits.cancels_at_once(run):
                run.status = ExecutionStatus.CANCELLED
                run.error = cancelled_error()
                run.ended_at_s = now_s
                run.lease_owner = run.lease_expires_at_s = None
            run.updated_at_s = now_s
            run.version += 1
            return self._full(run)

    def park(self, execution_id: str, owner: str, wait: WaitState, progress: Progress, now_s: float) -> Execution:
        """running -> waiting (adapters.waits.parked)."""
        with self._lock:
            return self._apply(execution_id, lambda run: waits.parked(run, owner, wait, progress, now_s))

    def wake(self, execution_id: str, *, event: str | None = None, number: int | None = None,
             payload: Any = None, by: str | None = None, now_s: float) -> Execution:
        """waiting -> queued (adapters.waits.woken)."""
        with self._lock:
            return self._apply(execution_id, lambda run: waits.woken(
                run, event=event, number=number, payload=payload, by=by, now_s=now_s))

    def _apply(self, execution_id: str, change: Any) -> Execution:
        run = self._runs.get(execution_id)
        if run is None:
            raise NotFound(f"no execution {execution_id}", fix="check the id")
        for key, value in change(run).items():
            setattr(run, key, copy.deepcopy(value))
        run.version += 1
        return self._full(run)

    def release_lease(self, execution_id: str, owner: str) -> None:
        """Clear the lease if ``owner`` holds it; otherwise (or if unknown) do nothing."""
        with self._lock:
            run = self._runs.get(execution_id)
            if run is not None and run.lease_owner == owner and not run.finished:
                run.lease_owner = run.lease_expires_at_s = None
                run.version += 1

    def record_turn(self, execution_id: str, key: str, index: int, turn: dict[str, Any]) -> dict[str, Any]:
        """Keep turn ``index`` of ``key`` unless one is there; returns the stored one (a copy)."""
        data = json.dumps(turn)  # JSON in, JSON out: what the durable stores do
        with self._lock:
            if execution_id not in self._runs:
                raise NotFound(f"no execution {execution_id}", fix="check the id")
            turns = self._turns.setdefault((execution_id, key), {})
            stored = turns.setdefault(index, data)
        out: dict[str, Any] = json.loads(stored)
        return out

    def load_turns(self, execution_id: str, key: str) -> Turns:
        with self._lock:
            turns = dict(self._turns.get((execution_id, key), {}))
        out: list[dict[str, Any]] = []
        while len(out) in turns:
            out.append(json.loads(turns[len(out)]))
        return out

    def key_usage(self, principal: str, day: str) -> KeyUsage | None:
        with self._lock:
            data = self._key_usage.get((principal, day))
        return None if data is None else KeyUsage.model_validate_json(data)

    def put_key_usage(self, usage: KeyUsage, expected_version: int) -> bool:
        """Compare-and-set on the version (see ``ports.ExecutionStore.put_key_usage``)."""
        where = (usage.principal, usage.day)
        with self._lock:
            data = self._key_usage.get(where)
            stored = 0 if data is None else KeyUsage.model_validate_json(data).version
            if stored != expected_version:
                return False
            self._key_usage[where] = usage.model_copy(update={"version": expected_version + 1}).model_dump_json()
            return True

    def add_stats(self, workflow: str, hour: int, counts: Mapping[str, float]) -> None:
        with self._lock:
            row = self._stats.setdefault((workflow, hour), {})
            for name, v in counts.items():
                row[name] = row.get(name, 0.0) + float(v)

    def paused(self) -> set[str]:
        with self._lock:
            return set(self._paused)

    def set_paused(self, key: str, paused: bool) -> None:
        with self._lock:
            (self._paused.add if paused else self._paused.discard)(key)

    def stats(self, since_hour: int) -> builtins.list[WorkflowHour]:
        with self._lock:
            return [WorkflowHour(w, h, dict(c)) for (w, h), c in self._stats.items() if h >= since_hour]

    def _live(self, execution_id: str) -> Execution:
        run = self._runs.get(execution_id)
        if run is None:
            raise NotFound(f"no execution {execution_id}", fix="check the id")
        if run.finished:
            raise frozen_error(execution_id, run.status)
        return run

    def _full(self, run: Execution) -> Execution:
        steps = {k: v.model_copy(deep=True) for k, v in self._steps[run.id].items()}
        return run.model_copy(update={"steps": steps}, deep=True)


class MemoryWorkflowRegistry:
    """WorkflowRegistry in a dict: one version per distinct content hash of a name, and which
    of them the name means."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._versions: dict[str, list[StoredWorkflow]] = {}
        self._latest: dict[str, str] = {}

    def put(
        self,
        name: str,
        document: dict[str, Any],
        *,
        source: str | None = None,
        description: str | None = None,
        latest: bool = True,
        source_text: str | None = None,
    ) -> StoredWorkflow:
        """Store a new version, or return the existing one with the same content hash; with
        ``latest`` it becomes the version ``name`` means."""
        digest = workflow_hash(document)
        with self._lock:
            versions = self._versions.setdefault(name, [])
            found = next((v for v in versions if v.hash == digest), None)
            if found is None:
                found = StoredWorkflow(name=name, version=len(versions) + 1, hash=digest,
                                       document=json.loads(json.dumps(document)), source=source,
                                       source_text=source_text, description=description, created_at_s=time.time())
                versions.append(found)
            if latest:
                self._latest[name] = digest
            return found.model_copy(deep=True)

    def get(self, name: str, workflow_hash: str | None = None) -> StoredWorkflow | None:
        """The latest version of ``name``, or the one with ``workflow_hash``; None if absent."""
        with self._lock:
            want = workflow_hash if workflow_hash is not None else self._latest.get(name)
            found = next((v for v in self._versions.get(name, []) if v.hash == want), None)
            return found.model_copy(deep=True) if found else None

    def list(self) -> list[StoredWorkflow]:
        """The latest version of each name, sorted by name."""
        with self._lock:
            return [next(v for v in self._versions[n] if v.hash == self._latest[n]).model_copy(deep=True)
                    for n in sorted(self._latest)]
