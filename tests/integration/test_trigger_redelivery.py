"""Trigger messages across a Pub/Sub emulator restart: the restarted emulator numbers message ids
from 1 again, so a run is deduplicated by topic + message id + publish time, never by the id
alone (issue 18, point 9: 3 of 5 messages were dropped as duplicates)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from google.cloud import pubsub_v1
from support import eventually
from test_events import PROJECT, fresh, push_event, started, triggered_doc
from workflow_executor.api import Executor
from workflow_executor.events import handle_cloud_event

from emulators.gcp import EmulatorProcess, start_pubsub


@pytest.fixture
def own_pubsub(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[EmulatorProcess]]:
    """A Pub/Sub emulator of this test alone (it restarts it); the clients made while it runs use it."""
    procs = [start_pubsub()]
    monkeypatch.setenv("PUBSUB_EMULATOR_HOST", procs[0].host_port)
    yield procs
    for proc in procs:
        proc.stop()


def publish_and_pull(topic: str, bodies: list[dict[str, Any]]) -> list[Any]:
    """Create the topic and a pull subscription, publish ``bodies``, and pull them back."""
    pub, sub = pubsub_v1.PublisherClient(), pubsub_v1.SubscriberClient()
    subscription = sub.subscription_path(PROJECT, fresh("s"))
    try:
        pub.create_topic(name=topic)
        sub.create_subscription(request={"name": subscription, "topic": topic})
        for body in bodies:
            pub.publish(topic, json.dumps(body).encode()).result(timeout=10)
        got: list[Any] = []

        def more() -> bool:
            resp = sub.pull(subscription=subscription, max_messages=len(bodies), timeout=5)
            got.extend(m.message for m in resp.received_messages)
            if resp.received_messages:
                sub.acknowledge(subscription=subscription, ack_ids=[m.ack_id for m in resp.received_messages])
            return len(got) >= len(bodies)

        eventually(more, what=f"{len(bodies)} messages on {subscription}")
        return got
    finally:
        pub.transport.close()
        sub.close()


def delivered(topic: str, message: Any) -> tuple[dict[str, Any], Any]:
    """The CloudEvent of a push of ``message`` (as the emulator stamped it) to the events function."""
    return push_event(topic, message.message_id, None, dict(message.attributes),
                      publish_time=message.publish_time.rfc3339(), raw=message.data)


def test_messages_after_an_emulator_restart_start_their_runs_though_their_ids_repeat(
        queued_services, own_pubsub: list[EmulatorProcess]) -> None:
    svc, _ = queued_services
    name = fresh("wf")
    topic = f"projects/{PROJECT}/topics/{fresh('orders')}"
    Executor(svc).register(triggered_doc(name, topic.rsplit("/", 1)[-1]))
    before = publish_and_pull(topic, [{"n": n} for n in range(5)])
    port = own_pubsub[0].port
    own_pubsub[0].stop()
    own_pubsub.append(start_pubsub(port=port))  # the same address: the topic is created again
    after = publish_and_pull(topic, [{"n": n} for n in range(5, 10)])
    assert {m.message_id for m in before} & {m.message_id for m in after}, "the restarted emulator reused no id"
    for message in [*before, *after]:
        handle_cloud_event(svc, *delivered(topic, message))
    handle_cloud_event(svc, *delivered(topic, after[0]))  # a redelivery still starts nothing new
    runs = started(svc, name)
    assert sorted(ex.input["data"]["n"] for ex in runs) == list(range(10))
