"""What a durable engine must survive: a runner that died after recording a failure, a child
still leased by a dead runner, steps longer than the lease, a dispatch budget that runs out
while branches overlap, a timed-out attempt, and a repeated idempotent request."""

from __future__ import annotations

import threading
import time
import uuid
from pathlib import Path

import pytest
from engine_fns import count
from support import eventually
from workflow_executor.api import Executor
from workflow_executor.errors import LeaseHeld
from workflow_executor.models import ErrorInfo, Execution, ExecutionStatus, Progress, StepRecord, StepStatus


def queued(wfx: Executor, text: str, name: str | None = None) -> Execution:
    return wfx.submit(name, None, workflow=text, mode="async", dispatch=False)


def test_a_resumed_run_whose_failed_step_was_recorded_ends_failed_not_completed(wfx: Executor) -> None:
    ex = queued(wfx, "workflows: {w: {steps: [{id: a, function: builtins.echo, args: {value: A}},"
                     " {id: b, function: builtins.noop}]}}")
    now = wfx.engine.clock.now()
    wfx.store.acquire_lease(ex.id, "dead", 60, now)
    wfx.store.save_step(ex.id, "dead", StepRecord(step_id="a", status=StepStatus.COMPLETED, output="A", seq=1,
                                                  routed_to=["b"]), Progress(completed=1, total=2), now + 60)
    err = ErrorInfo(code="step_failed", message="boom", step="b")
    wfx.store.save_step(ex.id, "dead", StepRecord(step_id="b", status=StepStatus.FAILED, error=err, seq=2),
                        Progress(completed=1, total=2), now + 60)
    wfx.store.release_lease(ex.id, "dead")  # the runner died before it could finish the execution
    final = wfx.engine.run(ex.id)
    assert final.status == ExecutionStatus.FAILED
    assert final.error is not None and (final.error.step, final.error.message) == ("b", "boom")


def test_each_loop_iteration_invokes_its_own_child_workflow(wfx: Executor) -> None:
    res = wfx.run("parent", {"xs": [1, 2, 3]}, workflow="""
workflows:
  parent:
    steps:
      - id: each
        loop:
          for_each: ${input.xs}
          body:
            - {id: call, invoke_workflow: child, input: {n: "${item}"}}
  child:
    steps:
      - {id: c, function: builtins.echo, args: {value: "${input.n}"}}
""")
    assert res.status == ExecutionStatus.COMPLETED, res.error
    assert res.result == [1, 2, 3]


def test_a_child_leased_by_a_dead_runner_is_taken_over_when_its_lease_ends(wfx: Executor) -> None:
    ex = queued(wfx, """
workflows:
  parent: {steps: [{id: call, invoke_workflow: child}]}
  child: {steps: [{id: c, function: builtins.echo, args: {value: from the child}}]}
""", "parent")
    now = wfx.engine.clock.now()
    child = Execution(id=f"{ex.id}.call", workflow_name="child", workflow_hash=ex.workflow_hash, parent_id=ex.id,
                      parent_step="call", depth=1, created_at_s=now, updated_at_s=now)
    wfx.registry.put("child", wfx.registry.get("parent", ex.workflow_hash).document, latest=False)  # type: ignore[union-attr]
    wfx.store.create(child)
    wfx.store.acquire_lease(child.id, "dead", 0.3, now)  # the runner that started the child died
    final = wfx.engine.run(ex.id)
    assert final.status == ExecutionStatus.COMPLETED, final.error
    assert final.result == "from the child"


def test_a_step_longer_than_the_lease_keeps_its_lease(tmp_path: Path, log: str) -> None:
    from executors import make_executor

    wfx = make_executor(tmp_path, "sqlite", lease_ttl_s=0.6)
    try:
        ex = queued(wfx, f"workflows: {{w: {{steps: [{{id: long, function: engine_fns.slow_mark, "
                         f"args: {{log: '{log}', name: long, seconds: 1.5}}}}]}}}}")
        worker = threading.Thread(target=wfx.engine.run, args=(ex.id,))
        worker.start()
        time.sleep(1.0)  # well past the 0.6 s lease, while the step still runs
        with pytest.raises(LeaseHeld):
            wfx.store.acquire_lease(ex.id, "intruder", 0.6, wfx.engine.clock.now())
        worker.join(10)
        assert wfx.status(ex.id).status == ExecutionStatus.COMPLETED
        assert count(log, "long") == 1
    finally:
        wfx.close()


