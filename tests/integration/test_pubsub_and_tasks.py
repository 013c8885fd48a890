"""The Pub/Sub event bus and the Cloud Tasks queue against the emulators."""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from google.cloud import pubsub_v1
from support import eventually
from workflow_executor.adapters.cloud_tasks import CloudTasksQueue, tasks_client
from workflow_executor.adapters.pubsub import PubSubEventBus
from workflow_executor.ports import Event, TaskRequest
from workflow_executor.settings import Settings

from emulators import session as emulators

PROJECT = emulators.PROJECT


def fresh(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


@pytest.fixture
def topic(pubsub_host: str) -> Iterator[tuple[str, str]]:
    """A fresh topic and an ordered pull subscription on it."""
    pub, sub = pubsub_v1.PublisherClient(), pubsub_v1.SubscriberClient()
    name, subscription = pub.topic_path(PROJECT, fresh("t")), sub.subscription_path(PROJECT, fresh("s"))
    pub.create_topic(name=name)
    sub.create_subscription(request={"name": subscription, "topic": name, "enable_message_ordering": True})
    yield name, subscription
    sub.close()


def pull(subscription: str, n: int) -> list[Any]:
    with pubsub_v1.SubscriberClient() as sub:
        got: list[Any] = []

        def more() -> bool:
            resp = sub.pull(subscription=subscription, max_messages=n, timeout=5)
            got.extend(m.message for m in resp.received_messages)
            if resp.received_messages:
                sub.acknowledge(subscription=subscription, ack_ids=[m.ack_id for m in resp.received_messages])
            return len(got) >= n

        eventually(more, what=f"{n} messages on {subscription}")
        return got


def test_events_are_published_in_order_with_their_attributes(topic: tuple[str, str]):
    name, subscription = topic
    bus = PubSubEventBus(Settings(events_topic=name))
    types = ["execution.running", "step.completed", "step.completed", "execution.completed"]
    for i, t in enumerate(types):
        bus.publish(Event(type=t, execution_id="ex-1", workflow="wf", data={"i": i}, attributes={"k": "v"}))
    assert bus.flush(10)
    bus.close()
    messages = pull(subscription, len(types))
    assert [m.attributes["type"] for m in messages] == types
    assert [json.loads(m.data)["data"]["i"] for m in messages] == [0, 1, 2, 3]
    assert {(m.ordering_key, m.attributes["execution_id"], m.attributes["workflow"], m.attributes["k"])
            for m in messages} == {("ex-1", "ex-1", "wf", "v")}


def test_publishing_to_a_missing_topic_never_raises_into_the_engine(pubsub_host: str):
    bus = PubSubEventBus(Settings(events_topic=f"projects/{PROJECT}/topics/{fresh('missing')}"))
    for _ in range(3):
        bus.publish(Event(type="step.completed", execution_id="ex-2", workflow="wf"))
    assert bus.flush(10)  # settled (as failures, logged)
    bus.publish(Event(type="execution.completed", execution_id="ex-2", workflow="wf"))
    bus.close()


@pytest.fixture
def queue_name(tasks_host: str) -> str:
    client = tasks_client(tasks_host)
    parent = f"projects/{PROJECT}/locations/here"
    name = f"{parent}/queues/{fresh('q')}"
    client.create_queue(parent=parent, queue={"name": name})
    client.transport.close()
    return name


def queue(tasks_host: str, queue_name: str, url: str, **over: Any) -> CloudTasksQueue:
    return CloudTasksQueue(Settings(tasks_queue=queue_name, worker_url=url, tasks_emulator_host=tasks_host,
                                    tasks_dispatch_deadline_s=120, **over))


def test_a_task_posts_the_execution_to_the_worker_with_the_secret_and_deadline(tasks_host, queue_name, recorder):
    q = queue(tasks_host, queue_name, recorder.url + "/worker", worker_secret="s3cret")
    q.enqueue(TaskRequest("ex-a", segment=2))
    [d] = eventually(lambda: recorder.deliveries, what="a delivery")
    assert (d.path, d.json()) == ("/worker", {"execution_id": "ex-a", "segment": 2})
    assert (d.headers["x-wfx-worker-secret"], d.headers["x-wfx-dispatch-deadline-s"]) == ("s3cret", "120")
    assert d.headers["x-cloudtasks-taskname"] == "ex-a-2"
    q.close()


def test_enqueuing_the_same_segment_twice_queues_one_task_and_cancel_deletes_it(tasks_host, queue_name, recorder):
    q = queue(tasks_host, queue_name, recorder.url)
    for _ in range(2):
        q.enqueue(TaskRequest("ex-b", segment=0, delay_s=600))
    client = tasks_client(tasks_host)
    assert [t.name for t in client.list_tasks(parent=queue_name)] == [f"{queue_name}/tasks/ex-b-0"]
    q.cancel("ex-b")
    q.cancel("ex-b")  # gone already: fine
    assert list(client.list_tasks(parent=queue_name)) == []
    client.transport.close()
    q.close()


def test_a_task_carries_an_oidc_token_of_the_tasks_service_account(tasks_host, queue_name, recorder):
    sa = "tasks@wfx-test.iam.gserviceaccount.com"
    q = queue(tasks_host, queue_name, recorder.url + "/w", tasks_service_account=sa)
    q.enqueue(TaskRequest("ex.c/odd", segment=0))
    [d] = eventually(lambda: recorder.deliveries, what="a delivery")
    payload = d.headers["authorization"].split()[1].split(".")[1]
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    assert (claims["email"], claims["aud"]) == (sa, recorder.url + "/w")
    assert d.headers["x-cloudtasks-taskname"] == "ex_c_odd-0"
    assert "x-wfx-worker-secret" not in d.headers
    q.close()
