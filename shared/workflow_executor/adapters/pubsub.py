"""Pub/Sub EventBus: every engine event becomes one message on the events topic, ordering key =
execution id, attributes ``type``/``execution_id``/``workflow``. ``publish`` never blocks or raises."""

# publish only appends to an outbox; one sender thread publishes whatever has gathered, one request
# at a time, in order. A send that fails goes back to the front of the outbox and is tried again
# with backoff until the API answers: an outage delays events, it does not lose them (past the
# outbox's bound the oldest are dropped, and counted). flush (the functions call it before they
# answer) waits for the calling request's own events, and only briefly while the API is failing or
# a send hangs: an outage must not stall every request.

from __future__ import annotations

import json
import logging
import threading
import time
from collections import deque
from typing import Any

from ..errors import InvalidArgument
from ..ports import Event
from ..settings import Settings

log = logging.getLogger(__name__)

MAX_BATCH = 500  # messages per request (the API allows 1000 and 10 MB)
# One publish request. A hung API usually answers the request in flight once it is back; cutting
# it short would send the batch twice, so only a long hang makes a second attempt.
ATTEMPT_TIMEOUT_S = 60.0
BACKOFF_S, MAX_BACKOFF_S = 0.1, 5.0  # between failed attempts: doubling up to the cap
POLL_S = 0.05  # how often a waiting flush looks whether the send in flight has begun to hang
CLOSE_WAIT_S = 10.0


def encode(event: Event) -> tuple[bytes, dict[str, str]]:
    """The message body (JSON) and attributes of an event."""
    body = {"type": event.type, "execution_id": event.execution_id, "workflow": event.workflow,
            "data": event.data, "time_s": time.time()}
    attributes = {**event.attributes, "type": event.type, "execution_id": event.execution_id,
                  "workflow": event.workflow}
    return json.dumps(body, default=str).encode(), attributes


