"""Trigger topics on demand, for the emulator stack: create a topic and its push subscription to
the events function when a workflow that listens to it is registered. In the cloud Terraform
creates them (``trigger_topics``), so this runs only where WFX_TRIGGER_PUSH_URL is set."""

from __future__ import annotations

import contextlib
import os
from typing import Any

from google.api_core.exceptions import AlreadyExists, GoogleAPICallError

from ..errors import Transient


def clients() -> tuple[Any, Any]:
    """A (publisher, subscriber) pair of generated clients; the emulator's when PUBSUB_EMULATOR_HOST is set."""
    from google.pubsub_v1 import PublisherClient, SubscriberClient

    host = os.environ.get("PUBSUB_EMULATOR_HOST")
    if not host:
        return PublisherClient(), SubscriberClient()
    import grpc
    from google.pubsub_v1.services.publisher.transports import PublisherGrpcTransport
    from google.pubsub_v1.services.subscriber.transports import SubscriberGrpcTransport

    return (PublisherClient(transport=PublisherGrpcTransport(channel=grpc.insecure_channel(host))),
            SubscriberClient(transport=SubscriberGrpcTransport(channel=grpc.insecure_channel(host))))


def ensure_push_topic(topic: str, push_base_url: str, timeout_s: float = 0.5) -> bool:
    """Create ``topic`` (projects/P/topics/T) and a push subscription to ``push_base_url`` + the
    topic path (how the events function learns the topic). True when the topic was new. Each call
    to the API waits ``timeout_s`` at most (a request registers the workflow; Pub/Sub may be
    down). Errors: Transient when Pub/Sub did not answer (registering again creates them)."""
    publisher, subscriber = clients()
    try:
        try:
            publisher.create_topic(name=topic, retry=None, timeout=timeout_s)
        except AlreadyExists:
            return False
        with contextlib.suppress(AlreadyExists):  # a half-made pair from an earlier attempt
            subscriber.create_subscription(request={
                "name": topic.replace("/topics/", "/subscriptions/") + "-push", "topic": topic,
                "push_config": {"push_endpoint": push_base_url.rstrip("/") + "/" + topic},
                "enable_message_ordering": True, "ack_deadline_seconds": 60}, retry=None, timeout=timeout_s)
        return True
    except GoogleAPICallError as exc:
        raise Transient(f"the trigger topic {topic} could not be created: {exc}",
                        fix="register the workflow again once Pub/Sub answers") from exc
    finally:
        publisher.transport.close()
        subscriber.transport.close()
