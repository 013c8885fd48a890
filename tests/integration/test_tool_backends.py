"""The tasklist and message queue tools on the cloud backends, through a real workflow run:
tasks in Firestore (emulator), messages on Pub/Sub (emulator, the real client) where a trigger
topic's push subscription carries the message on to the events function's URL."""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import pytest
from support import eventually
from workflow_executor.adapters.firestore_records import FirestoreToolRecords
from workflow_executor.adapters.pubsub_topics import clients
from workflow_executor.api import Executor
from workflow_executor.models import ExecutionStatus
from workflow_executor.services import build
from workflow_executor.settings import Settings
from workflow_executor.settings_tools import ToolSettings

from emulators import session as emulators

PROJECT = emulators.PROJECT
TOOLS = [{"id": "tasks", "type": "tasklist"}, {"id": "pub", "type": "message_queue_publisher"},
         {"id": "sub", "type": "message_queue_consumer"}]


@pytest.fixture
def cloud(firestore_host: str, pubsub_host: str, recorder: Any) -> Iterator[tuple[Executor, str]]:
    """An executor on Firestore and Pub/Sub; its trigger topic ``orders`` (deployed as
    <prefix>orders) pushes to the recorder, as the stack's topics push to the events function."""
    prefix = fresh("wfx") + "-"
    events = f"projects/{PROJECT}/topics/{prefix}events"
    orders = f"projects/{PROJECT}/topics/{prefix}orders"
    publisher, subscriber = clients()
    try:
        for topic in (events, orders):
            publisher.create_topic(name=topic)
        subscriber.create_subscription(request={"name": f"projects/{PROJECT}/subscriptions/{prefix}order-log",
                                                "topic": orders})
        subscriber.create_subscription(request={
            "name": f"projects/{PROJECT}/subscriptions/{prefix}orders-push", "topic": orders,
            "push_config": {"push_endpoint": f"{recorder.url}/{orders}"}})
    finally:
        publisher.transport.close()
        subscriber.transport.close()
    settings = Settings(store="firestore", gcp_project=PROJECT, events="pubsub", events_topic=events,
                        queue="local", trigger_topic_prefix=prefix,
                        tools=ToolSettings(mq_topics=("orders",), mq_subscriptions=(("order-log", "orders"),)))
    wfx = Executor(build(replace(settings)))
    yield wfx, prefix
    wfx.close()


def fresh(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def _step(sid: str, tool: str, method: str, **params: Any) -> dict[str, Any]:
    return {"id": sid, "tool": tool, "params": {"method": method, **params}}


def test_tasks_live_in_firestore_and_messages_go_through_pubsub(cloud: tuple[Executor, str],
                                                                 recorder: Any) -> None:
    wfx, _ = cloud
    owner = fresh("principal")
    doc = {"tools": TOOLS, "workflows": {"w": {"steps": [
        _step("t1", "tasks", "create_task", description="ship it", priority=2),
        _step("t2", "tasks", "complete_task", task_id="task-1"),
        _step("c", "sub", "start_consumer", consumer_id="c1", queue_name="order-log"),
        _step("p", "pub", "publish_message", channel="orders", message={"order": 9}),
        _step("r", "sub", "consume_messages", consumer_id="c1", wait_s=5),
        _step("x", "pub", "publish_message", channel="payments", message={"order": 1}),
    ]}}}
    done = wfx.run(workflow=doc, principal=owner)
    assert done.status == ExecutionStatus.FAILED and done.error is not None
    assert (done.error.code, done.error.step) == ("topic_not_allowed", "x")
    assert done.steps["p"].output["broker_type"] == "pubsub"
    message_id = done.steps["p"].output["message_id"]
    taken = done.steps["r"].output["messages"]
    assert [(m["message_id"], m["data"]) for m in taken] == [(message_id, {"order": 9})]

    records = FirestoreToolRecords(emulators.firestore_client(), owns_client=True)
    try:
        [task] = records.list(owner, "task")
        assert (task["task_id"], task["completed"]) == ("task-1", True)
        assert records.list(fresh("someone-else"), "task") == []
    finally:
        records.close()

    def pushed() -> Any:
        return [d for d in recorder.deliveries if d.json()["message"]["messageId"] == message_id]

    [delivery] = eventually(pushed, 20.0, what="the push of the published message")
    assert delivery.path.endswith("orders")
    assert json.loads(base64.b64decode(delivery.json()["message"]["data"])) == {"order": 9}
