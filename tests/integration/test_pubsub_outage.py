"""While Pub/Sub is unreachable a request's flush waits for its own events only, and only
briefly once the API is known to fail: one stuck publish must not stall every request."""

from __future__ import annotations

import threading
import time
from typing import Any

from google.api_core import exceptions as gex
from workflow_executor.adapters.pubsub import PubSubEventBus
from workflow_executor.ports import Event
from workflow_executor.settings import Settings


class StuckApi:
    """The publisher API during an outage: each publish fails at once (``fail``) or hangs until
    released, like a call that runs into its timeout."""

    def __init__(self) -> None:
        self.fail = False
        self.release = threading.Event()
        self.calls = 0

    def publish(self, **_: Any) -> None:
        self.calls += 1
        if self.fail:
            raise gex.ServiceUnavailable("pubsub is down")
        self.release.wait(30)
        raise gex.DeadlineExceeded("publish timed out")

    @property
    def transport(self) -> Any:
        return self

    def close(self) -> None:
        return None


def event(n: int) -> Event:
    return Event(type="step.completed", execution_id=f"ex-{n}", workflow="wf")


def timed_flush(bus: PubSubEventBus) -> tuple[bool, float]:
    out: list[Any] = []
    t = threading.Thread(target=lambda: out.append((bus.flush(3.0), time.monotonic())))
    started = time.monotonic()
    t.start()
    t.join(10)
    return out[0][0], out[0][1] - started


def test_a_request_that_published_nothing_does_not_wait_for_a_stuck_publish() -> None:
    api = StuckApi()
    bus = PubSubEventBus(Settings(events_topic="projects/p/topics/t"), api=api)
    try:
        bus.publish(event(1))  # another request's event: its publish hangs
        settled, took = timed_flush(bus)  # this request (thread) published nothing
        assert settled and took < 0.5
    finally:
        api.release.set()
        bus.close()


def test_once_a_send_failed_a_request_waits_briefly_for_its_own_events() -> None:
    api = StuckApi()
    api.fail = True
    bus = PubSubEventBus(Settings(events_topic="projects/p/topics/t"), api=api)
    try:
        bus.publish(event(1))
        assert bus.flush(3.0)  # settled as a failure, logged
        api.fail = False  # the next publish hangs (the outage goes on)
        mine: list[Any] = []

        def request() -> None:
            bus.publish(event(2))
            started = time.monotonic()
            mine.append((bus.flush(3.0), time.monotonic() - started))

        t = threading.Thread(target=request)
        t.start()
        t.join(10)
        [(settled, took)] = mine
        assert not settled and took < 1.0
    finally:
        api.release.set()
        bus.close()
