"""Ports of the built-in tools that keep state or move messages: ``ToolRecords`` (a caller's
records, e.g. tasklist tasks and queue consumers) and ``MessageQueue`` (publish and pull on
operator-named topics and subscriptions). Adapters live in adapters/; services.py picks them."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

# The message attribute that carries how many publish -> trigger links lie behind a message: a
# run's publish sets it to the run's trigger_hops + 1; triggers refuse past WFX_TRIGGER_MAX_HOPS.
HOPS_ATTRIBUTE = "wfx_hops"


def hops_of(attributes: Mapping[str, str]) -> int:
    """The hop count a message carries (0 when absent or not a number; never negative)."""
    try:
        return max(int(attributes.get(HOPS_ATTRIBUTE, "0")), 0)
    except ValueError:
        return 0


class ToolRecords(Protocol):
    """JSON records kept per (owner, kind, key). ``owner`` is the caller (a run's principal): no
    method ever reads or writes another owner's records. Values are plain JSON objects."""

    def insert(self, owner: str, kind: str, key: str, record: Mapping[str, Any]) -> bool:
        """Store a new record; False (nothing written) when ``key`` is taken."""

    def put(self, owner: str, kind: str, key: str, record: Mapping[str, Any]) -> None:
        """Store or replace a record."""

    def get(self, owner: str, kind: str, key: str) -> dict[str, Any] | None: ...

    def delete(self, owner: str, kind: str, key: str) -> bool:
        """Remove a record; False when there was none."""

    def list(self, owner: str, kind: str, limit: int = 1000) -> list[dict[str, Any]]:
        """Up to ``limit`` records of ``owner`` of ``kind``, in the order they were inserted."""


@dataclass(frozen=True)
class QueueMessage:
    """One message pulled from a subscription (already acknowledged)."""

    id: str
    data: bytes
    attributes: dict[str, str] = field(default_factory=dict)
    published_at_s: float = 0.0


class MessageQueue(Protocol):
    """Topics and subscriptions by the short names the operator allowed (WFX_MQ_TOPICS,
    WFX_MQ_SUBSCRIPTIONS); the adapter knows where they live. Publishing to a topic that a
    workflow's trigger listens on starts that workflow, as any publish does."""

    backend: str

    def publish(self, topic: str, data: bytes, attributes: Mapping[str, str]) -> str:
        """Publish one message; returns its id. Errors: Transient when the broker is unreachable,
        NotFound when the topic does not exist."""

    def pull(self, subscription: str, max_messages: int, wait_s: float) -> list[QueueMessage]:
        """Up to ``max_messages`` messages, acknowledged (at most once), waiting up to ``wait_s``
        for the first. Errors: Transient, NotFound when the subscription does not exist."""
