"""Wait steps on the embedded backends (memory and SQLite, the local queue in this process): a run
parks as ``waiting`` holding nothing, and goes on after its event, its timeout or a cancel."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from support import eventually
from workflow_executor.api import Executor
from workflow_executor.errors import SpecError, WfxError
from workflow_executor.models import ExecutionStatus
from workflow_executor.settings import Settings

APPROVE = """
workflows:
  approve:
    steps:
      - id: draft
        function: builtins.echo
        args: {value: "the report"}
      - id: approval
        wait_for: {event: approval, timeout: 600, payload_schema: {type: object, required: [approved]}}
      - id: publish
        function: builtins.echo
        args: {value: "${approval.output}"}
  timed:
    steps:
      - id: approval
        wait_for: {event: approval, timeout: 0.3}
        output:
          to:
            - condition:
                if: "${wait.timed_out}"
                then: [escalate]
                else: [publish]
      - id: escalate
        function: builtins.echo
        args: {value: "escalated"}
        output: {to: user}
      - id: publish
        function: builtins.echo
        args: {value: "published"}
        output: {to: user}
  strict:
    steps:
      - id: approval
        wait_for: {event: approval, timeout: 0.2}
      - id: publish
        function: builtins.echo
        args: {value: "published"}
  nap:
    steps:
      - id: rest
        sleep: 0.2
      - id: done
        function: builtins.echo
        args: {value: "rested"}