def test_past_its_budget_a_run_starts_nothing_new_and_hands_over(wfx: Executor) -> None:
    ex = queued(wfx, """
workflows:
  w:
    steps:
      - {id: start, function: builtins.noop, output: {to: [p, q]}}
      - {id: p, function: builtins.sleep, args: {seconds: 0.8}, output: {to: p2}}
      - {id: p2, function: builtins.sleep, args: {seconds: 0.1}}
      - {id: q, function: builtins.sleep, args: {seconds: 0.05}, output: {to: q2}}
      - {id: q2, function: builtins.sleep, args: {seconds: 0.6}}
""")
    # q2 starts well inside the budget; p ends after it: p2 must wait for the next segment
    handed = wfx.engine.run(ex.id, budget_s=0.45)
    assert not handed.finished
    assert "p2" not in handed.steps and {"start", "p", "q", "q2"} <= set(handed.steps)
    final = wfx.engine.run(ex.id)
    assert final.status == ExecutionStatus.COMPLETED and "p2" in final.steps


def test_a_timed_out_attempt_is_not_retried_beside_itself(wfx: Executor, log: str) -> None:
    res = wfx.run(workflow=f"""
workflows:
  w:
    steps:
      - id: slow
        function: engine_fns.slow_mark
        args: {{log: "{log}", name: slow, seconds: 0.5}}
        timeout: 0.1
        retry: {{max_attempts: 3, backoff_s: 0}}
""")
    assert res.status == ExecutionStatus.FAILED
    assert res.error is not None and res.error.code == "step_timeout"
    assert res.steps["slow"].attempts == 1
    eventually(lambda: count(log, "slow") == 1, what="the abandoned attempt to end")
    time.sleep(0.6)  # no second attempt may start meanwhile
    assert count(log, "slow") == 1


def test_repeating_an_idempotent_request_while_it_runs_returns_it_instead_of_running_it_again(
        wfx: Executor, tmp_path: Path, log: str) -> None:
    gate = tmp_path / "gate"
    text = f"""
workflows:
  w:
    steps:
      - {{id: a, function: engine_fns.mark, args: {{log: "{log}", name: a}}}}
      - {{id: b, function: engine_fns.wait_for_file, args: {{path: "{gate}"}}}}
"""
    key = uuid.uuid4().hex
    first = threading.Thread(target=wfx.run, kwargs={"workflow": text, "idempotency_key": key})
    first.start()
    eventually(lambda: count(log, "a") == 1, what="the first run to start")
    again = wfx.run(workflow=text, idempotency_key=key)
    assert again.status == ExecutionStatus.RUNNING
    gate.touch()
    first.join(10)
    assert wfx.status(again.id).status == ExecutionStatus.COMPLETED
    assert count(log, "a") == 1


def test_a_takeover_never_takes_a_lease_from_a_live_process(wfx: Executor) -> None:
    import os

    from workflow_executor.ports import TaskRequest
    from workflow_executor.worker import handle_task

    ex = queued(wfx, "workflows: {w: {steps: [{id: a, function: builtins.noop}]}}")
    alive = f"{os.uname().nodename}:{os.getpid()}:other"  # this very process: certainly alive
    wfx.store.acquire_lease(ex.id, alive, 60, wfx.engine.clock.now())
    assert handle_task(wfx.services, TaskRequest(ex.id, takeover=True)).http_status == 409
    dead = f"{os.uname().nodename}:999999999:gone"
    other = queued(wfx, "workflows: {w: {steps: [{id: a, function: builtins.noop}]}}")
    wfx.store.acquire_lease(other.id, dead, 60, wfx.engine.clock.now())
    assert handle_task(wfx.services, TaskRequest(other.id, takeover=True)).http_status == 200
    assert wfx.status(other.id).status == ExecutionStatus.COMPLETED


def test_a_retried_sync_request_whose_runner_died_resumes_the_run_instead_of_answering_poll(
        wfx: Executor, log: str) -> None:
    # The instance that ran the sync request crashed mid-run and its lease lapsed: the retry with
    # the same key finishes the run, from its checkpoint (a live runner's run is answered as is).
    text = f"""
workflows:
  w:
    steps:
      - {{id: a, function: engine_fns.mark, args: {{log: "{log}", name: a}}}}
      - {{id: b, function: engine_fns.mark, args: {{log: "{log}", name: b}}}}
"""
    ex = wfx.submit("w", None, workflow=text, idempotency_key="k1", dispatch=False)
    now = wfx.engine.clock.now()
    wfx.store.acquire_lease(ex.id, "another-host:1:dead", 60.0, now - 100.0)
    wfx.store.save_step(ex.id, "another-host:1:dead", StepRecord(step_id="a", status=StepStatus.COMPLETED,
                                                                 output=1, seq=1, routed_to=["b"]),
                        Progress(completed=1, total=2), now - 40.0)
    again = wfx.run("w", None, workflow=text, idempotency_key="k1", timeout=30)
    assert (again.id, again.status) == (ex.id, ExecutionStatus.COMPLETED)
    assert Path(log).read_text().split() == ["b"]  # a finished before the crash: never again
