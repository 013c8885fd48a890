"""Pub/Sub EventBus: every engine event becomes one message on the events topic, ordering key =
execution id, attributes ``type``/``execution_id``/``workflow``. ``publish`` never blocks or raises."""

# publish only appends to a buffer; one sender thread publishes whatever has gathered, one request
# at a time (so one key's messages leave in order, and without the thread per batch the client
# library's batcher starts). flush (the functions call it before they answer) waits until the
# calling thread's events are sent (briefly only while the API is failing); close sends all.

from __future__ import annotations

import json
import logging
import threading
import time
from typing import Any

from ..errors import InvalidArgument
from ..ports import Event
from ..settings import Settings

log = logging.getLogger(__name__)

MAX_BUFFER = 10_000
MAX_BATCH = 500  # messages per request (the API allows 1000 and 10 MB)
PUBLISH_TIMEOUT_S = 30.0
OUTAGE_WAIT_S = 0.5  # the longest a request's flush waits while the API is failing


def encode(event: Event) -> tuple[bytes, dict[str, str]]:
    """The message body (JSON) and attributes of an event."""
    body = {"type": event.type, "execution_id": event.execution_id, "workflow": event.workflow,
            "data": event.data, "time_s": time.time()}
    attributes = {**event.attributes, "type": event.type, "execution_id": event.execution_id,
                  "workflow": event.workflow}
    return json.dumps(body, default=str).encode(), attributes


class PubSubEventBus:
    """EventBus on one Pub/Sub topic (``settings.events_topic``: projects/P/topics/T).
    PUBSUB_EMULATOR_HOST points the client at an emulator."""

    def __init__(self, settings: Settings, *, api: Any = None) -> None:
        if not settings.events_topic:
            raise InvalidArgument("the Pub/Sub event bus needs a topic",
                                  fix="set WFX_EVENTS_TOPIC=projects/<project>/topics/<topic>")
        self.topic = settings.events_topic
        self._api = api
        self._buffer: list[dict[str, Any]] = []
        self._queued = self._sent = 0  # counters of messages: flush waits for sent >= queued
        self._cond = threading.Condition()
        self._closed = False
        self._thread: threading.Thread | None = None
        self._mine = threading.local()  # .last: the counter value of this thread's latest message
        self._failing = False  # the latest send failed: requests' flushes wait briefly only

    def publish(self, event: Event) -> None:
        """Queue the message for the sender; never raises into the engine."""
        try:
            data, attributes = encode(event)
            message = {"data": data, "attributes": attributes, "ordering_key": event.execution_id}
            with self._cond:
                if self._closed:
                    log.warning("event %s of %s after close: dropped", event.type, event.execution_id)
                    return
                if len(self._buffer) >= MAX_BUFFER:
                    # The API is down for long: keep memory bounded, drop the oldest (events are
                    # projections; the store stays the truth).
                    self._buffer.pop(0)
                    self._sent += 1
                    log.warning("event buffer full (%d): the oldest event was dropped", MAX_BUFFER)
                self._buffer.append(message)
                self._queued += 1
                self._mine.last = self._queued
                self._start()
                self._cond.notify_all()
        except Exception:  # events are projections: a publishing failure must not fail a run
            log.exception("event %s of %s was not published", event.type, event.execution_id)

    def flush(self, timeout_s: float = 10.0, *, everything: bool = False) -> bool:
        """Wait until the messages this thread published (a request's own: its run publishes from
        the request's thread last) are sent or given up; ``everything``: all of them. While the
        API is failing (the latest send failed) a request waits OUTAGE_WAIT_S at most, so that
        an outage does not stall every request. True when settled, False on timeout."""
        with self._cond:
            target = self._queued if everything else getattr(self._mine, "last", 0)
            if self._failing and not everything:
                timeout_s = min(timeout_s, OUTAGE_WAIT_S)
            return self._cond.wait_for(lambda: self._sent >= target, timeout=timeout_s)

    def close(self) -> None:
        """Send what is buffered, then stop the sender."""
        self.flush(everything=True)
        with self._cond:
            self._closed = True
            self._cond.notify_all()
        if self._thread is not None:
            self._thread.join(5)
        if self._api is not None:
            self._api.transport.close()

    def _start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="wfx-pubsub", daemon=True)
            self._thread.start()

    def _run(self) -> None:
        while True:
            with self._cond:
                self._cond.wait_for(lambda: self._buffer or self._closed)
                if not self._buffer:
                    return
                batch, self._buffer = self._buffer[:MAX_BATCH], self._buffer[MAX_BATCH:]
            ok = self._send(batch)
            with self._cond:
                self._sent += len(batch)
                self._failing = not ok
                self._cond.notify_all()

    def _send(self, batch: list[dict[str, Any]]) -> bool:
        # The generated client retries transient errors itself (within the timeout).
        try:
            self._client().publish(topic=self.topic, messages=batch, timeout=PUBLISH_TIMEOUT_S)
            return True
        except Exception as exc:  # the sender thread must survive anything: log and drop
            log.error("%d events for %s were dropped: %s", len(batch), self.topic, exc)
            return False

    def _client(self) -> Any:
        if self._api is None:
            self._api = publisher_api()
        return self._api


def publisher_api() -> Any:
    """The generated Publisher client (no batching layer); on the emulator named by
    PUBSUB_EMULATOR_HOST through an insecure channel, as the library's own client does."""
    import os

    from google.pubsub_v1 import PublisherClient

    host = os.environ.get("PUBSUB_EMULATOR_HOST")
    if not host:
        return PublisherClient()
    import grpc
    from google.pubsub_v1.services.publisher.transports import PublisherGrpcTransport

    return PublisherClient(transport=PublisherGrpcTransport(channel=grpc.insecure_channel(host)))
