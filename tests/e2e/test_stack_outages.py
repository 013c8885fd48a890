"""Outages of the stack's Pub/Sub and Cloud Tasks (issue 18, items 6 and 8): while either hangs,
every MCP call answers within a second; events made meanwhile are all delivered after it, and a
run submitted meanwhile is queued as soon as the queue is back, not when the sweeper comes."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from google.cloud import pubsub_v1
from support import eventually
from test_stack import TRACED, finished
from wfx_e2e_support import rpc, tool

from emulators import session as emulators
from emulators.outage import paused
from emulators.stack import Stack

# Longer than the 30 s the old bus gave one publish before it dropped the batch: long enough to
# show a lost event, far shorter than the 45 s.
PUBSUB_OUTAGE_S = 32.0
# Longer than the 10 s the old enqueue waited (then the run sat queued until the sweeper, 60 s here).
TASKS_OUTAGE_S = 11.0
ANSWER_S = 1.0
LISTENER = {"workflows": {"on-outage": {"steps": [{"id": "a", "function": "tests.e2e.fixtures.pause",
                                                   "args": {"seconds": 0}}]}},
            "triggers": [{"topic": f"outage-{uuid.uuid4().hex[:8]}", "workflow": "on-outage"}]}


def timed(call: Callable[[], Any]) -> tuple[Any, float]:
    started = time.monotonic()
    result = call()
    return result, time.monotonic() - started


@pytest.fixture
def events_subscription(stack: Stack) -> Iterator[tuple[Any, str]]:
    """A pull subscription on the stack's events topic, ordered by execution (as the bus publishes)."""
    sub = pubsub_v1.SubscriberClient()
    name = f"projects/{stack.project}/subscriptions/outage-{uuid.uuid4().hex[:8]}"
    sub.create_subscription(request={"name": name, "topic": stack.env["WFX_EVENTS_TOPIC"],
                                     "enable_message_ordering": True, "ack_deadline_seconds": 60})
    try:
        yield sub, name
    finally:
        sub.delete_subscription(subscription=name)
        sub.close()


class Events:
    """The event types received per execution id, pulled (and acked) as they come."""

    def __init__(self, sub: Any, subscription: str) -> None:
        self.sub, self.subscription = sub, subscription
        self.by_run: dict[str, list[str]] = {}

    def pull(self) -> None:
        resp = self.sub.pull(subscription=self.subscription, max_messages=500, timeout=5)
        for m in resp.received_messages:
            self.by_run.setdefault(m.message.attributes["execution_id"], []).append(m.message.attributes["type"])
        if resp.received_messages:
            self.sub.acknowledge(subscription=self.subscription, ack_ids=[m.ack_id for m in resp.received_messages])

    def of(self, execution_id: str) -> list[str]:
        return self.by_run.get(execution_id, [])


def submit(stack: Stack, log: Path) -> dict[str, Any]:
    return tool(stack.mcp_url, "execute_workflow", workflow=TRACED, input_data={"log": str(log)},
                execution_mode="async")


def test_while_pubsub_hangs_every_mcp_call_answers_within_a_second_and_no_event_is_lost(
        stack: Stack, log: Path, events_subscription: tuple[Any, str]) -> None:
    events = Events(*events_subscription)
    first = submit(stack, log)["execution_id"]  # before the outage: the events one run makes
    finished(stack, first)

    def first_run_complete() -> bool:
        events.pull()  # ordered per run: once its execution.completed is here, all of it is
        return "execution.completed" in events.of(first)

    eventually(first_run_complete, timeout=20, what="the events of the run before the outage")
    expected = sorted(events.of(first))

    slow: list[tuple[str, float]] = []
    runs: list[str] = []
    with paused(emulators.pubsub().pgid):
        end = time.monotonic() + PUBSUB_OUTAGE_S
        # registering a workflow with a trigger creates its topic on this stack: Pub/Sub is not there
        registered, took = timed(lambda: tool(stack.mcp_url, "register_workflow", workflow=LISTENER))
        slow += [("register_workflow", took)] if took >= ANSWER_S else []
        assert [w["path"] for w in registered["warnings"]] == ["triggers"]
        while time.monotonic() < end:
            _, took = timed(lambda: rpc(stack.mcp_url, "tools/list"))
            slow += [("tools/list", took)] if took >= ANSWER_S else []
            started, took = timed(lambda: submit(stack, log))
            slow += [("execute_workflow async", took)] if took >= ANSWER_S else []
            runs.append(started["execution_id"])
            _, took = timed(lambda: tool(stack.mcp_url, "check_execution_status", execution_id=runs[-1]))
            slow += [("check_execution_status", took)] if took >= ANSWER_S else []
            _, took = timed(lambda: tool(stack.mcp_url, "list_workflows"))
            slow += [("list_workflows", took)] if took >= ANSWER_S else []
        for ex in runs:  # the runs themselves finish during the outage: only their events wait
            assert finished(stack, ex)["status"] == "completed"

    def all_delivered() -> bool:
        events.pull()
        return all(len(events.of(ex)) >= len(expected) for ex in runs)

    delivered = True
    try:
        eventually(all_delivered, timeout=20, what="the events made during the outage")
    except AssertionError:
        delivered = False
    lost = {ex: len(expected) - len(events.of(ex)) for ex in runs if sorted(events.of(ex)) != expected}
    assert (slow, delivered, lost) == ([], True, {}), f"{len(runs)} runs, {len(expected)} events each"


def test_while_cloud_tasks_hangs_an_async_run_is_queued_at_once_and_runs_as_soon_as_it_is_back(
        stack: Stack, log: Path) -> None:
    slow: list[tuple[str, float]] = []
    with paused(stack.proc("cloud_tasks").pid):
        end = time.monotonic() + TASKS_OUTAGE_S
        started, took = timed(lambda: submit(stack, log))
        slow += [("execute_workflow async", took)] if took >= ANSWER_S else []
        while time.monotonic() < end:
            state, took = timed(lambda: tool(stack.mcp_url, "check_execution_status",
                                             execution_id=started["execution_id"]))
            slow += [("check_execution_status", took)] if took >= ANSWER_S else []
            assert state["status"] == "queued"
    back = time.monotonic()
    # The sweeper would queue it only after WFX_SWEEP_QUEUED_AFTER_S (60 s on this stack).
    done = finished(stack, started["execution_id"], timeout=10)
    assert (started["status"], slow, done["status"]) == ("queued", [], "completed")
    assert time.monotonic() - back < 10
