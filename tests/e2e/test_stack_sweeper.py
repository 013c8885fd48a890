"""No run stays `running` on the stack: the queue retries past the lease, and the sweep job hands
back runs whose last redelivery is gone or that a crashed mcp instance was running inline."""

from __future__ import annotations

import threading
import uuid
from pathlib import Path
from typing import Any

from google.cloud import tasks_v2
from support import eventually
from test_stack import HELD, finished, lines
from wfx_e2e_support import tool
from workflow_executor.adapters.cloud_tasks import task_id, tasks_client
from workflow_executor.ports import ExecutionQuery
from workflow_executor.services import Services

from emulators.cloud_tasks.retry import RetryPolicy
from emulators.stack import Stack


def test_the_stack_queue_retries_past_the_lease_its_functions_use(stack: Stack) -> None:
    client = tasks_client(stack.env["WFX_TASKS_EMULATOR_HOST"])
    try:
        queue = client.get_queue(name=stack.env["WFX_TASKS_QUEUE"])
    finally:
        client.transport.close()
    policy = RetryPolicy.effective(tasks_v2.Queue.pb(queue).retry_config)
    lease = float(stack.proc("worker").env["WFX_LEASE_TTL_S"])
    assert policy.last_attempt_s() >= lease + 60


def test_a_run_whose_worker_died_and_whose_task_is_gone_is_swept_back_and_completes(
        stack: Stack, log: Path, tmp_path: Path) -> None:
    release = tmp_path / "release"
    started = tool(stack.mcp_url, "execute_workflow", workflow=HELD, execution_mode="async",
                   input_data={"log": str(log), "release": str(release)})
    eventually(lambda: "b" in lines(log), what="step b to start")
    stack.kill("worker")
    # The queue's last redelivery is gone (retries spent on 409s, or a task deleted): only the
    # sweep job can bring the run back now.
    client = tasks_client(stack.env["WFX_TASKS_EMULATOR_HOST"])
    try:
        client.delete_task(name=f"{stack.env['WFX_TASKS_QUEUE']}/tasks/{task_id(started['execution_id'], 0)}")
    finally:
        client.transport.close()
    stack.restart("worker")
    release.touch()
    assert finished(stack, started["execution_id"], timeout=30)["status"] == "completed"
    assert lines(log) == ["a", "b", "b", "c"]


def test_a_sync_run_cut_off_by_an_mcp_crash_is_finished_by_the_sweeper(
        stack: Stack, client: Services, log: Path, tmp_path: Path) -> None:
    release, name = tmp_path / "release", f"held{uuid.uuid4().hex[:8]}"
    answers: list[Any] = []

    def call() -> None:
        try:
            answers.append(tool(stack.mcp_url, "execute_workflow", workflow=HELD.replace("held:", f"{name}:"),
                                input_data={"log": str(log), "release": str(release)}))
        except OSError as exc:  # the instance died under the request
            answers.append(exc)

    caller = threading.Thread(target=call)
    caller.start()
    eventually(lambda: "b" in lines(log), what="step b to start in the mcp instance")
    stack.kill("mcp")
    caller.join(10)
    stack.restart("mcp")
    [ex] = client.store.list(ExecutionQuery(workflow_name=name)).items
    release.touch()
    assert finished(stack, ex.id, timeout=30)["status"] == "completed"
    assert lines(log) == ["a", "b", "b", "c"] and isinstance(answers[0], OSError)


CALL = '      - {id: call, invoke_workflow: held, input: {log: "${input.log}", release: "${input.release}"}}\n'
FAMILY = HELD.replace("held:", "family:").replace("      - {id: a,", CALL + "  held:\n    steps:\n      - {id: a,", 1)


def test_cancelling_a_parent_whose_worker_died_inside_its_child_ends_the_child_too(
        stack: Stack, client: Services, log: Path, tmp_path: Path) -> None:
    release = tmp_path / "release"
    started = tool(stack.mcp_url, "execute_workflow", workflow=FAMILY, workflow_name="family",
                   execution_mode="async", input_data={"log": str(log), "release": str(release)})
    eventually(lambda: "b" in lines(log), what="the child's step b to start")
    stack.kill("worker")
    cancelled = tool(stack.mcp_url, "cancel_execution", execution_id=started["execution_id"])
    assert cancelled["status"] == "cancelled"
    stack.restart("worker")
    child_id = f"{started['execution_id']}.call"
    child = eventually(lambda: (c := client.store.get(child_id)) is not None and c.finished and c,
                       timeout=20, what="the orphaned child to be ended")
    assert child.status == "cancelled" and started["execution_id"] in (child.error.message if child.error else "")
    release.touch()
    assert lines(log) == ["a", "b"]
