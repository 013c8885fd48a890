"""FoldingStore, over every store that offers it: a run created already running under its
runner's lease (one write for create + acquire_lease), and the last step's checkpoint folded
into the finish (one transaction: both or neither). With synchronous=FULL a folded finish
survives SIGKILL of its writer; a sync run of n steps costs n + 1 commits in SQLite."""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import sys
import textwrap
import uuid
from pathlib import Path
from typing import Any

import pytest
from workflow_executor.adapters.firestore_store import FirestoreExecutionStore
from workflow_executor.adapters.memory import MemoryExecutionStore
from workflow_executor.adapters.sqlite import SqliteExecutionStore
from workflow_executor.api import Executor
from workflow_executor.errors import Conflict, LeaseLost
from workflow_executor.models import Execution, ExecutionStatus, Progress, StepRecord, StepStatus
from workflow_executor.ports import FoldingStore

from emulators import session as emulators
from tests.contract.sqlite_commits import commits

T0 = 1000.0
# The stores that fold (Firestore: the lease rides in the create, the last step in the finish).
FOLDING = {"memory": lambda tmp: MemoryExecutionStore(), "sqlite": lambda tmp: SqliteExecutionStore(tmp / "wfx.db"),
           "firestore": lambda tmp: FirestoreExecutionStore(emulators.firestore_client(), owns_client=True)}


def new_execution(**fields: Any) -> Execution:
    return Execution(**{"id": uuid.uuid4().hex, "workflow_name": "wf", "workflow_hash": "h1", "input": {"q": 1},
                        "created_at_s": T0, "updated_at_s": T0, **fields})


@pytest.fixture(params=list(FOLDING))
def folding(request: pytest.FixtureRequest, tmp_path: Path) -> Any:
    store = FOLDING[request.param](tmp_path)
    assert isinstance(store, FoldingStore)
    yield store
    close = getattr(store, "close", None)
    if close is not None:
        close()


def rec(step_id: str, output: Any = "out") -> StepRecord:
    return StepRecord(step_id=step_id, status=StepStatus.COMPLETED, attempts=1, seq=1, output=output)


def test_create_running_stores_the_run_leased_and_running(folding: Any) -> None:
    run, created = folding.create_running(new_execution(), "w1", 30.0, T0)
    stored = folding.get(run.id)
    assert created and stored is not None
    assert (stored.status, stored.lease_owner, stored.lease_expires_at_s, stored.started_at_s) == (
        ExecutionStatus.RUNNING, "w1", T0 + 30.0, T0)
    folding.save_step(run.id, "w1", rec("a"), Progress(completed=1, total=2), T0 + 60)  # the lease is usable


def test_create_running_with_a_taken_idempotency_key_returns_the_first_untouched(folding: Any) -> None:
    first, _ = folding.create(new_execution(idempotency_key="k", principal="p"))
    again, created = folding.create_running(new_execution(idempotency_key="k", principal="p"), "w2", 30.0, T0)
    assert not created and again.id == first.id
    stored = folding.get(first.id)
    assert stored is not None and (stored.status, stored.lease_owner) == (ExecutionStatus.QUEUED, None)


def test_finish_with_step_stores_the_step_and_the_end_together(folding: Any) -> None:
    run, _ = folding.create_running(new_execution(), "w1", 30.0, T0)
    folding.save_step(run.id, "w1", rec("a", 1), Progress(completed=1, total=2), T0 + 30)
    done = folding.finish_with_step(run.id, "w1", ExecutionStatus.COMPLETED, rec("b", {"x": [2]}),
                                    Progress(completed=2, total=2), result={"x": [2]}, now_s=T0 + 1)
    stored = folding.get(run.id)
    assert stored is not None
    for ex in (done, stored):
        assert (ex.status, ex.lease_owner, ex.result, ex.ended_at_s) == (ExecutionStatus.COMPLETED, None,
                                                                          {"x": [2]}, T0 + 1)
        assert ex.progress.completed == 2
    assert list(stored.steps) == ["a", "b"] and stored.steps["b"].output == {"x": [2]}


def test_finish_with_step_without_the_lease_writes_nothing(folding: Any) -> None:
    run, _ = folding.create_running(new_execution(), "w1", 30.0, T0)
    with pytest.raises(LeaseLost):
        folding.finish_with_step(run.id, "intruder", ExecutionStatus.COMPLETED, rec("a"),
                                 Progress(completed=1, total=1), now_s=T0 + 1)
    stored = folding.get(run.id)
    assert stored is not None and stored.status == ExecutionStatus.RUNNING and stored.steps == {}
    folding.finish(run.id, None, ExecutionStatus.CANCELLED, now_s=T0 + 2)
    with pytest.raises(Conflict):
        folding.finish_with_step(run.id, "w1", ExecutionStatus.COMPLETED, rec("a"),
                                 Progress(completed=1, total=1), now_s=T0 + 3)
    after = folding.get(run.id)
    assert after is not None and after.status == ExecutionStatus.CANCELLED and after.steps == {}



