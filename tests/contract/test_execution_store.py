"""ExecutionStore contract, run over every adapter in ``conftest.STORE_FACTORIES``."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from workflow_executor.adapters.sqlite import SqliteExecutionStore
from workflow_executor.errors import WfxError
from workflow_executor.models import (
    ErrorInfo,
    Execution,
    ExecutionStatus,
    Progress,
    StepRecord,
    StepStatus,
    Usage,
)
from workflow_executor.ports import ExecutionQuery, ExecutionStore

MakeExecution = Callable[..., Execution]
T0 = 1000.0
TTL = 30.0


def step(step_id: str = "a", output: Any = "out", seq: int = 1) -> StepRecord:
    return StepRecord(step_id=step_id, status=StepStatus.COMPLETED, attempts=1, seq=seq, output=output)


def code_of(fn: Callable[[], object]) -> str:
    with pytest.raises(WfxError) as info:
        fn()
    return info.value.code


def running(store: ExecutionStore, make_execution: MakeExecution, owner: str = "w1", **fields: Any) -> str:
    run, _ = store.create(make_execution(**fields))
    store.acquire_lease(run.id, owner, TTL, T0)
    return run.id


def race(n: int, fn: Callable[[int], object]) -> list[object]:
    """Run ``fn(i)`` on ``n`` threads released together; returns results or the raised errors."""
    barrier = threading.Barrier(n)

    def call(i: int) -> object:
        barrier.wait(timeout=10)
        try:
            return fn(i)
        except WfxError as exc:
            return exc

    with ThreadPoolExecutor(n) as pool:
        return list(pool.map(call, range(n)))


# -- create / get --


def test_the_adapter_implements_the_port(store: ExecutionStore):
    assert isinstance(store, ExecutionStore)


def test_create_stores_a_new_execution_and_get_returns_it(
    store: ExecutionStore, make_execution: MakeExecution
):
    run = make_execution(principal="alice", idempotency_key="k", input={"a": [1, {"b": None}]})
    stored, created = store.create(run)
    assert created
    assert stored == run
    assert store.get(run.id) == run


def test_get_returns_none_for_an_unknown_id(store: ExecutionStore):
    assert store.get(f"missing-{uuid.uuid4().hex}") is None


def test_create_with_an_existing_id_returns_the_existing_execution(
    store: ExecutionStore, make_execution: MakeExecution
):
    first, _ = store.create(make_execution(input="first"))
    again, created = store.create(make_execution(id=first.id, input="second"))
    assert not created
    assert again.input == "first"


def test_create_with_the_same_idempotency_key_returns_the_first_execution(
    store: ExecutionStore, make_execution: MakeExecution
):
    key = uuid.uuid4().hex
    first, _ = store.create(make_execution(principal="alice", idempotency_key=key))
    again, created = store.create(make_execution(principal="alice", idempotency_key=key))
    assert not created
    assert again.id == first.id


def test_the_same_idempotency_key_under_another_principal_creates_another_execution(
    store: ExecutionStore, make_execution: MakeExecution
):
    key = uuid.uuid4().hex
    _, a = store.create(make_execution(principal="alice", idempotency_key=key))
    _, b = store.create(make_execution(principal="bob", idempotency_key=key))
    _, anonymous = store.create(make_execution(principal=None, idempotency_key=key))
    _, anonymous_again = store.create(make_execution(principal=None, idempotency_key=key))
    assert (a, b, anonymous, anonymous_again) == (True, True, True, False)


def test_executions_without_an_idempotency_key_never_collide(
    store: ExecutionStore, make_execution: MakeExecution
):
    assert all(store.create(make_execution(principal="alice"))[1] for _ in range(3))


def test_concurrent_creates_with_one_idempotency_key_create_exactly_one(
    store: ExecutionStore, make_execution: MakeExecution
):
    key = uuid.uuid4().hex
    results = race(8, lambda i: store.create(make_execution(principal="p", idempotency_key=key)))
    pairs = [r for r in results if isinstance(r, tuple)]
    assert len(pairs) == 8
    assert sum(created for _, created in pairs) == 1
    assert len({run.id for run, _ in pairs}) == 1


def test_stored_state_never_aliases_the_callers_objects(store: ExecutionStore, make_execution: MakeExecution):
    run = make_execution(input={"items": [1, 2]})
    stored, _ = store.create(run)
    run.input["items"].append(3)
    stored.input["items"].append(4)
    fetched = store.get(run.id)
    assert fetched is not None
    fetched.input["items"].append(5)
    fetched.steps["x"] = step("x")
    again = store.get(run.id)
    assert again is not None
    assert again.input == {"items": [1, 2]}
    assert again.steps == {}


def test_a_finished_result_never_aliases_the_callers_object(
    store: ExecutionStore, make_execution: MakeExecution
):
    run_id = running(store, make_execution)
    result = {"items": [1]}
    done = store.finish(run_id, "w1", ExecutionStatus.COMPLETED, result=result, now_s=T0 + 1)
    result["items"].append(2)
    done.result["items"].append(3)
    stored = store.get(run_id)
    assert stored is not None and stored.result == {"items": [1]}


# -- leases --


def test_acquire_lease_moves_a_queued_execution_to_running(
    store: ExecutionStore, make_execution: MakeExecution
):
    run, _ = store.create(make_execution())
    leased = store.acquire_lease(run.id, "w1", TTL, T0 + 5)
    assert leased.status == ExecutionStatus.RUNNING
    assert (leased.lease_owner, leased.lease_expires_at_s, leased.started_at_s) == (
        "w1",
        T0 + 5 + TTL,
        T0 + 5,
    )
    assert leased.version > run.version
    assert store.get(run.id) == leased


def test_acquire_lease_on_an_unknown_id_raises_not_found(store: ExecutionStore):
    assert code_of(lambda: store.acquire_lease(f"missing-{uuid.uuid4().hex}", "w1", TTL, T0)) == "not_found"


def test_a_second_owner_cannot_take_a_live_lease(store: ExecutionStore, make_execution: MakeExecution):
    run_id = running(store, make_execution)
    assert code_of(lambda: store.acquire_lease(run_id, "w2", TTL, T0 + TTL - 1)) == "lease_held"
    current = store.get(run_id)
    assert current is not None and current.lease_owner == "w1"


def test_the_owner_can_renew_its_own_lease_without_resetting_the_start(
    store: ExecutionStore, make_execution: MakeExecution
):
    run_id = running(store, make_execution)
    renewed = store.acquire_lease(run_id, "w1", TTL, T0 + 10)
    assert (renewed.lease_owner, renewed.lease_expires_at_s, renewed.started_at_s) == (
        "w1",
        T0 + 10 + TTL,
        T0,
    )


def test_an_expired_lease_is_taken_over_and_the_old_owner_can_no_longer_write(
    store: ExecutionStore, make_execution: MakeExecution
):
    run_id = running(store, make_execution)
    store.save_step(run_id, "w1", step("a"), Progress(completed=1, total=3), T0 + TTL)
    taken = store.acquire_lease(run_id, "w2", TTL, T0 + TTL)  # expiry == now counts as expired
    assert taken.lease_owner == "w2"
    assert list(taken.steps) == ["a"]
    late = lambda: store.save_step(run_id, "w1", step("b"), Progress(completed=2, total=3), T0 + 99)  # noqa: E731
    assert code_of(late) == "lease_lost"
    after = store.get(run_id)
    assert after is not None
    assert list(after.steps) == ["a"]
    assert after.progress == Progress(completed=1, total=3)
    assert (after.lease_owner, after.lease_expires_at_s) == ("w2", T0 + 2 * TTL)


def test_two_owners_racing_for_a_lease_exactly_one_wins(store: ExecutionStore, make_execution: MakeExecution):
    run, _ = store.create(make_execution())
    results = race(6, lambda i: store.acquire_lease(run.id, f"w{i}", TTL, T0))
    winners = [r for r in results if isinstance(r, Execution)]
    assert len(winners) == 1
    assert sorted(r.code for r in results if isinstance(r, WfxError)) == ["lease_held"] * 5
    current = store.get(run.id)
    assert current is not None and current.lease_owner == winners[0].lease_owner


def test_release_lease_lets_another_owner_take_it_at_once(
    store: ExecutionStore, make_execution: MakeExecution
):
    run_id = running(store, make_execution)
    store.release_lease(run_id, "w1")
    released = store.get(run_id)
    assert released is not None
    assert (released.status, released.lease_owner, released.lease_expires_at_s) == ("running", None, None)
    assert store.acquire_lease(run_id, "w2", TTL, T0 + 1).lease_owner == "w2"


def test_release_lease_by_another_owner_or_of_an_unknown_id_does_nothing(
    store: ExecutionStore, make_execution: MakeExecution
):
    run_id = running(store, make_execution)
    before = store.get(run_id)
    store.release_lease(run_id, "w2")
    store.release_lease(f"missing-{uuid.uuid4().hex}", "w1")
    assert store.get(run_id) == before


# -- save_step --


def test_save_step_records_the_step_the_progress_and_the_renewed_lease(
    store: ExecutionStore, make_execution: MakeExecution
):
    run_id = running(store, make_execution)
    before = store.get(run_id)
    assert before is not None
    progress = Progress(completed=1, total=2, current=["b"])
    store.save_step(run_id, "w1", step("a"), progress, T0 + 60)
    after = store.get(run_id)
    assert after is not None
    assert after.steps == {"a": step("a")}
    assert after.progress == progress
    assert after.lease_expires_at_s == T0 + 60
    assert after.version > before.version


def test_save_step_replaces_the_record_of_the_same_step(store: ExecutionStore, make_execution: MakeExecution):
    run_id = running(store, make_execution)
    store.save_step(run_id, "w1", step("a", output="first"), Progress(), T0 + 60)
    store.save_step(run_id, "w1", step("a", output="second", seq=2), Progress(), T0 + 60)
    store.save_step(run_id, "w1", step("b"), Progress(), T0 + 60)
    after = store.get(run_id)
    assert after is not None
    assert after.steps == {"a": step("a", output="second", seq=2), "b": step("b")}


def test_save_step_without_the_lease_raises_lease_lost_and_writes_nothing(
    store: ExecutionStore, make_execution: MakeExecution
):
    queued, _ = store.create(make_execution())
    run_id = running(store, make_execution)
    for run, owner in ((queued.id, "w1"), (run_id, "intruder")):
        save = lambda r=run, o=owner: store.save_step(r, o, step("a"), Progress(completed=1), T0 + 99)  # noqa: E731
        assert code_of(save) == "lease_lost"
        current = store.get(run)
        assert current is not None
        assert current.steps == {}
        assert current.progress == Progress()


def test_save_step_on_an_unknown_id_raises_not_found(store: ExecutionStore):
    missing = f"missing-{uuid.uuid4().hex}"
    assert code_of(lambda: store.save_step(missing, "w1", step(), Progress(), T0)) == "not_found"


def test_step_records_round_trip_outputs_of_nested_json_types(
    store: ExecutionStore, make_execution: MakeExecution
):
    output = {
        "text": 'héllo ✓ "quoted"\n',
        "int": -7,
        "big": 2**53,
        "float": 0.1,
        "bool": [True, False],
        "none": None,
        "nested": {"list": [[], {}, [1, "2", {"3": [4.5]}]], "empty": ""},
    }
    record = StepRecord(
        step_id="s",
        status=StepStatus.FAILED,
        attempts=3,
        seq=9,
        started_at_s=T0 + 0.125,
        ended_at_s=T0 + 1.5,
        output=output,
        routed_to=["x", "y"],
        to_user=True,
        error=ErrorInfo(code="step_failed", message="boom", step="s", details={"retry": [1, 2]}),
        usage=Usage(prompt_tokens=10, completion_tokens=5, cost_usd=0.0125, cpu_s=0.5, peak_memory_kb=2048),
        reused=True,
    )
    run_id = running(store, make_execution)
    store.save_step(run_id, "w1", record, Progress(completed=1, total=1), T0 + 60)
    for value in (store.get(run_id), store.acquire_lease(run_id, "w1", TTL, T0 + 1)):
        assert value is not None
        assert value.steps["s"] == record
        assert value.steps["s"].output == output


# -- finish / cancel --


def test_finish_sets_the_terminal_status_and_clears_the_lease(
    store: ExecutionStore, make_execution: MakeExecution
):
    run_id = running(store, make_execution)
    store.save_step(run_id, "w1", step("a"), Progress(completed=1, total=1), T0 + 60)
    usage = Usage(prompt_tokens=3, cost_usd=0.5)
    done = store.finish(
        run_id, "w1", ExecutionStatus.COMPLETED, result={"answer": [42]}, usage=usage, now_s=T0 + 7
    )
    assert done.status == ExecutionStatus.COMPLETED
    assert (done.result, done.usage, done.error) == ({"answer": [42]}, usage, None)
    assert (done.ended_at_s, done.lease_owner, done.lease_expires_at_s) == (T0 + 7, None, None)
    assert list(done.steps) == ["a"]
    assert store.get(run_id) == done


def test_finish_records_the_error_of_a_failed_run(store: ExecutionStore, make_execution: MakeExecution):
    run_id = running(store, make_execution)
    error = ErrorInfo(code="step_failed", message="boom", step="a")
    done = store.finish(run_id, "w1", ExecutionStatus.FAILED, error=error, now_s=T0 + 1)
    assert (done.status, done.error, done.result) == (ExecutionStatus.FAILED, error, None)


def test_finish_rejects_a_non_terminal_status(store: ExecutionStore, make_execution: MakeExecution):
    run_id = running(store, make_execution)
    for status in (ExecutionStatus.QUEUED, ExecutionStatus.RUNNING):
        assert code_of(lambda s=status: store.finish(run_id, "w1", s, now_s=T0)) == "invalid_argument"


def test_finish_by_a_runner_that_lost_its_lease_raises_lease_lost(
    store: ExecutionStore, make_execution: MakeExecution
):
    run_id = running(store, make_execution)
    store.acquire_lease(run_id, "w2", TTL, T0 + TTL + 1)
    assert (
        code_of(lambda: store.finish(run_id, "w1", ExecutionStatus.COMPLETED, now_s=T0 + 40)) == "lease_lost"
    )
    current = store.get(run_id)
    assert current is not None and current.status == ExecutionStatus.RUNNING


def test_finish_without_an_owner_needs_no_lease(store: ExecutionStore, make_execution: MakeExecution):
    queued, _ = store.create(make_execution())
    run_id = running(store, make_execution)
    assert (
        store.finish(queued.id, None, ExecutionStatus.CANCELLED, now_s=T0).status == ExecutionStatus.CANCELLED
    )
    assert store.finish(run_id, None, ExecutionStatus.TIMEOUT, now_s=T0).status == ExecutionStatus.TIMEOUT


def test_finish_of_an_unknown_id_raises_not_found(store: ExecutionStore):
    missing = f"missing-{uuid.uuid4().hex}"
    assert code_of(lambda: store.finish(missing, None, ExecutionStatus.FAILED, now_s=T0)) == "not_found"


MUTATIONS: dict[str, Callable[[ExecutionStore, str], object]] = {
    "acquire_lease": lambda s, i: s.acquire_lease(i, "w9", TTL, T0 + 1000),
    "acquire_lease_by_last_owner": lambda s, i: s.acquire_lease(i, "w1", TTL, T0 + 1000),
    "save_step": lambda s, i: s.save_step(i, "w1", step("late"), Progress(completed=9), T0 + 99),
    "finish_with_owner": lambda s, i: s.finish(i, "w1", ExecutionStatus.FAILED, now_s=T0 + 9),
    "finish_without_owner": lambda s, i: s.finish(i, None, ExecutionStatus.COMPLETED, now_s=T0 + 9),
}


@pytest.mark.parametrize("mutation", list(MUTATIONS))
def test_a_finished_execution_is_frozen(store: ExecutionStore, make_execution: MakeExecution, mutation: str):
    run_id = running(store, make_execution)
    store.finish(run_id, "w1", ExecutionStatus.COMPLETED, result="done", now_s=T0 + 5)
    frozen = store.get(run_id)
    assert code_of(lambda: MUTATIONS[mutation](store, run_id)) == "conflict"
    assert store.get(run_id) == frozen


def test_cancelling_or_releasing_a_finished_execution_is_a_no_op(
    store: ExecutionStore, make_execution: MakeExecution
):
    run_id = running(store, make_execution)
    frozen = store.finish(run_id, "w1", ExecutionStatus.FAILED, now_s=T0 + 5)
    assert store.request_cancel(run_id, T0 + 6) == frozen
    store.release_lease(run_id, "w1")
    assert store.get(run_id) == frozen


def test_request_cancel_of_a_queued_execution_cancels_it_at_once(
    store: ExecutionStore, make_execution: MakeExecution
):
    run, _ = store.create(make_execution())
    cancelled = store.request_cancel(run.id, T0 + 3)
    assert (cancelled.status, cancelled.cancel_requested, cancelled.ended_at_s) == ("cancelled", True, T0 + 3)
    assert cancelled.error is not None and cancelled.error.code == "cancelled"
    assert store.get(run.id) == cancelled
    assert code_of(lambda: store.acquire_lease(run.id, "w1", TTL, T0 + 4)) == "conflict"


def test_request_cancel_of_a_running_execution_only_raises_the_flag(
    store: ExecutionStore, make_execution: MakeExecution
):
    run_id = running(store, make_execution)
    flagged = store.request_cancel(run_id, T0 + 3)
    assert (flagged.status, flagged.cancel_requested, flagged.lease_owner) == ("running", True, "w1")
    store.save_step(run_id, "w1", step("a"), Progress(completed=1), T0 + 60)  # the runner stops between steps
    done = store.finish(run_id, "w1", ExecutionStatus.CANCELLED, now_s=T0 + 4)
    assert (done.status, done.cancel_requested, list(done.steps)) == ("cancelled", True, ["a"])


def test_request_cancel_of_an_unknown_id_raises_not_found(store: ExecutionStore):
    assert code_of(lambda: store.request_cancel(f"missing-{uuid.uuid4().hex}", T0)) == "not_found"


# -- list --


def test_pagination_returns_every_item_once_newest_first(
    store: ExecutionStore, make_execution: MakeExecution
):
    name = fresh_name()
    times = [T0 + t for t in (5, 1, 3, 3, 3, 2, 9, 1, 7, 4, 3)]  # ties are ordered by id
    runs = [store.create(make_execution(workflow_name=name, created_at_s=t))[0] for t in times]
    expected = [r.id for r in sorted(runs, key=lambda r: (r.created_at_s, r.id), reverse=True)]
    for limit in (1, 3, 4, 11, 500):
        seen: list[str] = []
        cursor = None
        for _ in range(len(runs) + 1):
            page = store.list(ExecutionQuery(workflow_name=name, limit=limit, cursor=cursor))
            assert len(page.items) <= limit
            seen += [r.id for r in page.items]
            cursor = page.next_cursor
            if cursor is None:
                break
        assert seen == expected


def test_list_filters_by_status_workflow_and_principal(store: ExecutionStore, make_execution: MakeExecution):
    name, other = fresh_name(), fresh_name()
    queued, _ = store.create(make_execution(workflow_name=name, principal="alice"))
    bobs, _ = store.create(make_execution(workflow_name=name, principal="bob"))
    run_id = running(store, make_execution, workflow_name=name, principal="alice")
    store.create(make_execution(workflow_name=other, principal="alice"))

    def ids(**query: Any) -> set[str]:
        return {r.id for r in store.list(ExecutionQuery(limit=500, **query)).items}

    assert ids(workflow_name=name) == {queued.id, bobs.id, run_id}
    assert ids(workflow_name=name, principal="alice") == {queued.id, run_id}
    assert ids(workflow_name=name, status=ExecutionStatus.RUNNING) == {run_id}
    assert ids(workflow_name=name, status=ExecutionStatus.QUEUED, principal="bob") == {bobs.id}
    assert ids(workflow_name=name, status=ExecutionStatus.COMPLETED) == set()


def test_list_returns_full_records_without_their_step_records(
    store: ExecutionStore, make_execution: MakeExecution
):
    name = fresh_name()
    run_id = running(store, make_execution, workflow_name=name)
    store.save_step(run_id, "w1", step("a"), Progress(completed=1, total=2), T0 + 60)
    [item] = store.list(ExecutionQuery(workflow_name=name)).items
    full = store.get(run_id)
    assert full is not None
    assert item.steps == {}
    assert item == full.model_copy(update={"steps": {}})


@pytest.mark.parametrize("limit", [0, -1, 501])
def test_list_rejects_a_limit_outside_1_to_500(store: ExecutionStore, limit: int):
    assert code_of(lambda: store.list(ExecutionQuery(limit=limit))) == "invalid_argument"


@pytest.mark.parametrize("cursor", ["%%%", "aGVsbG8="])
def test_list_rejects_a_cursor_it_did_not_issue(store: ExecutionStore, cursor: str):
    assert code_of(lambda: store.list(ExecutionQuery(cursor=cursor))) == "invalid_argument"


def fresh_name() -> str:
    return f"wf-{uuid.uuid4().hex}"


# -- SQLite specifics: the file is the source of truth --


def test_sqlite_data_survives_reopening_the_file(tmp_path: Path, make_execution: MakeExecution):
    path = tmp_path / "reopen.db"
    first = SqliteExecutionStore(path)
    run_id = running(first, make_execution, idempotency_key="k")
    store_step = step("a", output={"deep": [1, {"x": None}]})
    first.save_step(run_id, "w1", store_step, Progress(completed=1, total=2), T0 + 60)
    before = first.get(run_id)
    first.close()
    second = SqliteExecutionStore(path, synchronous="FULL")
    try:
        assert second.get(run_id) == before
        assert second.create(make_execution(idempotency_key="k"))[1] is False
        assert code_of(lambda: second.acquire_lease(run_id, "w2", TTL, T0 + 1)) == "lease_held"
    finally:
        second.close()


def test_sqlite_stores_on_one_file_create_one_execution_per_idempotency_key(
    tmp_path: Path, make_execution: MakeExecution
):
    stores = [SqliteExecutionStore(tmp_path / "shared.db") for _ in range(4)]
    try:
        key = uuid.uuid4().hex
        results = race(4, lambda i: stores[i].create(make_execution(idempotency_key=key)))
        assert sum(created for _, created in results) == 1  # type: ignore[misc]
        run_id = results[0][0].id  # type: ignore[index]
        leases = race(4, lambda i: stores[i].acquire_lease(run_id, f"w{i}", TTL, T0))
        assert sum(isinstance(r, Execution) for r in leases) == 1
    finally:
        for s in stores:
            s.close()


def test_get_head_is_the_execution_without_its_step_records(store: ExecutionStore, make_execution) -> None:  # type: ignore[no-untyped-def]
    from workflow_executor.models import Progress, StepRecord, StepStatus

    ex = make_execution()
    store.create(ex)
    assert store.get_head("no-such-" + ex.id) is None
    store.acquire_lease(ex.id, "w1", 60, ex.created_at_s)
    store.save_step(ex.id, "w1", StepRecord(step_id="a", status=StepStatus.COMPLETED, output=1, seq=1),
                    Progress(completed=1, total=2), ex.created_at_s + 60)
    full, head = store.get(ex.id), store.get_head(ex.id)
    assert full is not None and head is not None
    assert list(full.steps) == ["a"] and head.steps == {}
    assert (head.status, head.cancel_requested, head.input) == (full.status, full.cancel_requested, full.input)
    store.request_cancel(ex.id, ex.created_at_s + 1)
    assert store.get_head(ex.id).cancel_requested is True  # type: ignore[union-attr]
    store.finish(ex.id, "w1", ExecutionStatus.CANCELLED, now_s=ex.created_at_s + 2)
    full, head = store.get(ex.id), store.get_head(ex.id)
    assert full is not None and head is not None
    assert head.model_copy(update={"steps": full.steps}) == full  # exact once finished
