"""Wait steps on the emulator stack (functions under functions-framework, Firestore, Pub/Sub and
our Cloud Tasks emulator): a timeout fires as the Cloud Task scheduled for it, and a message on
the events topic with attributes execution_id and event resumes a waiting run, and one with only
an event resumes the run whose match its payload holds."""

from __future__ import annotations

import json
from typing import Any

from google.cloud import pubsub_v1
from support import eventually
from test_stack import finished, status
from wfx_e2e_support import rpc, tool
from workflow_executor.adapters.cloud_tasks import task_id, tasks_client
from workflow_executor.engine.waits import WAIT_TIMER_BASE

from emulators.stack import Stack

WAITS = """
workflows:
  timed:
    steps:
      - id: approval
        wait_for: {event: approval, timeout: 1.5}
        output:
          to:
            - condition: {if: "${wait.timed_out}", then: [escalate], else: [done]}
      - {id: escalate, function: builtins.echo, args: {value: escalated}, output: {to: user}}
      - {id: done, function: builtins.echo, args: {value: approved}, output: {to: user}}
  approve:
    steps:
      - id: approval
        wait_for: {event: approval, timeout: 600}
        output: {to: user}
  ship:
    steps:
      - id: paid
        wait_for: {event: payment, match: {order: "${input.order}"}, timeout: 600}
        output: {to: user}
"""


def waiting(stack: Stack, workflow: str, input_data: dict[str, Any] | None = None) -> dict[str, Any]:
    started = tool(stack.mcp_url, "execute_workflow", workflow=WAITS, workflow_name=workflow,
                   input_data=input_data or {}, execution_mode="async")
    eid = started["execution_id"]
    return eventually(lambda: (s := status(stack, eid))["status"] == "waiting" and s, timeout=2.0,
                      what=f"{eid} to wait")


def test_a_wait_times_out_through_the_cloud_task_scheduled_for_it(stack: Stack) -> None:
    shown = waiting(stack, "timed")
    eid = shown["execution_id"]
    client = tasks_client(stack.env["WFX_TASKS_EMULATOR_HOST"])
    name = f"{stack.env['WFX_TASKS_QUEUE']}/tasks/{task_id(eid, WAIT_TIMER_BASE + 1)}"
    try:  # the timer is a task of the queue, scheduled for the wait's end (armed just after the park)
        task = eventually(lambda: next((t for t in client.list_tasks(parent=stack.env["WFX_TASKS_QUEUE"])
                                        if t.name == name), None), timeout=2.0, what="the timer task")
    finally:
        client.transport.close()
    assert task.schedule_time.timestamp() > task.create_time.timestamp() + 1.0
    done = finished(stack, eid, timeout=15)
    assert (done["status"], done["result"]) == ("completed", "escalated")


def test_a_pubsub_message_on_the_events_topic_resumes_a_waiting_run(stack: Stack) -> None:
    eid = waiting(stack, "approve")["execution_id"]
    publisher = pubsub_v1.PublisherClient()
    publisher.publish(stack.env["WFX_EVENTS_TOPIC"], json.dumps({"approved": True, "by": "billing"}).encode(),
                      execution_id=eid, event="approval").result(10)
    done = finished(stack, eid, timeout=15)
    assert (done["status"], done["result"]) == ("completed", {"approved": True, "by": "billing"})
    again = rpc(stack.mcp_url, "tools/call", {"name": "send_event", "arguments": {
        "execution_id": eid, "event": "approval", "payload": {}}})
    assert (again["isError"], again["structuredContent"]["code"]) == (True, "already_delivered")


def test_a_pubsub_message_without_execution_id_resumes_the_run_its_payload_matches(stack: Stack) -> None:
    mine = waiting(stack, "ship", {"order": 71})["execution_id"]
    other = waiting(stack, "ship", {"order": 72})["execution_id"]
    publisher = pubsub_v1.PublisherClient()
    publisher.publish(stack.env["WFX_EVENTS_TOPIC"], json.dumps({"order": 71, "paid": True}).encode(),
                      event="payment").result(10)
    done = finished(stack, mine, timeout=15)
    assert (done["status"], done["result"]) == ("completed", {"order": 71, "paid": True})
    assert status(stack, other)["status"] == "waiting"
    tool(stack.mcp_url, "cancel_execution", execution_id=other)
