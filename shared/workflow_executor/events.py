"""The events function's logic: one Pub/Sub message in; views, triggered runs and parent resumes
out. Raising fails the delivery (Pub/Sub redelivers): only Transient errors do that."""

# 1. Views: a finished execution's event updates execution_views/{id} (when the store keeps views).
# 2. Triggers: every stored workflow whose document has a trigger on the message's topic (with a
#    matching filter) starts once per message: the idempotency key
#    msg:<topic>:<message id>:<publish time>:<workflow> makes a redelivered message find the
#    execution it started (ids are unique per topic only, and a restarted emulator reuses them).
# 3. Parents: children run inline in their parent's runner, so a parent normally goes on by
#    itself. When a child finishes while its parent is running with no live lease (its runner is
#    gone), the parent is enqueued: it resumes from its checkpoints and finds the child's result
#    stored (invoke_child's create returns the finished child).

from __future__ import annotations

import base64
import binascii
import json
import logging
import time
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, cast

from .models import TERMINAL, Execution, ExecutionStatus
from .ports import FINISHED_FIELDS, TaskRequest, finished_fields
from .triggers import TRIGGER_PRINCIPAL, Message, dedup_key, start_triggered

if TYPE_CHECKING:
    from .api import Executor
    from .services import Services

log = logging.getLogger(__name__)
__all__ = ["TRIGGER_PRINCIPAL", "Handled", "dedup_key", "handle_cloud_event", "parse", "resume_parent"]

# Resume deliveries get their own task names (a segment per second), apart from the run's own.
RESUME_SEGMENT_BASE = 1_000_000_000
_TERMINAL_TYPES = frozenset(f"execution.{s.value}" for s in TERMINAL)


@dataclass(frozen=True)
class Handled:
    """What one message did (for logs and tests)."""

    view: bool = False
    resumed_parent: str | None = None
    started: tuple[str, ...] = ()
    delivered: str | None = None  # the run an outside event resumed
    matched: tuple[str, ...] = ()  # the runs an unaddressed outside event resumed by its match


def _deliver(services: Services, msg: Message) -> str | None:
    """Deliver a message's event (attributes execution_id, event; JSON data as the payload, else
    its text) to the run waiting for it. Refusals (not waiting, already delivered, a bad payload)
    are logged and acked: redelivering would not change them."""
    from . import waiting
    from .errors import Transient, WfxError

    text = msg.data.decode("utf-8", "replace")
    try:
        payload: Any = json.loads(text) if text.strip() else None
    except json.JSONDecodeError:
        payload = text
    try:
        ex = waiting.deliver(services, msg.attributes["execution_id"], msg.attributes["event"], payload, by="pubsub")
    except Transient:
        raise
    except WfxError as exc:
        log.info("event %s for %s not delivered: [%s] %s", msg.attributes["event"][:100],
                 msg.attributes["execution_id"][:100], exc.code, exc.message)
        return None
    return ex.id


def parse(attributes: dict[str, Any], data: Any) -> Message:
    """The Pub/Sub message of a CloudEvent (``messagePublished``): functions-framework turns a
    raw push body into ``{"message": {"data": base64, "attributes", "messageId", ...}}`` and
    names the topic in the ``source`` attribute when the push URL path holds it."""
    envelope = data if isinstance(data, dict) else {}
    msg = envelope.get("message", envelope)
    raw = msg.get("data") or ""
    try:
        body = base64.b64decode(raw) if isinstance(raw, str) else bytes(raw)
    except (binascii.Error, ValueError):
        body = b""
    source = str(attributes.get("source") or "")
    _, sep, resource = source.partition("pubsub.googleapis.com/")
    topic = resource if sep and "/topics/" in resource else None
    stamp = msg.get("publishTime") or msg.get("publish_time") or attributes.get("time")
    return Message(id=str(msg.get("messageId") or msg.get("message_id") or attributes.get("id") or ""),
                   topic=topic, attributes={str(k): str(v) for k, v in (msg.get("attributes") or {}).items()},
                   data=body, published_at_s=_seconds(stamp), publish_time=str(stamp or ""))


def _seconds(stamp: Any) -> float:
    if isinstance(stamp, str) and stamp:
        try:
            return datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()
        except ValueError:
            pass
    return time.time()


