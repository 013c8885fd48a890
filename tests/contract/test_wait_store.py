"""The wait transitions of the ExecutionStore contract (park, wake, cancel while waiting), run
over every adapter in ``conftest.STORE_FACTORIES`` (the Firestore emulator included)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from workflow_executor.errors import WfxError
from workflow_executor.models import Execution, ExecutionStatus, Progress, WaitState
from workflow_executor.ports import ExecutionQuery, ExecutionStore

T0 = 1000.0


def code_of(fn: Callable[[], object]) -> str:
    with pytest.raises(WfxError) as info:
        fn()
    return info.value.code


def parked(store: ExecutionStore, make_execution: Callable[..., Execution], **wait: object) -> Execution:
    ex, _ = store.create(make_execution())
    store.acquire_lease(ex.id, "w1", 30.0, T0)
    state = WaitState(step="approve", event="approval", since_s=T0, until_s=T0 + 60, **wait)  # type: ignore[arg-type]
    return store.park(ex.id, "w1", state, Progress(completed=1, total=3, current=["approve"]), T0)


def test_a_parked_run_is_waiting_with_no_lease_and_says_what_for(store: ExecutionStore, make_execution) -> None:
    ex = parked(store, make_execution)
    got = store.get(ex.id)
    assert got is not None and got.status == ExecutionStatus.WAITING
    assert got.lease_owner is None and got.wait is not None and got.wait.event == "approval"
    assert got.wait.until_s == T0 + 60 and got.progress.current == ["approve"]
    listed = store.list(ExecutionQuery(status=ExecutionStatus.WAITING, limit=500)).items
    assert ex.id in {e.id for e in listed}


def test_a_waiting_run_is_not_leased_by_a_stray_delivery(store: ExecutionStore, make_execution) -> None:
    ex = parked(store, make_execution)
    assert code_of(lambda: store.acquire_lease(ex.id, "w2", 30.0, T0 + 1)) == "conflict"
    assert store.get_head(ex.id).status == ExecutionStatus.WAITING  # type: ignore[union-attr]


def test_an_event_wakes_a_waiting_run_exactly_once(store: ExecutionStore, make_execution) -> None:
    ex = parked(store, make_execution)
    woken = store.wake(ex.id, event="approval", payload={"ok": True}, by="alice", now_s=T0 + 5)
    assert woken.status == ExecutionStatus.QUEUED and woken.wait is not None
    assert woken.wait.delivered and woken.wait.payload == {"ok": True} and woken.wait.by == "alice"
    assert code_of(lambda: store.wake(ex.id, event="approval", payload={}, now_s=T0 + 6)) == "already_delivered"
    assert code_of(lambda: store.wake(ex.id, number=1, now_s=T0 + 100)) == "not_waiting"  # the late timer
    again = store.acquire_lease(ex.id, "w2", 30.0, T0 + 7)  # and the resumed run can run
    assert again.status == ExecutionStatus.RUNNING and again.wait.payload == {"ok": True}  # type: ignore[union-attr]


def test_another_event_or_a_payload_that_does_not_match_is_refused(store: ExecutionStore, make_execution) -> None:
    ex = parked(store, make_execution, match={"order": "A1"})
    assert code_of(lambda: store.wake(ex.id, event="other", now_s=T0 + 1)) == "not_waiting"
    assert code_of(lambda: store.wake(ex.id, event="approval", payload={"order": "B2"}, now_s=T0 + 1)) == "not_waiting"
    assert store.wake(ex.id, event="approval", payload={"order": "A1"}, now_s=T0 + 2).status == ExecutionStatus.QUEUED


def test_a_timer_wakes_only_its_own_wait_once_it_is_due(store: ExecutionStore, make_execution) -> None:
    ex = parked(store, make_execution)
    assert code_of(lambda: store.wake(ex.id, number=1, now_s=T0 + 10)) == "not_waiting"  # not due
    assert code_of(lambda: store.wake(ex.id, number=2, now_s=T0 + 61)) == "not_waiting"  # another wait's
    woken = store.wake(ex.id, number=1, now_s=T0 + 60)
    assert woken.status == ExecutionStatus.QUEUED and woken.wait.timed_out  # type: ignore[union-attr]
    assert code_of(lambda: store.wake(ex.id, event="approval", now_s=T0 + 61)) == "already_delivered"


def test_a_cancel_ends_a_waiting_run_at_once(store: ExecutionStore, make_execution) -> None:
    ex = parked(store, make_execution)
    done = store.request_cancel(ex.id, T0 + 3)
    assert done.status == ExecutionStatus.CANCELLED and done.error is not None and done.error.code == "cancelled"
    assert code_of(lambda: store.wake(ex.id, event="approval", now_s=T0 + 4)) == "not_waiting"


def test_a_run_with_a_cancel_requested_does_not_park(store: ExecutionStore, make_execution) -> None:
    ex, _ = store.create(make_execution())
    store.acquire_lease(ex.id, "w1", 30.0, T0)
    store.request_cancel(ex.id, T0 + 1)
    state = WaitState(step="approve", event="approval", since_s=T0)
    assert code_of(lambda: store.park(ex.id, "w1", state, Progress(), T0 + 2)) == "conflict"
    assert code_of(lambda: store.park(ex.id, "other", state, Progress(), T0 + 2)) == "lease_lost"
