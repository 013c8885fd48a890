"""While Pub/Sub is unreachable a request's flush waits for its own events only, and only
briefly once the API fails or a send hangs; the events are held and all sent after the outage
(up to the outbox's bound, past which the oldest are dropped and counted)."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from google.api_core import exceptions as gex
from support import eventually
from workflow_executor.adapters.pubsub import PubSubEventBus
from workflow_executor.ports import Event
from workflow_executor.settings import Settings


class OutageApi:
    """The publisher API through an outage: ``fail`` answers UNAVAILABLE at once, ``hang`` holds
    the request until the API is ``up`` again (then it goes through, as a hung server answers
    once it is back); ``up`` records what was published."""

    def __init__(self, mode: str = "up") -> None:
        self.mode = mode
        self.back = threading.Event()
        self.calls = 0
        self.published: list[int] = []

    def set(self, mode: str) -> None:
        self.mode = mode
        if mode == "up":
            self.back.set()

    def publish(self, *, messages: list[dict[str, Any]], **_: Any) -> None:
        self.calls += 1
        if self.mode == "fail":
            raise gex.ServiceUnavailable("pubsub is down")
        if self.mode == "hang" and not self.back.wait(30):
            raise gex.DeadlineExceeded("publish timed out")
        self.published += [json.loads(m["data"])["data"]["n"] for m in messages]

    @property
    def transport(self) -> Any:
        return self

    def close(self) -> None:
        return None


@pytest.fixture
def api() -> Iterator[OutageApi]:
    api = OutageApi()
    yield api
    api.set("up")  # a test that fails must not leave the sender hanging


def bus_on(api: OutageApi, **settings: Any) -> PubSubEventBus:
    return PubSubEventBus(Settings(events_topic="projects/p/topics/t", **settings), api=api)


@pytest.fixture
def hung(api: OutageApi) -> Iterator[PubSubEventBus]:
    """A bus whose sends hang until the test sets the API up (closed afterwards)."""
    api.set("hang")
    bus = bus_on(api)
    yield bus
    api.set("up")
    bus.close()


def event(n: int) -> Event:
    return Event(type="step.completed", execution_id=f"ex-{n}", workflow="wf", data={"n": n})


def in_thread(work: Callable[[], Any]) -> tuple[Any, float]:
    """``work()`` on a thread of its own (a request of its own), with the time it took."""
    out: list[Any] = []
    t = threading.Thread(target=lambda: out.append((work(), time.monotonic())))
    started = time.monotonic()
    t.start()
    t.join(15)
    return out[0][0], out[0][1] - started


def test_a_request_that_published_nothing_does_not_wait_for_a_hanging_send(hung: PubSubEventBus) -> None:
    hung.publish(event(1))  # another request's event: its send hangs
    settled, took = in_thread(lambda: hung.flush(3.0))
    assert settled and took < 0.1


def test_a_pooled_thread_does_not_wait_again_for_what_its_earlier_request_published(hung: PubSubEventBus) -> None:
    def two_requests() -> tuple[bool, float]:
        hung.publish(event(1))
        hung.flush(3.0)  # the first request on this thread: its event is held
        started = time.monotonic()
        return hung.flush(3.0), time.monotonic() - started  # the next one published nothing

    (settled, took), _ = in_thread(two_requests)
    assert settled and took < 0.1


def test_while_a_send_hangs_a_request_waits_for_its_own_events_half_a_second_at_most(
        api: OutageApi, hung: PubSubEventBus) -> None:
    hung.publish(event(1))

    def request() -> bool:
        hung.publish(event(2))
        return hung.flush(3.0)

    settled, took = in_thread(request)
    assert not settled and took < 0.7
    api.set("up")
    assert hung.flush(5.0, everything=True) and api.published == [1, 2]


def test_events_published_while_the_api_fails_are_all_sent_in_order_once_it_is_back(api: OutageApi) -> None:
    api.set("fail")
    bus = bus_on(api)
    for n in range(5):
        _, took = in_thread(lambda n=n: (bus.publish(event(n)), bus.flush(3.0)))
        assert took < 0.7
    eventually(lambda: api.calls >= 3, what="the sender to retry")
    assert api.published == [] and bus.stats()["pending"] == 5
    api.set("up")
    assert bus.flush(10.0, everything=True)
    assert (api.published, bus.stats()) == ([0, 1, 2, 3, 4], {"queued": 5, "sent": 5, "dropped": 0, "pending": 0})
    bus.close()


def test_past_the_outbox_bound_the_oldest_events_are_dropped_and_counted(api: OutageApi) -> None:
    api.set("hang")
    bus = bus_on(api, events_outbox_max=3)
    bus.publish(event(1))
    eventually(lambda: api.calls == 1, what="the first send to hang")
    for n in range(2, 7):
        bus.publish(event(n))
    api.set("up")
    assert bus.flush(10.0, everything=True)
    assert (api.published, bus.stats()) == ([1, 4, 5, 6], {"queued": 6, "sent": 4, "dropped": 2, "pending": 0})
    bus.close()
