"""What the contract suite cannot see of the Firestore store: its write count, and the lease
guarantee across processes (two stores on two clients stand for two processes)."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from support import eventually
from workflow_executor.adapters.firestore_codec import read_slot
from workflow_executor.adapters.firestore_store import FirestoreExecutionStore
from workflow_executor.api import Executor
from workflow_executor.errors import WfxError
from workflow_executor.models import ErrorInfo, Execution, ExecutionStatus, Progress, StepRecord, StepStatus
from workflow_executor.ports import ExecutionQuery
from workflow_executor.services import Services

from emulators import session as emulators

T0, TTL = 1000.0, 30.0
THREE_STEPS = """
workflows:
  three:
    steps:
      - {id: a, function: builtins.echo, args: {value: 1}}
      - {id: b, function: builtins.echo, args: {value: 2}}
      - {id: c, function: builtins.echo, args: {value: 3}}
"""


@pytest.fixture
def two_stores(firestore_host: str) -> Iterator[tuple[FirestoreExecutionStore, FirestoreExecutionStore]]:
    a = FirestoreExecutionStore(emulators.firestore_client(), owns_client=True)
    b = FirestoreExecutionStore(emulators.firestore_client(), owns_client=True)
    yield a, b
    a.close()
    b.close()


def fresh(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def new_run(store: FirestoreExecutionStore, **fields: Any) -> Execution:
    ex = Execution(**{"id": fresh("ex"), "workflow_name": "wf", "workflow_hash": "h", "created_at_s": T0,
                      "updated_at_s": T0, **fields})
    return store.create(ex)[0]


def step(step_id: str) -> StepRecord:
    return StepRecord(step_id=step_id, status=StepStatus.COMPLETED, output=step_id)


def code_of(fn: Any) -> str:
    with pytest.raises(WfxError) as info:
        fn()
    return info.value.code


def slot_docs(store: FirestoreExecutionStore, execution_id: str) -> list[dict[str, Any]]:
    ref = store._ref(execution_id)  # the raw documents, bypassing the fold
    return [read_slot(d.to_dict()) for d in ref.collection("steps").stream()]


@contextmanager
def document_writes(store: FirestoreExecutionStore) -> Iterator[list[str]]:
    """The name of each document written through ``store``'s client meanwhile, as the commit
    requests that reach the emulator carry them (the real call goes through)."""
    api, names = store._client._firestore_api, []
    real = api.commit

    def commit(*args: Any, request: Any, **kwargs: Any) -> Any:
        for w in request["writes"]:
            pb = type(w).pb(w)
            kind = pb.WhichOneof("operation")
            names.append({"update": pb.update.name, "delete": pb.delete}.get(kind, pb.transform.document))
        return real(*args, request=request, **kwargs)

    api.commit = commit
    try:
        yield names
    finally:
        del api.commit


def writes_of(names: list[str], execution_id: str) -> list[str]:
    """The writes of one execution's documents (itself, its slots), in the order sent."""
    mine = f"/executions/{execution_id}"
    return [n.split(mine, 1)[1] or "/" for n in names if mine + "/" in n + "/"]


def test_an_async_run_writes_one_document_per_step_plus_two(services: Services):
    executor = Executor(services)
    executor.register(THREE_STEPS)
    store = getattr(services.store, "inner", services.store)  # under the run observer (observe.py)
    assert isinstance(store, FirestoreExecutionStore)
    with document_writes(store) as names:
        queued = executor.start("three", {"q": 1}, dispatch=False)  # stored queued, as the MCP function does
        done = executor.engine.run(queued.id)  # what the worker does: lease, steps, finish
    assert done.status == ExecutionStatus.COMPLETED
    # create, lease, the slots of a and b; c is written with the finish
    assert writes_of(names, done.id) == ["/", "/", "/steps/00000001", "/steps/00000002", "/"]
    assert store.write_count(done.id) == 3 + 2
    stored = store.get(done.id)
    assert stored is not None and [(k, r.output) for k, r in stored.steps.items()] == [("a", 1), ("b", 2), ("c", 3)]
    assert stored.progress.completed == 3 and stored.result == 3


def test_a_sync_run_writes_one_document_per_step_plus_one(services: Services):
    executor = Executor(services)
    executor.register(THREE_STEPS)
    store = getattr(services.store, "inner", services.store)
    assert isinstance(store, FirestoreExecutionStore)
    with document_writes(store) as names:
        done = executor.run("three", {"q": 1})  # created already running under its runner's lease
        keyed = executor.run("three", {"q": 2}, idempotency_key=fresh("k"))
    assert done.status == keyed.status == ExecutionStatus.COMPLETED
    assert writes_of(names, done.id) == ["/", "/steps/00000001", "/steps/00000002", "/"]
    assert store.write_count(done.id) == 3 + 1
    assert store.write_count(keyed.id) == 3 + 1 + 1  # the idempotency key is its own document
    assert sum("/idempotency/" in n for n in names) == 1
    assert [r.output for r in store.get(keyed.id).steps.values()] == [1, 2, 3]  # type: ignore[union-attr]