def handle_cloud_event(services: Services, attributes: dict[str, Any], data: Any) -> Handled:
    """React to one message. Errors: Transient (redeliver); everything else is logged and acked."""
    msg = parse(attributes, data)
    topic = msg.topic
    engine_event = msg.attributes.get("type", "").startswith(("execution.", "step.")) and \
        "execution_id" in msg.attributes and topic in (None, services.settings.events_topic)
    view, parent = False, None
    if not engine_event and "execution_id" in msg.attributes and "event" in msg.attributes:
        # Another system's event for a waiting run (its publish right on the topic is the gate).
        return Handled(delivered=_deliver(services, msg))
    if not engine_event and "event" in msg.attributes and topic in (None, services.settings.events_topic):
        # Unaddressed: the runs waiting for this event whose match the payload holds (waiting.py).
        from . import waiting

        return Handled(matched=tuple(waiting.deliver_matching(services, msg.attributes["event"], msg.payload(),
                                                              published_at_s=msg.published_at_s)))
    if engine_event:
        topic = services.settings.events_topic
        if msg.attributes["type"] in _TERMINAL_TYPES:
            view, parent = _on_finished(services, msg)
    started = _start_triggered(services, msg, _trigger_topic(topic, services.settings.trigger_topic_prefix),
                               topic) if topic else ()
    return Handled(view=view, resumed_parent=parent, started=started)


def _trigger_topic(topic: str, prefix: str) -> str:
    """Deployed trigger topics are named ``<prefix><name>`` (infra); a workflow's trigger says
    ``topic: <name>``: match on the name without the deployment prefix."""
    short = topic.rsplit("/", 1)[-1]
    return short[len(prefix):] if prefix and short.startswith(prefix) else topic


def _on_finished(services: Services, msg: Message) -> tuple[bool, str | None]:
    # The engine's finish event carries the view's fields (ports.finished_fields): no read unless
    # the run has a parent to check, or the event came without them (an older publisher).
    told = _finished_fields(msg)
    ex: Execution | None = None
    if told is None or told["parent_id"]:
        ex = services.store.get_head(msg.attributes["execution_id"])  # no step records: one read
        if ex is None:
            return False, None
        told = finished_fields(ex)
    views = getattr(services.store, "views", None)
    wrote = False
    if views is not None:
        wrote = views().apply({"execution_id": msg.attributes["execution_id"],
                               "workflow": ex.workflow_name if ex else msg.attributes.get("workflow", ""),
                               "status": ex.status.value if ex else msg.attributes["type"].split(".", 1)[1],
                               "event": msg.attributes["type"], "message_id": msg.id,
                               "published_at_s": msg.published_at_s, **told})
    return wrote, resume_parent(services, ex) if ex is not None else None


def _finished_fields(msg: Message) -> dict[str, Any] | None:
    """The fields of ports.finished_fields in an engine event's body, or None."""
    try:
        data = json.loads(msg.data).get("data")
    except (ValueError, AttributeError):
        return None
    if not isinstance(data, dict) or not set(FINISHED_FIELDS) <= data.keys():
        return None
    return {k: data[k] for k in FINISHED_FIELDS}


def resume_parent(services: Services, child: Execution, now_s: float | None = None) -> str | None:
    """Enqueue the parent of a finished ``child`` when nothing runs it any more. Returns its id."""
    if not child.finished or not child.parent_id or services.queue is None:
        return None
    parent = services.store.get(child.parent_id)
    now = time.time() if now_s is None else now_s
    if parent is None or parent.status != ExecutionStatus.RUNNING:
        return None
    if parent.lease_owner is not None and (parent.lease_expires_at_s or 0) > now:
        return None  # its runner is alive: it is waiting on this child inline
    services.queue.enqueue(TaskRequest(parent.id, segment=RESUME_SEGMENT_BASE + int(now)))
    log.info("child %s finished; parent %s had no live runner and was enqueued", child.id, parent.id)
    return parent.id


def _start_triggered(services: Services, msg: Message, topic: str, source_topic: str) -> tuple[str, ...]:
    def executor() -> Executor:
        if services.executor is not None:  # the entry point's: not a new one (and a new listener) per message
            return cast("Executor", services.executor)
        from .api import Executor

        return Executor(services)

    return start_triggered(services, executor, msg, topic, source_topic)