def test_a_finish_after_the_run_changed_under_its_runner_keeps_the_change(folding: Any) -> None:
    run, _ = folding.create_running(new_execution(), "w1", 30.0, T0)
    folding.save_step(run.id, "w1", rec("a", 1), Progress(completed=1, total=2), T0 + 30)
    folding.request_cancel(run.id, T0 + 0.5)  # a write to the run's row after the runner got it
    done = folding.finish_with_step(run.id, "w1", ExecutionStatus.COMPLETED, rec("b", 2),
                                    Progress(completed=2, total=2), result=2, now_s=T0 + 1)
    stored = folding.get(run.id)
    assert stored is not None
    for ex in (done, stored):
        assert (ex.status, ex.cancel_requested, ex.result) == (ExecutionStatus.COMPLETED, True, 2)
    assert done.version == stored.version


def test_a_finish_of_an_unchanged_run_gives_the_version_a_read_gives(folding: Any) -> None:
    run, _ = folding.create_running(new_execution(), "w1", 30.0, T0)
    for i, sid in enumerate(("a", "b", "c")):
        folding.save_step(run.id, "w1", rec(sid, i), Progress(completed=i + 1, total=4), T0 + 30)
    before = folding.get(run.id)
    done = folding.finish_with_step(run.id, "w1", ExecutionStatus.COMPLETED, rec("d", 3),
                                    Progress(completed=4, total=4), result=3, now_s=T0 + 1)
    stored = folding.get(run.id)
    assert before is not None and stored is not None
    assert done.version == stored.version == before.version + 1
    assert (stored.input, stored.started_at_s, stored.progress.completed) == ({"q": 1}, T0, 4)


CHILD = textwrap.dedent(
    """
    import os, signal, sys
    from workflow_executor.adapters.sqlite import SqliteExecutionStore
    from workflow_executor.models import Execution, ExecutionStatus, Progress, StepRecord, StepStatus

    store = SqliteExecutionStore(sys.argv[1], synchronous="FULL")
    run = Execution(id="run-1", workflow_name="wf", workflow_hash="h", created_at_s=1.0, updated_at_s=1.0)
    store.create_running(run, "child", 30.0, 1.0)
    store.save_step("run-1", "child", StepRecord(step_id="s0", status=StepStatus.COMPLETED, output=0),
                    Progress(completed=1, total=2), 31.0)
    store.finish_with_step("run-1", "child", ExecutionStatus.COMPLETED,
                           StepRecord(step_id="s1", status=StepStatus.COMPLETED, output=1),
                           Progress(completed=2, total=2), result=1, now_s=2.0)
    os.kill(os.getpid(), signal.SIGKILL)  # no close, no checkpoint, no atexit
    """
)


def test_a_folded_finish_survives_sigkill_of_its_writer(tmp_path: Path) -> None:
    path = tmp_path / "durable.db"
    child = subprocess.run([sys.executable, "-c", CHILD, str(path)], capture_output=True, timeout=60)
    assert child.returncode == -signal.SIGKILL, child.stderr.decode()
    store = SqliteExecutionStore(path, synchronous="FULL")
    try:
        run = store.get("run-1")
        assert run is not None
        assert (run.status, run.result, list(run.steps), run.lease_owner) == (
            ExecutionStatus.COMPLETED, 1, ["s0", "s1"], None)
    finally:
        store.close()


def test_a_sync_run_of_n_steps_commits_n_plus_one_times(tmp_path: Path) -> None:
    wfx = Executor.local(home=tmp_path / "home")
    try:
        wfx.register({"workflows": {"ten": {"steps": [
            {"id": f"s{i}", "function": "builtins.echo", "args": {"value": i}} for i in range(10)]}}})
        wfx.run("ten")  # warm: the document is parsed and cached
        store = getattr(wfx.store, "inner", wfx.store)  # under the run observer (observe.py)
        assert isinstance(store, SqliteExecutionStore)
        statements: list[str] = []
        db: sqlite3.Connection = store._db
        db.set_trace_callback(statements.append)
        ex = wfx.run("ten")
        db.set_trace_callback(None)
        assert ex.status == ExecutionStatus.COMPLETED and len(ex.steps) == 10
        # the floor is one commit per step; the run's own record adds one (create and lease together,
        # the last step with the finish); a checkpoint alone is one statement, its own transaction
        assert commits(statements) == 11, statements
    finally:
        wfx.close()
