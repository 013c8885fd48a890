"""End to end over real processes on the emulators: MCP -> Firestore -> Cloud Tasks -> worker ->
Pub/Sub -> events function, and the faults the design promises to survive."""

from __future__ import annotations

import json
import threading
import uuid
from pathlib import Path
from typing import Any

from google.cloud import pubsub_v1
from support import eventually
from wfx_e2e_support import PROJECT, TRIGGER_TOPIC, post, push_body, tool
from workflow_executor.api import Executor
from workflow_executor.models import Execution
from workflow_executor.ports import ExecutionQuery
from workflow_executor.services import Services

from emulators.stack import Stack

FN = "tests.e2e.fixtures"
TRACED = f"""
workflows:
  traced:
    steps:
      - {{id: a, function: {FN}.append_line, args: {{path: "${{input.log}}", line: a}}}}
      - {{id: b, function: {FN}.append_line, args: {{path: "${{input.log}}", line: b}}}}
      - {{id: c, function: {FN}.append_line, args: {{path: "${{input.log}}", line: c, value: done}}}}
"""
HELD = f"""
workflows:
  held:
    steps:
      - {{id: a, function: {FN}.append_line, args: {{path: "${{input.log}}", line: a}}}}
      - {{id: b, function: {FN}.wait_for_file, args: {{path: "${{input.release}}", log: "${{input.log}}", line: b}}}}
      - {{id: c, function: {FN}.append_line, args: {{path: "${{input.log}}", line: c}}}}
"""


def lines(log: Path) -> list[str]:
    return log.read_text().split() if log.exists() else []


def status(stack: Stack, execution_id: str) -> dict[str, Any]:
    return tool(stack.mcp_url, "check_execution_status", execution_id=execution_id)


def finished(stack: Stack, execution_id: str, timeout: float = 20.0) -> dict[str, Any]:
    return eventually(lambda: (s := status(stack, execution_id))["status"] in ("completed", "failed") and s,
                      timeout=timeout, what=f"execution {execution_id} to finish")


def test_an_async_mcp_call_goes_through_tasks_worker_and_events_to_completed(stack: Stack, client: Services,
                                                                            log: Path):
    started = tool(stack.mcp_url, "execute_workflow", workflow=TRACED, input_data={"log": str(log)},
                   execution_mode="async")
    stored = client.store.get(started["execution_id"])  # durably stored before the answer
    assert stored is not None and stored.mode == "async"
    done = finished(stack, stored.id)
    assert (done["status"], lines(log)) == ("completed", ["a", "b", "c"])
    views = client.store.views()  # type: ignore[attr-defined]
    view = eventually(lambda: views.get(stored.id), what="the events function's view")
    assert (view["status"], view["workflow"]) == ("completed", "traced")


def test_a_worker_killed_mid_run_is_redelivered_and_resumes_without_rerunning_finished_steps(
        stack: Stack, log: Path, tmp_path: Path):
    release = tmp_path / "release"
    started = tool(stack.mcp_url, "execute_workflow", workflow=HELD, execution_mode="async",
                   input_data={"log": str(log), "release": str(release)})
    eventually(lambda: "b" in lines(log), what="step b to start")
    stack.kill("worker")  # SIGKILL the whole instance mid-step
    stack.restart("worker")
    release.touch()
    assert finished(stack, started["execution_id"], timeout=30)["status"] == "completed"
    assert lines(log) == ["a", "b", "b", "c"]  # a finished before the kill: never again; b re-ran


def submitted(client: Services, text: str, name: str, data: Any) -> Execution:
    """An execution stored as the MCP function stores it, but not enqueued (we deliver it)."""
    stored = Executor(client).register(text)[0]
    now = client.engine.clock.now()
    ex = Execution(id=uuid.uuid4().hex, workflow_name=name, workflow_hash=stored.hash, mode="async", input=data,
                   created_at_s=now, updated_at_s=now)
    return client.store.create(ex)[0]


def test_the_same_task_delivered_twice_runs_each_step_once(stack: Stack, client: Services, log: Path,
                                                           tmp_path: Path):
    release = tmp_path / "release"
    ex = submitted(client, HELD, "held", {"log": str(log), "release": str(release)})
    task = json.dumps({"execution_id": ex.id, "segment": 0}).encode()
    headers = {"X-Wfx-Worker-Secret": stack.env["WFX_WORKER_SECRET"], "Content-Type": "application/json"}
    answers: list[tuple[int, bytes]] = []
    first = threading.Thread(target=lambda: answers.append(post(stack.urls["worker"], task, headers)))
    first.start()
    eventually(lambda: "b" in lines(log), what="the first delivery to reach step b")
    busy = post(stack.urls["worker"], task, headers)  # a duplicate while the first one runs
    release.touch()
    first.join(30)
    late = post(stack.urls["worker"], task, headers)  # and one after it finished
    codes = [(code, json.loads(body)["status"]) for code, body in (*answers, busy, late)]
    assert codes == [(200, "completed"), (409, "busy"), (200, "conflict")]
    assert lines(log) == ["a", "b", "c"]


def test_a_message_on_a_trigger_topic_starts_its_workflow_exactly_once_also_when_delivered_twice(
        stack: Stack, client: Services, log: Path):
    name = f"on-order-{uuid.uuid4().hex[:8]}"
    Executor(client).register(json.dumps({
        "workflows": {name: {"steps": [{"id": "a", "function": f"{FN}.append_line",
                                        "args": {"path": "${input.data.log}", "line": "ran"}}]}},
        "triggers": [{"topic": TRIGGER_TOPIC, "workflow": name, "filter": {"kind": "new"}}]}))
    topic = f"projects/{PROJECT}/topics/{TRIGGER_TOPIC}"
    data, attributes = {"log": str(log)}, {"kind": "new"}
    publisher = pubsub_v1.PublisherClient()
    message_id = publisher.publish(topic, json.dumps(data).encode(), **attributes).result(10)
    runs = lambda: client.store.list(ExecutionQuery(workflow_name=name)).items  # noqa: E731
    [ex] = eventually(runs, what="the triggered execution")
    eventually(lambda: lines(log) == ["ran"], what="the triggered run")
    # a redelivery carries the message's own publish time (part of the dedup key: topic, id, publish time)
    published = (ex.idempotency_key or "").split(f":{message_id}:", 1)[1].removesuffix(f":{name}")
    redelivery = push_body(topic.replace("/topics/", "/subscriptions/") + "-push", message_id, data, attributes,
                           published)
    for _ in range(2):  # Pub/Sub delivers at least once: the same message again
        code, _ = post(stack.urls["events"] + topic, redelivery, {"Content-Type": "application/json"})
        assert code == 200
    assert [e.id for e in runs()] == [ex.id]
    assert finished(stack, ex.id)["status"] == "completed"
    assert lines(log) == ["ran"]
