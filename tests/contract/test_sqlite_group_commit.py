"""SQLite group commit: writes that queue while the connection is busy go out in one transaction,
each caller returns only once its own write is committed, and one write's error undoes only it."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest
from workflow_executor.adapters import sqlite_group
from workflow_executor.adapters.sqlite import SqliteExecutionStore
from workflow_executor.errors import WfxError
from workflow_executor.models import Execution, ExecutionStatus, Progress, StepRecord, StepStatus

from tests.contract.sqlite_commits import commits
from tests.support import eventually

WRITERS = 8


def _runs(store: SqliteExecutionStore, n: int) -> list[str]:
    ids = []
    for i in range(n):
        run = Execution(id=f"run-{i}", workflow_name="wf", workflow_hash="h", created_at_s=1.0, updated_at_s=1.0)
        store.create(run)
        store.acquire_lease(run.id, "w", 30.0, 1.0)
        ids.append(run.id)
    return ids


def _queued_while_busy(store: SqliteExecutionStore, writes: list[Any]) -> tuple[list[Any], list[str]]:
    """Hold the connection, let every write queue behind it, then release it: returns each write's
    outcome (None or the error code) and the statements the connection ran meanwhile."""
    outcomes: list[Any] = [None] * len(writes)
    done: list[bool] = [False] * len(writes)

    def call(i: int) -> None:
        try:
            outcomes[i] = writes[i]()
        except WfxError as exc:
            outcomes[i] = exc.code
        done[i] = True

    statements: list[str] = []
    threads = [threading.Thread(target=call, args=(i,)) for i in range(len(writes))]
    with store._lock:  # white-box: the connection is busy, as with another run's commit in flight
        for t in threads:
            t.start()
        eventually(lambda: len(store._group._queue) == len(writes), what="every write queued")
        assert not any(done)  # nobody returns before its write is committed
        store._db.set_trace_callback(statements.append)
    for t in threads:
        t.join(30)
    store._db.set_trace_callback(None)
    assert all(done)
    return outcomes, statements


def test_checkpoints_queued_behind_a_busy_connection_are_committed_together(tmp_path: Path) -> None:
    store = SqliteExecutionStore(tmp_path / "g.db", synchronous="FULL")
    try:
        ids = _runs(store, WRITERS)
        record = StepRecord(step_id="a", status=StepStatus.COMPLETED, seq=1, output={"n": 1})
        writes = [lambda r=r: store.save_step(r, "w", record, Progress(completed=1, total=2), 60.0) for r in ids]
        outcomes, statements = _queued_while_busy(store, writes)
        assert outcomes == [None] * WRITERS
        assert commits(statements) == 1  # one transaction (one fsync) for all of them
        for run_id in ids:
            stored = store.get(run_id)
            assert stored is not None
            assert (list(stored.steps), stored.progress.completed) == (["a"], 1)
    finally:
        store.close()


def test_one_write_that_fails_in_a_group_undoes_only_itself(tmp_path: Path) -> None:
    store = SqliteExecutionStore(tmp_path / "g.db")
    try:
        ids = _runs(store, 3)
        record = StepRecord(step_id="a", status=StepStatus.COMPLETED, seq=1)
        writes: list[Any] = [
            lambda: store.save_step(ids[0], "w", record, Progress(completed=1), 60.0),
            lambda: store.save_step(ids[1], "intruder", record, Progress(completed=1), 60.0),  # not its lease
            lambda: store.finish_with_step(ids[2], "w", ExecutionStatus.COMPLETED, record,
                                           Progress(completed=1, total=1), result="ok", now_s=2.0).status,
            lambda: store.finish_with_step(ids[1], "intruder", ExecutionStatus.COMPLETED, record,
                                           Progress(completed=1, total=1), now_s=2.0),
        ]
        outcomes, statements = _queued_while_busy(store, writes)
        assert outcomes == [None, "lease_lost", ExecutionStatus.COMPLETED, "lease_lost"]
        assert commits(statements) == 1
        first, refused, finished = (store.get(i) for i in ids)
        assert first is not None and list(first.steps) == ["a"]
        assert refused is not None and (refused.steps, refused.status) == ({}, ExecutionStatus.RUNNING)
        assert finished is not None and (finished.status, finished.result, list(finished.steps)) == (
            ExecutionStatus.COMPLETED, "ok", ["a"])
    finally:
        store.close()


@pytest.mark.parametrize("rounds", [1, 4])
def test_a_write_queued_during_a_commit_goes_out_in_the_next_batch_whoever_leads_it(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, rounds: int) -> None:
    monkeypatch.setattr(sqlite_group, "LEAD_ROUNDS", rounds)  # 1: the lead passes to the queued caller
    store = SqliteExecutionStore(tmp_path / "g.db")
    try:
        ids = _runs(store, 2)
        record = StepRecord(step_id="a", status=StepStatus.COMPLETED, seq=1)
        late: list[threading.Thread] = []
        returned: list[str] = []
        statements: list[str] = []

        def write(run_id: str) -> None:
            store.save_step(run_id, "w", record, Progress(completed=1), 60.0)
            returned.append(run_id)

        def trace(sql: str) -> None:
            statements.append(sql)
            if commits(statements) and not late:  # the first batch commits: a second write queues now
                late.append(threading.Thread(target=write, args=(ids[1],)))
                late[0].start()
                eventually(lambda: len(store._group._queue) == 1, what="the second write queued")

        store._db.set_trace_callback(trace)
        write(ids[0])
        late[0].join(30)
        store._db.set_trace_callback(None)
        assert sorted(returned) == sorted(ids) and commits(statements) == 2
        for run_id in ids:
            stored = store.get(run_id)
            assert stored is not None and list(stored.steps) == ["a"]
    finally:
        store.close()