def test_a_last_step_too_large_for_the_document_gets_its_own_slot_in_the_finish(two_stores):
    mine, _ = two_stores
    run = new_run(mine)
    mine.acquire_lease(run.id, "w1", TTL, T0)
    mine.save_step(run.id, "w1", step("a"), Progress(completed=1, total=2), T0 + TTL)
    big = StepRecord(step_id="b", status=StepStatus.COMPLETED, output="x" * 500_000)
    with document_writes(mine) as names:
        mine.finish_with_step(run.id, "w1", ExecutionStatus.COMPLETED, big, Progress(completed=2, total=2),
                              result="x" * 400_000, now_s=T0 + 5)
    assert writes_of(names, run.id) == ["/", "/steps/00000002"]  # one commit of both
    stored = mine.get(run.id)
    assert stored is not None and list(stored.steps) == ["a", "b"] and stored.steps["b"].output == "x" * 500_000


def test_a_checkpoint_after_a_takeover_in_another_process_raises_lease_lost_and_writes_nothing(two_stores):
    mine, theirs = two_stores
    run = new_run(mine)
    mine.acquire_lease(run.id, "w1", TTL, T0)
    mine.save_step(run.id, "w1", step("a"), Progress(completed=1, total=3), T0 + TTL)
    taken = theirs.acquire_lease(run.id, "w2", TTL, T0 + TTL + 1)
    assert (taken.lease_owner, list(taken.steps)) == ("w2", ["a"])
    assert code_of(lambda: mine.save_step(run.id, "w1", step("b"), Progress(completed=2), T0 + 99)) == "lease_lost"
    assert [d["step_id"] for d in slot_docs(mine, run.id) if d["kind"] == "step"] == ["a"]
    theirs.save_step(run.id, "w2", step("b"), Progress(completed=2, total=3), T0 + 99)
    final = theirs.finish(run.id, "w2", ExecutionStatus.COMPLETED, now_s=T0 + 50)
    assert list(final.steps) == ["a", "b"]