"""


@pytest.fixture(params=["memory", "sqlite"])
def wfx(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Executor]:
    s = Settings.from_env({"WFX_HOME": str(tmp_path / "home")})
    ex = Executor.local(settings=replace(s, store=request.param))
    ex.register(APPROVE)
    yield ex
    ex.close()


def waiting(wfx: Executor, execution_id: str) -> Any:
    return eventually(lambda: (cur := wfx.status(execution_id)).status == ExecutionStatus.WAITING and cur,
                      timeout=2.0, what="the run to wait")


def ended(wfx: Executor, execution_id: str) -> Any:
    return eventually(lambda: (cur := wfx.status(execution_id)).finished and cur, timeout=10.0, what="the end")


def code_of(fn: Any) -> str:
    with pytest.raises(WfxError) as info:
        fn()
    return info.value.code


def test_a_run_waits_for_its_approval_and_completes_with_the_payload(wfx: Executor) -> None:
    ex = wfx.start("approve", {})
    parked = waiting(wfx, ex.id)
    assert parked.wait.event == "approval" and parked.wait.step == "approval" and parked.wait.until_s is not None
    assert parked.lease_owner is None and set(parked.steps) == {"draft"}
    assert code_of(lambda: wfx.send_event(ex.id, "approval", {"nope": 1})) == "invalid_argument"  # the schema
    assert code_of(lambda: wfx.send_event(ex.id, "other", {"approved": True})) == "not_waiting"
    wfx.send_event(ex.id, "approval", {"approved": True, "note": "ship it"}, by="alice")
    done = ended(wfx, ex.id)
    assert done.status == ExecutionStatus.COMPLETED, done.error
    assert done.result == {"approved": True, "note": "ship it"}
    assert done.steps["approval"].output == {"approved": True, "note": "ship it"}
    assert code_of(lambda: wfx.send_event(ex.id, "approval", {"approved": True})) == "already_delivered"


def test_a_wait_that_times_out_takes_the_route_on_wait_timed_out(wfx: Executor) -> None:
    ex = wfx.start("timed", {})
    done = ended(wfx, ex.id)
    assert (done.status, done.result) == (ExecutionStatus.COMPLETED, "escalated")
    assert "publish" not in done.steps and done.wait.timed_out
    assert code_of(lambda: wfx.send_event(ex.id, "approval", {})) == "already_delivered"  # a late event


def test_a_wait_that_times_out_with_no_timeout_route_fails_with_timeout(wfx: Executor) -> None:
    done = ended(wfx, wfx.start("strict", {}).id)
    assert done.status == ExecutionStatus.FAILED and done.error is not None
    assert (done.error.code, done.error.step) == ("timeout", "approval")


def test_a_durable_sleep_parks_and_goes_on(wfx: Executor) -> None:
    ex = wfx.start("nap", {})
    assert waiting(wfx, ex.id).wait.kind == "sleep"
    done = ended(wfx, ex.id)
    assert (done.status, done.result) == (ExecutionStatus.COMPLETED, "rested")
    rest = done.steps["rest"]
    assert rest.ended_at_s - rest.started_at_s >= 0.15  # it slept, and the record says how long


def test_a_waiting_run_is_cancelled_at_once_and_a_late_event_is_refused(wfx: Executor) -> None:
    ex = wfx.start("approve", {})
    waiting(wfx, ex.id)
    done = wfx.cancel(ex.id)
    assert done.status == ExecutionStatus.CANCELLED
    assert code_of(lambda: wfx.send_event(ex.id, "approval", {"approved": True})) == "not_waiting"
    assert wfx.status(ex.id).status == ExecutionStatus.CANCELLED


def test_a_hundred_waiting_runs_hold_no_worker_thread(wfx: Executor) -> None:
    before = threading.active_count()
    ids = [wfx.start("approve", {}).id for _ in range(100)]
    for i in ids:
        waiting(wfx, i)
    queue: Any = wfx.services.queue
    assert queue.threads() <= 1  # no worker busy; at most the one timer thread
    eventually(lambda: queue.delayed() == 100, timeout=2.0, what="their timeouts, in one heap")  # armed after parking
    assert threading.active_count() <= before + 6  # the pool's idle workers and the timer thread
    wfx.send_event(ids[7], "approval", {"approved": True})
    assert ended(wfx, ids[7]).status == ExecutionStatus.COMPLETED
    assert sum(wfx.status(i).status == ExecutionStatus.WAITING for i in ids) == 99


@pytest.mark.parametrize(("step", "code_path"), [
    ("{id: w, wait_for: {event: '1 bad'}}", "steps[0].wait_for.event"),
    ("{id: w, wait_for: {event: ok, timeout: 99999999}}", "steps[0].wait_for.timeout"),
    ("{id: w, sleep: -1}", "steps[0].sleep"),
    ("{id: w, wait_for: {event: ok, colour: red}}", "steps[0].wait_for.colour"),
])
def test_a_wait_step_with_a_bad_event_timeout_or_key_is_refused(wfx: Executor, step: str, code_path: str) -> None:
    with pytest.raises(SpecError) as info:
        wfx.check(f"workflows: {{w: {{steps: [{step}]}}}}")
    assert any(i.path.endswith(code_path) for i in info.value.issues), info.value.issues


def test_wait_timed_out_is_readable_only_in_a_wait_steps_route(wfx: Executor) -> None:
    doc = ("workflows: {w: {steps: [{id: a, function: builtins.echo, args: {value: 1}, "
           "output: {to: [{condition: {if: '${wait.timed_out}', then: [b], else: [b]}}]}}, "
           "{id: b, function: builtins.noop}]}}")
    with pytest.raises(SpecError) as info:
        wfx.check(doc)
    assert any("wait_for step" in i.message for i in info.value.issues), info.value.issues


def test_the_sweeper_leaves_a_waiting_run_alone_and_wakes_one_whose_timer_was_lost(wfx: Executor) -> None:
    from workflow_executor.sweeper import sweep

    ex = wfx.start("approve", {})
    parked = waiting(wfx, ex.id)
    assert sweep(wfx.services, now_s=parked.wait.since_s + 590).requeued == []  # waiting is not stale
    assert wfx.status(ex.id).status == ExecutionStatus.WAITING
    assert sweep(wfx.services, now_s=parked.wait.until_s + 10_000).requeued == [ex.id]  # overdue: timed out
    done = ended(wfx, ex.id)
    assert done.status == ExecutionStatus.FAILED and done.error.code == "timeout"
