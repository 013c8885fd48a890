"""The events function's trigger index: a workflow registered on a topic that already starts
another workflow takes the next message at once, not after the cache's refresh period."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import pytest
from workflow_executor.api import Executor
from workflow_executor.services import Services, build
from workflow_executor.settings import Settings
from workflow_executor.triggers import Message, TriggerIndex


@pytest.fixture
def services() -> Iterator[Services]:
    svc = build(Settings(store="memory"), with_queue=False)
    yield svc
    svc.close()


def register(svc: Services, name: str, topic: str, kind: str) -> None:
    Executor(svc).register(json.dumps({
        "workflows": {name: {"steps": [{"id": "a", "function": "builtins.noop"}]}},
        "triggers": [{"topic": topic, "workflow": name, "filter": {"kind": kind}}]}))


def message(kind: str, published_at_s: float) -> Message:
    return Message(id=f"m-{kind}", topic="projects/p/topics/orders", attributes={"kind": kind}, data=b"{}",
                   published_at_s=published_at_s)


def test_a_trigger_added_beside_another_on_its_topic_takes_the_next_message(services: Services) -> None:
    index = TriggerIndex(services.registry, ttl_s=3600)  # the cache alone would hide the new trigger
    register(services, "first", "orders", "old")
    assert [r.workflow for r in index.matching("orders", message("old", time.time()), refresh_on_miss=True)] \
        == ["first"]

    register(services, "second", "orders", "new")
    routes = index.matching("orders", message("new", time.time()), refresh_on_miss=True)

    assert [r.workflow for r in routes] == ["second"]


def test_a_message_older_than_the_cache_does_not_re_read_the_registry(services: Services) -> None:
    index = TriggerIndex(services.registry, ttl_s=3600)
    register(services, "first", "orders", "old")
    index.matching("orders", message("old", time.time()), refresh_on_miss=True)
    register(services, "second", "orders", "new")

    # published before the cache was loaded: the trigger registered since cannot have been meant
    routes = index.matching("orders", message("new", time.time() - 60), refresh_on_miss=True)

    assert routes == []
