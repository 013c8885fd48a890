"""The sweeper hands on every run that nothing runs any more (a lapsed lease, queued with no task)
and ends children whose parent ended; runs with a live runner are left alone. Also its worker
endpoint (``/sweep``, what Cloud Scheduler calls) and the thread ``wfx serve`` runs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from support import eventually
from workflow_executor.api import Executor
from workflow_executor.errors import Transient
from workflow_executor.models import Execution, ExecutionStatus
from workflow_executor.sweeper import SweeperThread, sweep
from workflow_executor.worker_http import handle

TWO = "workflows: {w: {steps: [{id: a, function: builtins.echo, args: {value: A}}, {id: b, function: builtins.noop}]}}"
DEAD = "another-host:1:dead"


def queued(wfx: Executor) -> Execution:
    return wfx.submit("w", None, workflow=TWO, mode="async", dispatch=False)


def orphaned(wfx: Executor, ex: Execution, ago_s: float = 100.0) -> None:
    """Leave ``ex`` running under a lease of a runner that died ``ago_s`` ago (60 s lease)."""
    wfx.store.acquire_lease(ex.id, DEAD, 60.0, wfx.engine.clock.now() - ago_s)


def test_a_run_whose_lease_lapsed_is_queued_again_and_finishes(wfx: Executor) -> None:
    ex = queued(wfx)
    orphaned(wfx, ex)
    report = sweep(wfx.services)
    assert report.requeued == [ex.id]
    assert wfx.wait(ex.id, 10).status == ExecutionStatus.COMPLETED


def test_a_run_with_a_live_lease_or_just_queued_is_left_alone(wfx: Executor) -> None:
    live, fresh = queued(wfx), queued(wfx)
    orphaned(wfx, live, ago_s=30.0)  # its lease runs 30 s more
    report = sweep(wfx.services)
    assert (report.requeued, report.ended) == ([], [])
    assert {wfx.status(live.id).status, wfx.status(fresh.id).status} == {ExecutionStatus.RUNNING,
                                                                        ExecutionStatus.QUEUED}


def test_a_run_queued_longer_than_the_grace_with_no_task_is_queued(wfx: Executor) -> None:
    ex = queued(wfx)
    later = wfx.engine.clock.now() + wfx.services.settings.sweep_queued_after_s + 1
    assert sweep(wfx.services, now_s=later).requeued == [ex.id]
    assert wfx.wait(ex.id, 10).status == ExecutionStatus.COMPLETED


def test_a_child_whose_parent_ended_is_ended_with_its_parents_cause(wfx: Executor) -> None:
    parent = queued(wfx)
    now = wfx.engine.clock.now()
    child, _ = wfx.store.create(Execution(id=f"{parent.id}.call", workflow_name="w", workflow_hash=parent.workflow_hash,
                                          mode="async", parent_id=parent.id, parent_step="call", depth=1,
                                          created_at_s=now, updated_at_s=now))
    orphaned(wfx, child)
    assert sweep(wfx.services).ended == []  # the parent is queued: its own run brings the child back
    wfx.cancel(parent.id)
    report = sweep(wfx.services)
    assert report.ended == [child.id] and parent.id not in report.requeued
    ended = wfx.status(child.id)
    assert ended.status == ExecutionStatus.CANCELLED and ended.error is not None
    assert parent.id in ended.error.message


def test_the_worker_sweeps_on_sweep_with_the_worker_credentials_only(tmp_path: Path) -> None:
    from executors import make_executor

    wfx = make_executor(tmp_path, "memory", worker_secret="s3cret")
    try:
        ex = queued(wfx)
        orphaned(wfx, ex)
        denied = handle(wfx.services, "POST", {}, b"{}", "/sweep")
        assert denied.status == 401 and wfx.status(ex.id).status == ExecutionStatus.RUNNING
        resp = handle(wfx.services, "POST", {"X-Wfx-Worker-Secret": "s3cret"}, b"{}", "/sweep")
        assert resp.status == 200 and json.loads(resp.body)["requeued"] == [ex.id]
        assert wfx.wait(ex.id, 10).status == ExecutionStatus.COMPLETED
    finally:
        wfx.close()


def test_the_sweeper_thread_hands_on_a_lapsed_run_by_itself(wfx: Executor) -> None:
    ex = queued(wfx)
    orphaned(wfx, ex)
    thread = SweeperThread(wfx.services, 0.05).start()
    try:
        eventually(lambda: wfx.status(ex.id).finished, what="the swept run to finish")
    finally:
        thread.stop()
    assert wfx.status(ex.id).status == ExecutionStatus.COMPLETED


class DownQueue:
    """A task queue whose API is unreachable."""

    def enqueue(self, request: object) -> None:
        raise Transient("could not enqueue: the Cloud Tasks API is unavailable", fix="retry")

    def cancel(self, execution_id: str) -> None:
        raise Transient("unavailable")


def test_a_run_whose_enqueue_failed_is_answered_queued_with_its_id_and_the_sweeper_queues_it(wfx: Executor) -> None:
    queue, wfx.services.queue = wfx.services.queue, DownQueue()  # type: ignore[assignment]
    try:
        ex = wfx.start("w", None, workflow=TWO)  # no error to retry (a retry would start a second run)
    finally:
        wfx.services.queue = queue
    assert wfx.status(ex.id).status == ExecutionStatus.QUEUED
    later = wfx.engine.clock.now() + wfx.services.settings.sweep_queued_after_s + 1
    assert sweep(wfx.services, now_s=later).requeued == [ex.id]
    assert wfx.wait(ex.id, 10).status == ExecutionStatus.COMPLETED


class RecordingQueue:
    def __init__(self, inner: object) -> None:
        self.inner, self.cancelled = inner, []

    def enqueue(self, request: object) -> None:
        self.inner.enqueue(request)  # type: ignore[attr-defined]

    def cancel(self, execution_id: str) -> None:
        self.cancelled.append(execution_id)


def test_a_cancel_that_could_not_end_the_run_keeps_its_redelivery_which_ends_it(wfx: Executor) -> None:
    ex = queued(wfx)
    orphaned(wfx, ex)  # its worker died mid-run: the queued redelivery is all that is left
    queue = RecordingQueue(wfx.services.queue)
    wfx.services.queue = queue  # type: ignore[assignment]
    finish = wfx.store.finish

    def store_down(*args: object, **kwargs: object) -> Execution:
        raise Transient("Firestore is unavailable", fix="retry shortly")

    wfx.store.finish = store_down  # type: ignore[method-assign]
    try:
        with pytest.raises(Transient):
            wfx.cancel(ex.id)
    finally:
        wfx.store.finish = finish  # type: ignore[method-assign]
    assert queue.cancelled == [] and wfx.status(ex.id).cancel_requested
    assert wfx.engine.run(ex.id).status == ExecutionStatus.CANCELLED  # the redelivery ends it
    assert wfx.cancel(ex.id).status == ExecutionStatus.CANCELLED and queue.cancelled == [ex.id]


def test_a_cancel_answers_cancelled_while_the_queue_api_is_down(wfx: Executor) -> None:
    ex = queued(wfx)
    queue, wfx.services.queue = wfx.services.queue, DownQueue()  # type: ignore[assignment]
    try:
        assert wfx.cancel(ex.id).status == ExecutionStatus.CANCELLED
    finally:
        wfx.services.queue = queue


def test_a_run_whose_workflow_version_is_gone_ends_failed_instead_of_being_swept_forever(wfx: Executor) -> None:
    now = wfx.engine.clock.now()
    ex, _ = wfx.store.create(Execution(id="lost-version", workflow_name="w", workflow_hash="0" * 64, mode="async",
                                       created_at_s=now, updated_at_s=now))
    done = wfx.engine.run(ex.id)
    assert done.status == ExecutionStatus.FAILED and done.error is not None and done.error.code == "not_found"
    assert sweep(wfx.services, now_s=now + 10_000).requeued == []