def race_checkpoint_and_takeover(mine: FirestoreExecutionStore, theirs: FirestoreExecutionStore,
                                 run_id: str) -> dict[str, Any]:
    """w1 checkpoints (renewing its lease far ahead) while w2 takes over the expired lease."""
    barrier, results = threading.Barrier(2), {}

    def save() -> None:
        barrier.wait(5)
        try:
            mine.save_step(run_id, "w1", step("a"), Progress(completed=1), T0 + 10 * TTL)
            results["save"] = "ok"
        except WfxError as exc:
            results["save"] = exc.code

    def take() -> None:
        barrier.wait(5)
        try:
            results["take"] = theirs.acquire_lease(run_id, "w2", TTL, T0 + TTL + 1)
        except WfxError as exc:
            results["take"] = exc.code

    threads = [threading.Thread(target=save), threading.Thread(target=take)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    return results


def test_a_checkpoint_racing_a_takeover_lands_before_it_or_is_fenced_off(two_stores):
    mine, theirs = two_stores
    for _ in range(6):
        run = new_run(mine)
        mine.acquire_lease(run.id, "w1", TTL, T0)
        results = race_checkpoint_and_takeover(mine, theirs, run.id)
        if results["save"] == "ok":  # it renewed the lease first: the takeover must see that
            assert results["take"] == "lease_held"
        else:
            assert results["save"] == "lease_lost"
            assert isinstance(results["take"], Execution) and results["take"].steps == {}
            assert not [d for d in slot_docs(mine, run.id) if d["kind"] == "step"]


def test_a_finish_by_another_process_fences_the_runner_off(two_stores):
    mine, theirs = two_stores
    run = new_run(mine)
    mine.acquire_lease(run.id, "w1", TTL, T0)
    done = theirs.finish(run.id, None, ExecutionStatus.TIMEOUT, now_s=T0 + 5)
    assert code_of(lambda: mine.save_step(run.id, "w1", step("a"), Progress(), T0 + 60)) == "conflict"
    assert mine.get(run.id) == done


def test_a_finished_execution_reads_the_same_even_if_a_slot_appears_later(two_stores):
    mine, _ = two_stores
    run = new_run(mine)
    mine.acquire_lease(run.id, "w1", TTL, T0)
    mine.save_step(run.id, "w1", step("a"), Progress(completed=1), T0 + 60)
    done = mine.finish(run.id, "w1", ExecutionStatus.COMPLETED, now_s=T0 + 2)
    rogue = mine._slot("step", 9, "w1", T0, record=step("late"), progress=Progress(completed=9),
                       lease_until_s=T0 + 99)
    mine._ref(run.id).collection("steps").document("00000009").create(rogue)
    assert mine.get(run.id) == done


def test_ids_with_slashes_and_reserved_names_are_stored_and_listed(two_stores):
    mine, _ = two_stores
    name = fresh("wf")
    ids = [f"{fresh('odd')}/x.y", "__" + fresh("r") + "__"]
    for i in ids:
        new_run(mine, id=i, workflow_name=name)
    assert {mine.get(i).id for i in ids} == set(ids)  # type: ignore[union-attr]
    assert {e.id for e in mine.list(ExecutionQuery(workflow_name=name)).items} == set(ids)


def test_a_running_execution_lists_with_its_latest_checkpoint(two_stores):
    mine, theirs = two_stores
    name = fresh("wf")
    run = new_run(mine, workflow_name=name)
    mine.acquire_lease(run.id, "w1", TTL, T0)
    mine.save_step(run.id, "w1", step("a"), Progress(completed=1, total=2, current=["b"]), T0 + 77)
    [item] = theirs.list(ExecutionQuery(workflow_name=name)).items
    assert (item.progress.completed, item.lease_expires_at_s) == (1, T0 + 77)


def test_a_read_falls_back_to_the_public_get_when_the_clients_internals_are_not_there() -> None:
    """firestore_client.read uses the client's internals for a unary read; a library whose internals
    moved must still read (through ``get``), not fail every store call."""
    from workflow_executor.adapters.firestore_client import read

    class Ref:  # a document reference of a future client library: only the public API
        def get(self, **rpc: Any) -> tuple[str, dict[str, Any]]:
            return "snapshot", rpc

    assert read(Ref(), {"timeout": 5.0}) == ("snapshot", {"timeout": 5.0})


def test_runs_stored_before_the_search_fields_get_them_from_the_sweepers_backfill_and_are_found() -> None:
    """Runs written by a version without ``id_head`` / ``error_words`` are not found by an id prefix
    or error search; the backfill fills them a page at a time, then says it is done."""
    from google.cloud import firestore as fs

    store = FirestoreExecutionStore(emulators.firestore_client(), owns_client=True,
                                    collection=f"ex_{uuid.uuid4().hex[:8]}")
    try:
        ids = []
        for i in range(5):
            ex, _ = store.create(Execution(id=f"old{i}-{uuid.uuid4().hex[:6]}", workflow_name="w", workflow_hash="h",
                                           status=ExecutionStatus.QUEUED, created_at_s=1000.0 + i,
                                           updated_at_s=1000.0 + i))
            store.finish(ex.id, None, ExecutionStatus.FAILED, now_s=1010.0 + i,
                         error=ErrorInfo(code="step_failed", message=f"disk quota exceeded on node {i}"))
            store._col.document(ex.id).update({"id_head": fs.DELETE_FIELD, "error_words": fs.DELETE_FIELD})
            ids.append(ex.id)
        assert store.list(ExecutionQuery(error_text="quota")).items == []  # an older version's runs

        filled = [store.backfill_search(2) for _ in range(4)]

        assert filled == [2, 2, 1, None]
        assert {e.id for e in store.list(ExecutionQuery(error_text="QUOTA node", limit=10)).items} == set(ids)
        assert [e.id for e in store.list(ExecutionQuery(id_prefix=ids[3][:8])).items] == [ids[3]]
    finally:
        store.close()


def test_a_sweep_fills_the_search_fields_of_older_runs(services: Services) -> None:
    from google.cloud import firestore as fs
    from workflow_executor.sweeper import sweep

    store = getattr(services.store, "inner", services.store)
    tag = uuid.uuid4().hex[:10]
    ex, _ = store.create(Execution(id=f"older-{tag}", workflow_name="w", workflow_hash="h",
                                   status=ExecutionStatus.QUEUED, created_at_s=1000.0, updated_at_s=1000.0))
    store.finish(ex.id, None, ExecutionStatus.FAILED, now_s=1001.0,
                 error=ErrorInfo(code="step_failed", message=f"the ledger refused it ({tag})"))
    store._col.document(ex.id).update({"id_head": fs.DELETE_FIELD, "error_words": fs.DELETE_FIELD})
    assert store.list(ExecutionQuery(error_text=tag)).items == []
    # as after an upgrade: no backfill done yet (this emulator's collection is shared by other tests,
    # so the sweeps walk their runs too, a page each)
    store._client.collection("wfx_meta").document("search_backfill.executions").delete()

    def found() -> bool:
        sweep(services)
        return [e.id for e in services.store.list(ExecutionQuery(error_text=f"ledger {tag}")).items] == [ex.id]

    eventually(found, timeout=60, interval=0.0, what="a sweep to fill the older run's search fields")
