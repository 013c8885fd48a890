"""The events function's reactions on the Firestore store: triggers, views, parent resumes."""

from __future__ import annotations

import base64
import json
import uuid
from typing import Any

import flask
from functions_framework import event_conversion
from workflow_executor.adapters.firestore_store import FirestoreExecutionStore
from workflow_executor.api import Executor
from workflow_executor.events import RESUME_SEGMENT_BASE, handle_cloud_event
from workflow_executor.models import Execution, ExecutionStatus
from workflow_executor.ports import Event, ExecutionQuery
from workflow_executor.services import Services

from emulators import session as emulators

PROJECT = emulators.PROJECT


def fresh(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def push_event(topic: str, message_id: str, data: Any, attributes: dict[str, str],
               publish_time: str = "2026-01-02T03:04:05.678Z", raw: bytes | None = None) -> tuple[dict[str, Any], Any]:
    """The CloudEvent functions-framework makes of a raw Pub/Sub push to ``/<topic path>``."""
    payload = json.dumps(data).encode() if raw is None else raw
    body = {"subscription": f"projects/{PROJECT}/subscriptions/s", "message": {
        "data": base64.b64encode(payload).decode(), "attributes": attributes,
        "messageId": message_id, "publishTime": publish_time}}
    with flask.Flask(__name__).test_request_context(f"/{topic}", method="POST", json=body):
        event = event_conversion.background_event_to_cloud_event(flask.request)
    return dict(event.get_attributes()), event.get_data()


def triggered_doc(name: str, topic: str, **trigger: Any) -> str:
    return json.dumps({"workflows": {name: {"steps": [{"id": "a", "function": "builtins.echo",
                                                       "args": {"value": "${input}"}}]}},
                       "triggers": [{"topic": topic, "workflow": name, **trigger}]})


def started(svc: Services, name: str) -> list[Execution]:
    return svc.store.list(ExecutionQuery(workflow_name=name)).items


def test_a_message_starts_its_workflow_once_even_when_delivered_twice(queued_services):
    svc, q = queued_services
    name, topic = fresh("wf"), fresh("orders")
    Executor(svc).register(triggered_doc(name, topic, filter={"kind": "new"}))
    path = f"projects/{PROJECT}/topics/{topic}"
    for _ in range(2):
        handle_cloud_event(svc, *push_event(path, "m-1", {"n": 1}, {"kind": "new"}))
    [ex] = started(svc, name)
    assert (ex.idempotency_key, ex.principal, ex.mode) == (
        f"msg:{path}:m-1:2026-01-02T03:04:05.678Z:{name}", "trigger", "async")
    assert ex.input["data"] == {"n": 1} and ex.input["attributes"] == {"kind": "new"}
    assert {r.execution_id for r in q.requests} == {ex.id}
    handle_cloud_event(svc, *push_event(path, "m-2", {"n": 2}, {"kind": "new"}))
    assert len(started(svc, name)) == 2


def test_the_same_message_id_on_two_topics_starts_two_runs(queued_services):
    # Ids are unique per topic only: a re-created topic (or the emulator) numbers from 1 again.
    svc, _ = queued_services
    name, first, second = fresh("wf"), fresh("orders"), fresh("refunds")
    Executor(svc).register(json.dumps({
        "workflows": {name: {"steps": [{"id": "a", "function": "builtins.echo", "args": {"value": "${input}"}}]}},
        "triggers": [{"topic": first, "workflow": name}, {"topic": second, "workflow": name}]}))
    for topic in (first, second, first):
        handle_cloud_event(svc, *push_event(f"projects/{PROJECT}/topics/{topic}", "1", {"n": 1}, {}))
    assert sorted(ex.input["topic"] for ex in started(svc, name)) == sorted(
        f"projects/{PROJECT}/topics/{t}" for t in (first, second))


def test_a_message_that_fails_the_filter_or_comes_from_another_topic_starts_nothing(queued_services):
    svc, _ = queued_services
    name, topic = fresh("wf"), fresh("orders")
    Executor(svc).register(triggered_doc(name, topic, filter={"data.n": [1, 2], "kind": "new"}))
    path = f"projects/{PROJECT}/topics/{topic}"
    handle_cloud_event(svc, *push_event(path, "m-1", {"n": 3}, {"kind": "new"}))
    handle_cloud_event(svc, *push_event(path, "m-2", {"n": 1}, {"kind": "old"}))
    handle_cloud_event(svc, *push_event(f"projects/{PROJECT}/topics/other", "m-3", {"n": 1}, {"kind": "new"}))
    assert started(svc, name) == []
    handle_cloud_event(svc, *push_event(topic, "m-4", {"n": 2}, {"kind": "new"}))  # short-name path
    assert started(svc, name) == []  # a bare path names no topic: functions-framework leaves it out
    handle_cloud_event(svc, *push_event(path, "m-5", {"n": 2}, {"kind": "new"}))
    assert len(started(svc, name)) == 1


def test_a_trigger_input_takes_references_to_the_message(queued_services):
    svc, _ = queued_services
    name, topic = fresh("wf"), fresh("t")
    Executor(svc).register(triggered_doc(name, topic, input={"order": "${message.data.order}",
                                                              "by": "${message.attributes.user}", "fixed": 7}))
    handle_cloud_event(svc, *push_event(f"projects/{PROJECT}/topics/{topic}", "m", {"order": [1, 2]},
                                        {"user": "ann"}))
    [ex] = started(svc, name)
    assert ex.input == {"order": [1, 2], "by": "ann", "fixed": 7}


def engine_event(svc: Services, ex: Execution, message_id: str) -> tuple[dict[str, Any], Any]:
    attributes = {"type": f"execution.{ex.status.value}", "execution_id": ex.id, "workflow": ex.workflow_name}
    return push_event(str(svc.settings.events_topic), message_id, {"type": attributes["type"]}, attributes)


def test_a_finished_execution_gets_a_view(queued_services):
    svc, _ = queued_services
    done = Executor(svc).run(workflow=triggered_doc(fresh("wf"), "unused"))
    handled = handle_cloud_event(svc, *engine_event(svc, done, "m-9"))
    store = getattr(svc.store, "inner", svc.store)  # under the run observer (observe.py)
    assert handled.view and isinstance(store, FirestoreExecutionStore)
    view = store.views().get(done.id)
    assert view is not None and (view["status"], view["workflow"], view["message_id"]) == (
        "completed", done.workflow_name, "m-9")
    assert not handle_cloud_event(svc, *engine_event(svc, done, "m-10")).view  # final views stay


def test_the_engines_own_finish_event_writes_the_view_without_reading_the_execution(queued_services):
    """The finish event carries the view's fields (ports.finished_fields): the events function
    writes the view from the message as the Pub/Sub bus encodes it, and reads no execution."""
    from workflow_executor.adapters.pubsub import encode

    svc, _ = queued_services
    seen: list[Event] = []
    svc.events.subscribe(seen.append)
    done = Executor(svc).run(workflow=triggered_doc(fresh("wf"), "unused"), principal="ann")
    [finish] = [e for e in seen if e.type == "execution.completed" and e.execution_id == done.id]
    data, attributes = encode(finish)
    store = getattr(svc.store, "inner", svc.store)  # under the run observer (observe.py)
    reads: list[str] = []
    get_head = svc.store.get_head
    svc.store.get_head = lambda eid: reads.append(eid) or get_head(eid)  # type: ignore[method-assign]
    try:
        handled = handle_cloud_event(svc, *push_event(str(svc.settings.events_topic), "m-1", None, attributes,
                                                      raw=data))
    finally:
        del svc.store.get_head
    view = store.views().get(done.id)
    assert handled.view and reads == []
    assert view is not None and (view["status"], view["workflow"], view["principal"], view["parent_id"],
                                 view["ended_at_s"]) == ("completed", done.workflow_name, "ann", None, done.ended_at_s)


def make_family(svc: Services, parent_lease_s: float | None) -> tuple[Execution, Execution]:
    """A running parent (leased for ``parent_lease_s`` more seconds, or released) and its
    finished child."""
    now = svc.engine.clock.now()
    parent = Execution(id=fresh("p"), workflow_name="wf", workflow_hash="h", created_at_s=now, updated_at_s=now)
    svc.store.create(parent)
    svc.store.acquire_lease(parent.id, "runner", parent_lease_s or 1.0, now)
    if parent_lease_s is None:
        svc.store.release_lease(parent.id, "runner")
    child = Execution(id=f"{parent.id}.call", workflow_name="wf", workflow_hash="h", parent_id=parent.id,
                      created_at_s=now, updated_at_s=now)
    svc.store.create(child)
    svc.store.acquire_lease(child.id, "runner", 30.0, now)
    return parent, svc.store.finish(child.id, "runner", ExecutionStatus.COMPLETED, result=1, now_s=now)


def test_a_finished_child_enqueues_its_parent_when_nothing_runs_the_parent(queued_services):
    svc, q = queued_services
    parent, child = make_family(svc, parent_lease_s=None)
    handled = handle_cloud_event(svc, *engine_event(svc, child, "m-1"))
    assert handled.resumed_parent == parent.id
    [request] = q.requests
    assert request.execution_id == parent.id and request.segment >= RESUME_SEGMENT_BASE


def test_a_finished_child_leaves_a_parent_with_a_live_runner_alone(queued_services):
    svc, q = queued_services
    _, child = make_family(svc, parent_lease_s=300.0)
    assert handle_cloud_event(svc, *engine_event(svc, child, "m-1")).resumed_parent is None
    assert q.requests == []


def test_a_deployed_trigger_topic_matches_without_its_deployment_prefix(queued_services):
    from dataclasses import replace

    svc, _ = queued_services
    name, topic = fresh("wf"), fresh("orders")
    Executor(svc).register(triggered_doc(name, topic))
    original = svc.settings
    svc.settings = replace(original, trigger_topic_prefix="wfx-")
    try:
        handle_cloud_event(svc, *push_event(f"projects/{PROJECT}/topics/wfx-{topic}", "m-p", {"n": 1}, {}))
    finally:
        svc.settings = original
    [ex] = started(svc, name)
    assert ex.idempotency_key == f"msg:projects/{PROJECT}/topics/wfx-{topic}:m-p:2026-01-02T03:04:05.678Z:{name}"


def test_a_cloud_scheduler_firing_of_the_documented_schedule_starts_its_workflow_once(queued_services):
    """The README's `-var 'schedules=...'`, fired as infra/scheduler.tf makes Cloud Scheduler
    publish it (the data as is, attributes + schedule=<name>, on the prefixed trigger topic),
    starts a workflow whose trigger names the topic once, with the data as its input."""
    import re
    from dataclasses import replace

    import hcl2
    from wfx_procs import ROOT

    command = re.search(r"-var '(schedules=\{.*?\}\})'", (ROOT / "README.md").read_text(), re.S)
    assert command, "the README documents no schedules variable"
    options = hcl2.SerializationOptions(strip_string_quotes=True, explicit_blocks=False, with_comments=False,
                                        preserve_heredocs=False)
    [(job, spec)] = hcl2.loads(command.group(1), serialization_options=options)["schedules"].items()
    svc, q = queued_services
    name = fresh("nightly")
    Executor(svc).register(triggered_doc(name, spec["topic"]))
    original = svc.settings
    svc.settings = replace(original, trigger_topic_prefix="wfx-")
    firing = push_event(f"projects/{PROJECT}/topics/wfx-{spec['topic']}", fresh("m"), json.loads(spec["data"]),
                        {"schedule": job})
    try:
        for _ in range(2):  # Pub/Sub may push the firing twice
            handle_cloud_event(svc, *firing)
    finally:
        svc.settings = original

    [ex] = started(svc, name)
    assert ex.input["data"] == {"id": "nightly"} and ex.input["attributes"] == {"schedule": "nightly-report"}
    assert {r.execution_id for r in q.requests} == {ex.id}