class PubSubEventBus:
    """EventBus on one Pub/Sub topic (``settings.events_topic``: projects/P/topics/T).
    PUBSUB_EMULATOR_HOST points the client at an emulator. ``settings.events_outbox_max`` bounds
    the events held while the API fails; ``settings.events_outage_wait_s`` is the longest a
    request's flush waits then."""

    def __init__(self, settings: Settings, *, api: Any = None) -> None:
        if not settings.events_topic:
            raise InvalidArgument("the Pub/Sub event bus needs a topic",
                                  fix="set WFX_EVENTS_TOPIC=projects/<project>/topics/<topic>")
        self.topic = settings.events_topic
        self._api = api
        self._max = max(1, settings.events_outbox_max)
        self._outage_wait_s = settings.events_outage_wait_s
        # (sequence number, message): messages settle (sent or dropped) in sequence order, so
        # "everything up to n settled" is one comparison (_settled_through)
        self._outbox: deque[tuple[int, dict[str, Any]]] = deque()
        self._inflight: list[tuple[int, dict[str, Any]]] = []
        self._inflight_since: float | None = None
        self._queued = self.sent = self.dropped = 0
        self._cond = threading.Condition()
        self._closed = False
        self._thread: threading.Thread | None = None
        self._mine = threading.local()  # .last: the sequence number of this request's latest message
        self._failing_since: float | None = None  # the first failed send of the current outage

    def publish(self, event: Event) -> None:
        """Queue the message for the sender; never raises into the engine."""
        try:
            data, attributes = encode(event)
            message = {"data": data, "attributes": attributes, "ordering_key": event.execution_id}
            with self._cond:
                if self._closed:
                    log.warning("event %s of %s after close: dropped", event.type, event.execution_id)
                    self.dropped += 1
                    return
                if len(self._outbox) >= self._max:
                    # The API is down for long: keep memory bounded, drop the oldest (events are
                    # projections; the store stays the truth).
                    self._outbox.popleft()
                    self.dropped += 1
                    log.warning("event outbox full (%d): the oldest event was dropped (%d so far)",
                                self._max, self.dropped)
                self._queued += 1
                self._outbox.append((self._queued, message))
                self._mine.last = self._queued
                self._start()
                self._cond.notify_all()
        except Exception:  # events are projections: a publishing failure must not fail a run
            log.exception("event %s of %s was not published", event.type, event.execution_id)

    def flush(self, timeout_s: float = 10.0, *, everything: bool = False) -> bool:
        """Wait until the messages this thread published since its last flush (a request's own:
        its run publishes from the request's thread last) are sent; ``everything``: all of them.
        A request that published nothing returns at once. While the API is failing, or the send
        in flight hangs, a request waits ``events_outage_wait_s`` at most; its events stay in the
        outbox and go out after the outage. True when settled, False when it stopped waiting."""
        with self._cond:
            target = self._queued if everything else getattr(self._mine, "last", 0)
            self._mine.last = 0  # the server's threads are pooled: the next request starts afresh
            start = time.monotonic()
            end = start + timeout_s
            while self._settled_through() < target:
                now = time.monotonic()
                limit = end if everything or not self._stalled(now) else min(end, start + self._outage_wait_s)
                if now >= limit:
                    return False
                self._cond.wait(min(limit - now, POLL_S))
            return True

    def stats(self) -> dict[str, int]:
        """Counts of messages: published (``queued``), ``sent``, ``dropped`` and still ``pending``."""
        with self._cond:
            return {"queued": self._queued, "sent": self.sent, "dropped": self.dropped,
                    "pending": len(self._outbox) + len(self._inflight)}

    def close(self) -> None:
        """Send what is in the outbox (for CLOSE_WAIT_S at most), then stop the sender."""
        if not self.flush(CLOSE_WAIT_S, everything=True):
            log.error("closing with %d events not sent to %s", self.stats()["pending"], self.topic)
        with self._cond:
            self._closed = True
            self._cond.notify_all()
        if self._thread is not None:
            self._thread.join(5)
        if self._api is not None:
            self._api.transport.close()

    def _settled_through(self) -> int:
        if self._inflight:
            return self._inflight[0][0] - 1
        if self._outbox:
            return self._outbox[0][0] - 1
        return self._queued

    def _stalled(self, now: float) -> bool:
        return self._failing_since is not None or (
            self._inflight_since is not None and now - self._inflight_since > self._outage_wait_s)

    def _start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="wfx-pubsub", daemon=True)
            self._thread.start()

    def _run(self) -> None:
        delay = 0.0
        while True:
            with self._cond:
                if delay:  # backoff after a failure; close cuts it short
                    self._cond.wait_for(lambda: self._closed, timeout=delay)
                self._cond.wait_for(lambda: self._outbox or self._closed)
                if self._closed:
                    return
                n = min(MAX_BATCH, len(self._outbox))
                self._inflight = [self._outbox.popleft() for _ in range(n)]
                self._inflight_since = time.monotonic()
                batch = [m for _, m in self._inflight]
            error = self._send(batch)
            with self._cond:
                if error is None or _permanent(error):
                    if error is None:
                        self.sent += len(batch)
                    else:
                        self.dropped += len(batch)
                        log.error("%d events for %s were dropped: %s", len(batch), self.topic, error)
                    if self._failing_since is not None:
                        log.warning("publishing to %s works again after %.1f s", self.topic,
                                    time.monotonic() - self._failing_since)
                    self._failing_since, delay = None, 0.0
                else:  # back to the front, in order: sent once the API answers again
                    self._outbox.extendleft(reversed(self._inflight))
                    if self._failing_since is None:
                        self._failing_since = time.monotonic()
                        log.error("publishing to %s fails (%s); %d events held and retried", self.topic,
                                  error, len(self._outbox))
                    delay = min(max(delay * 2, BACKOFF_S), MAX_BACKOFF_S)
                self._inflight, self._inflight_since = [], None
                self._cond.notify_all()

    def _send(self, batch: list[dict[str, Any]]) -> Exception | None:
        try:  # one attempt: the loop above retries, with backoff, after the outbox's own order
            self._client().publish(topic=self.topic, messages=batch, retry=None, timeout=ATTEMPT_TIMEOUT_S)
            return None
        except Exception as exc:  # the sender thread must survive anything
            return exc

    def _client(self) -> Any:
        if self._api is None:
            self._api = publisher_api()
        return self._api


def _permanent(exc: Exception) -> bool:
    # A batch the API refuses (too large, a topic that does not exist) fails the same way again.
    from google.api_core import exceptions as gex

    return isinstance(exc, gex.InvalidArgument | gex.NotFound)


def publisher_api() -> Any:
    """The generated Publisher client (no batching layer); on the emulator named by
    PUBSUB_EMULATOR_HOST through an insecure channel, as the library's own client does, which
    tries to reconnect at least every 2 s, so that events go out soon after an outage."""
    import os

    from google.pubsub_v1 import PublisherClient

    host = os.environ.get("PUBSUB_EMULATOR_HOST")
    if not host:
        return PublisherClient()
    import grpc
    from google.pubsub_v1.services.publisher.transports import PublisherGrpcTransport

    options = [("grpc.initial_reconnect_backoff_ms", 200), ("grpc.max_reconnect_backoff_ms", 2000)]
    return PublisherClient(transport=PublisherGrpcTransport(channel=grpc.insecure_channel(host, options=options)))
