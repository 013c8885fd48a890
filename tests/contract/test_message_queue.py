"""MessageQueue contract, one suite over the embedded SQLite queue and Pub/Sub on its emulator
(the real google-cloud-pubsub client): fan-out to each subscription of a topic, acknowledged
pulls, and clear errors for what does not exist."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from support import eventually
from workflow_executor.adapters.pubsub_queue import PubSubMessageQueue
from workflow_executor.adapters.pubsub_topics import clients
from workflow_executor.adapters.sqlite_queue import SqliteMessageQueue
from workflow_executor.errors import NotFound
from workflow_executor.ports_tools import MessageQueue, QueueMessage

from emulators import session as emulators

SUBS = {"first": "orders", "second": "orders", "elsewhere": "other"}


def _pubsub(prefix: str) -> PubSubMessageQueue:
    emulators.pubsub()
    queue = PubSubMessageQueue(emulators.PROJECT, prefix, SUBS)
    publisher, subscriber = clients()
    try:
        for topic in set(SUBS.values()):
            publisher.create_topic(name=queue.topic_path(topic))
        for sub, topic in SUBS.items():
            subscriber.create_subscription(request={"name": queue.subscription_path(sub),
                                                    "topic": queue.topic_path(topic)})
    finally:
        publisher.transport.close()
        subscriber.transport.close()
    return queue


@pytest.fixture(params=["sqlite", "pubsub"])
def queue(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[MessageQueue]:
    prefix = f"t{uuid.uuid4().hex[:10]}-"
    q: MessageQueue = SqliteMessageQueue(tmp_path / "wfx.db", SUBS) if request.param == "sqlite" else _pubsub(prefix)
    yield q
    close = getattr(q, "close", None)
    if close is not None:
        close()


def _pull_all(queue: MessageQueue, sub: str, n: int) -> list[QueueMessage]:
    got: list[QueueMessage] = []

    def more() -> bool:  # Pub/Sub may hand out fewer than asked in one pull
        got.extend(queue.pull(sub, n - len(got), 1.0))
        return len(got) >= n

    eventually(more, 20.0, what=f"{n} messages on {sub}")
    return got


def test_a_message_reaches_every_subscription_of_its_topic_once(queue: MessageQueue) -> None:
    before = time.time()
    mid = queue.publish("orders", json.dumps({"order": 7}).encode(), {"wfx_step": "s1"})
    for sub in ("first", "second"):
        [msg] = _pull_all(queue, sub, 1)
        assert (msg.id, json.loads(msg.data), msg.attributes) == (mid, {"order": 7}, {"wfx_step": "s1"})
        assert before - 1 <= msg.published_at_s <= time.time() + 1
        assert queue.pull(sub, 10, 0.0) == []  # acknowledged: never handed out again
    assert queue.pull("elsewhere", 10, 0.0) == []


def test_pull_hands_out_at_most_the_number_asked_for(queue: MessageQueue) -> None:
    ids = [queue.publish("other", str(n).encode(), {}) for n in range(5)]
    first = _pull_all(queue, "elsewhere", 2)
    assert len(first) == 2
    rest = _pull_all(queue, "elsewhere", 3)
    assert sorted(m.id for m in first + rest) == sorted(ids)
    assert sorted(int(m.data) for m in first + rest) == [0, 1, 2, 3, 4]


def test_a_pull_of_an_unknown_subscription_is_not_found(queue: MessageQueue) -> None:
    with pytest.raises(NotFound) as err:
        queue.pull("never-made", 1, 0.0)
    assert err.value.code == "not_found"


def test_message_ids_are_distinct(queue: MessageQueue) -> None:
    ids = {queue.publish("orders", b"x", {}) for _ in range(5)}
    assert len(ids) == 5


def test_an_embedded_publish_tells_its_listener_even_with_no_subscription(tmp_path: Path) -> None:
    seen: list[tuple[str, QueueMessage]] = []
    q = SqliteMessageQueue(tmp_path / "wfx.db", SUBS, on_publish=lambda topic, m: seen.append((topic, m)))
    try:
        mid = q.publish("lonely", b'{"a": 1}', {"k": "v"})
        assert [(t, m.id, m.data, m.attributes) for t, m in seen] == [("lonely", mid, b'{"a": 1}', {"k": "v"})]
        assert q.publish("lonely", b"again", {}) != mid  # ids are never reused, even of dropped messages
    finally:
        q.close()


def test_a_pubsub_publish_to_a_missing_topic_is_not_found(pubsub_queue_prefix: str) -> None:
    q = PubSubMessageQueue(emulators.PROJECT, pubsub_queue_prefix, {})
    try:
        with pytest.raises(NotFound) as err:
            q.publish("no-such-topic", b"x", {})
        assert err.value.code == "not_found"
    finally:
        q.close()


def test_a_pubsub_subscription_the_operator_bound_to_a_topic_is_made_at_first_pull(pubsub_queue_prefix: str) -> None:
    q = _pubsub(pubsub_queue_prefix)
    late = PubSubMessageQueue(emulators.PROJECT, pubsub_queue_prefix, {"late": "orders"})
    try:
        assert late.pull("late", 5, 0.0) == []  # created now: it gets what is published from now on
        mid = q.publish("orders", b"hello", {})
        assert [m.id for m in _pull_all(late, "late", 1)] == [mid]
    finally:
        q.close()
        late.close()


@pytest.fixture
def pubsub_queue_prefix() -> str:
    emulators.pubsub()
    return f"t{uuid.uuid4().hex[:10]}-"
