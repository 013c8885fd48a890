"""The MessageQueue on Pub/Sub (the cloud, and the emulator stack through PUBSUB_EMULATOR_HOST):
short names become ``projects/<project>/topics|subscriptions/<prefix><name>``, the prefix of the
deployment's trigger topics, so a publish to a trigger topic reaches the events function by push."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator, Mapping
from typing import Any

from ..errors import InvalidArgument, NotFound, Transient
from ..ports_tools import QueueMessage

PUBLISH_TIMEOUT_S = 30.0


class PubSubMessageQueue:
    """MessageQueue on Pub/Sub. ``subscriptions`` maps a subscription to its topic: a missing
    subscription is created on that topic at first pull (the emulator stack; in the cloud
    Terraform or the operator creates it)."""

    backend = "pubsub"

    def __init__(self, project: str | None, prefix: str, subscriptions: Mapping[str, str]) -> None:
        if not project:
            raise InvalidArgument("the Pub/Sub message queue needs a project", fix="set WFX_GCP_PROJECT")
        self._project, self._prefix = project, prefix
        self._subs = dict(subscriptions)
        self._clients: tuple[Any, Any] | None = None
        self._lock = threading.Lock()

    def topic_path(self, name: str) -> str:
        return f"projects/{self._project}/topics/{self._prefix}{name}"

    def subscription_path(self, name: str) -> str:
        return f"projects/{self._project}/subscriptions/{self._prefix}{name}"

    def _api(self) -> tuple[Any, Any]:
        with self._lock:
            if self._clients is None:
                from .pubsub_topics import clients

                self._clients = clients()
            return self._clients

    def publish(self, topic: str, data: bytes, attributes: Mapping[str, str]) -> str:
        publisher, _ = self._api()
        with _translated(f"topic '{topic}'", "the operator creates the topic (Terraform trigger_topics)"):
            answer = publisher.publish(topic=self.topic_path(topic),
                                       messages=[{"data": data, "attributes": dict(attributes)}],
                                       timeout=PUBLISH_TIMEOUT_S)
        return str(answer.message_ids[0])

    def pull(self, subscription: str, max_messages: int, wait_s: float) -> list[QueueMessage]:
        from google.api_core import exceptions as gex

        _, subscriber = self._api()
        path = self.subscription_path(subscription)
        try:
            with _translated(f"subscription '{subscription}'", "the operator creates the subscription"):
                answer = self._pull(subscriber, path, subscription, max_messages, wait_s)
        except NotFound:
            topic = self._subs.get(subscription)
            if topic is None:
                raise
            with contextlib.suppress(gex.AlreadyExists), _translated(f"topic '{topic}'", "create the topic"):
                subscriber.create_subscription(request={"name": path, "topic": self.topic_path(topic),
                                                        "ack_deadline_seconds": 60})
            with _translated(f"subscription '{subscription}'", "the operator creates the subscription"):
                answer = self._pull(subscriber, path, subscription, max_messages, wait_s)
        received = list(answer.received_messages) if answer is not None else []
        if received:
            with _translated(f"subscription '{subscription}'", "try again"):
                subscriber.acknowledge(request={"subscription": path, "ack_ids": [r.ack_id for r in received]})
        return [QueueMessage(r.message.message_id, bytes(r.message.data), dict(r.message.attributes),
                             r.message.publish_time.timestamp()) for r in received]

    @staticmethod
    def _pull(subscriber: Any, path: str, name: str, max_messages: int, wait_s: float) -> Any:
        from google.api_core import exceptions as gex

        try:  # the server holds a pull open until a message comes or the deadline passes
            return subscriber.pull(request={"subscription": path, "max_messages": max_messages},
                                   timeout=max(wait_s, 1.0), retry=None)
        except gex.DeadlineExceeded:
            return None

    def close(self) -> None:
        with self._lock:
            if self._clients is not None:
                for c in self._clients:
                    c.transport.close()
                self._clients = None


@contextlib.contextmanager
def _translated(what: str, fix: str) -> Iterator[None]:
    from google.api_core import exceptions as gex

    try:
        yield
    except gex.NotFound:
        raise NotFound(f"{what} does not exist in Pub/Sub", fix=fix) from None
    except gex.PermissionDenied:
        raise NotFound(f"{what} cannot be used with this service's identity", fix=fix + " and grants access") from None
    except (gex.ServiceUnavailable, gex.DeadlineExceeded, gex.InternalServerError, gex.ResourceExhausted,
            gex.RetryError, gex.Unknown) as exc:
        raise Transient(f"Pub/Sub is unavailable for {what}: {type(exc).__name__}", fix="try again shortly") from None
