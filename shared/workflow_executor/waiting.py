"""Deliveries to parked runs. An event (MCP ``send_event``, ``wfx send``, the web view, a Pub/Sub
message) or a due timer wakes a ``waiting`` run exactly once (the store's compare-and-set) and
hands it to a runner. Timers are delayed queue tasks: a Cloud Task scheduled for ``until_s`` in
the cloud, the local queue's timer on ``wfx serve`` (armed again at every start)."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from .engine.outputs import check_input
from .engine.waits import WAIT_RESUME_BASE, WAIT_TIMER_BASE
from .errors import AlreadyDelivered, InvalidArgument, NotFound, NotWaiting
from .models import Execution, ExecutionMode, ExecutionStatus
from .ports import Event, ExecutionQuery, TaskRequest

if TYPE_CHECKING:
    from .services import Services

log = logging.getLogger(__name__)


def is_timer(segment: int) -> bool:
    return WAIT_TIMER_BASE <= segment < WAIT_RESUME_BASE


def arm(services: Services, ex: Execution) -> None:
    """Schedule the timeout (or the end of the sleep) of ``ex``'s wait as a delayed task named
    after the wait: arming twice is one task. Errors: Transient (the queue retries it itself)."""
    w = ex.wait
    if w is None or w.until_s is None or w.resolved or services.queue is None:
        return
    delay = max(w.until_s - services.engine.clock.now(), 0.0)
    services.queue.enqueue(TaskRequest(ex.id, segment=WAIT_TIMER_BASE + w.number, delay_s=delay,
                                       group=ex.workflow_name))


def rearm_all(services: Services) -> list[str]:
    """Arm the timer of every waiting run again (``wfx serve`` at start: its timers were in memory)."""
    ids: list[str] = []
    cursor = None
    while True:
        page = services.store.list(ExecutionQuery(status=ExecutionStatus.WAITING, limit=200, cursor=cursor))
        for ex in page.items:
            if ex.wait is not None and ex.wait.until_s is not None:
                arm(services, ex)
                ids.append(ex.id)
        cursor = page.next_cursor
        if not cursor:
            return ids


def wake_overdue(services: Services, now_s: float, grace_s: float, limit: int = 1000) -> list[str]:
    """The sweeper's part: a waiting run whose timer is ``grace_s`` overdue (its timer task was
    lost) is woken here and handed to a runner. A waiting run is never re-queued otherwise."""
    ids: list[str] = []
    page = services.store.list(ExecutionQuery(status=ExecutionStatus.WAITING, limit=min(limit, 500)))
    for head in page.items:
        w = head.wait
        if w is None or w.until_s is None or w.resolved or w.until_s + grace_s > now_s:
            continue
        try:
            ex = services.store.wake(head.id, number=w.number, now_s=now_s)
        except (NotWaiting, NotFound):
            continue  # woken or cancelled in between
        resume(services, ex)
        ids.append(ex.id)
    return ids


def check_payload(ex: Execution, payload: Any) -> None:
    """The payload is checked like any input: storable JSON data, and valid against the wait's
    ``payload_schema`` when it declares one. Errors: InvalidArgument (field ``payload``)."""
    try:
        check_input(payload)
    except InvalidArgument as exc:
        raise InvalidArgument(exc.message.replace("input_data", "payload"), fix=exc.fix, field="payload") from None
    schema = ex.wait.payload_schema if ex.wait is not None else None
    if schema:
        from jsonschema import Draft202012Validator

        errors = sorted(Draft202012Validator(schema).iter_errors(payload), key=lambda e: list(e.absolute_path))
        if errors:
            where = "/".join(str(p) for p in errors[0].absolute_path) or "(root)"
            raise InvalidArgument(f"the payload does not match the wait's schema at {where}: "
                                  f"{errors[0].message[:200]}", fix="send a payload of the declared schema",
                                  field="payload")


def deliver(services: Services, execution_id: str, event: str, payload: Any, *, by: str | None = None,
            inline: bool = False) -> Execution:
    """Resume the run waiting for ``event`` with ``payload``, once. The caller checked who may.
    ``inline``: the caller runs the woken (queued) run itself; else it is handed to a runner.
    Errors: NotFound, NotWaiting (not waiting for it / payload does not match), AlreadyDelivered,
    InvalidArgument (payload)."""
    head = services.store.get_head(execution_id)
    if head is None:
        raise NotFound(f"no execution {execution_id}", fix="check the id (list_executions)")
    check_payload(head, payload)
    ex = services.store.wake(execution_id, event=event, payload=payload, by=by, now_s=services.engine.clock.now())
    _publish(services, ex, "event.delivered", {"event": event, "by": by})
    if not inline:
        resume(services, ex)
    return ex


def deliver_matching(services: Services, event: str, payload: Any, *, published_at_s: float,
                     by: str = "pubsub") -> list[str]:
    """An event with no ``execution_id`` (a Pub/Sub message another system published): resume
    every run whose wait, at the time of publishing, was for ``event`` with a ``match`` that the
    payload holds, oldest wait first, at most ``settings.event_match_max``. A wait without
    ``match`` is only resumed by a message that names its run. Idempotent per message: each wait
    resumes once (the store's compare-and-set), and a wait that began after ``published_at_s``
    (a redelivery meeting a later wait) is left alone. Returns the ids resumed."""
    limit = services.settings.event_match_max
    found: list[Execution] = []
    cursor = None
    while True:  # every waiting run is looked at: the store has no index on a wait's event
        page = services.store.list(ExecutionQuery(status=ExecutionStatus.WAITING, limit=200, cursor=cursor))
        for head in page.items:
            w = head.wait
            if (w is not None and w.kind == "event" and w.event == event and w.match and not w.resolved
                    and w.since_s <= published_at_s and _holds(payload, w.match)):
                found.append(head)
        cursor = page.next_cursor
        if not cursor:
            break
    found.sort(key=lambda e: e.wait.since_s if e.wait else 0.0)
    if len(found) > limit:
        log.warning("event %s matches %d waiting runs; %d resumed (WFX_EVENT_MATCH_MAX)", event[:100],
                    len(found), limit)
    ids: list[str] = []
    for head in found[:limit]:
        try:
            ex = deliver(services, head.id, event, payload, by=by)
        except (NotWaiting, NotFound, AlreadyDelivered, InvalidArgument) as exc:
            log.info("event %s not delivered to %s: [%s] %s", event[:100], head.id, exc.code, exc.message)
            continue
        ids.append(ex.id)
    return ids


def _holds(payload: Any, match: dict[str, Any]) -> bool:
    return isinstance(payload, dict) and all(payload.get(k) == v for k, v in match.items())


def resume(services: Services, ex: Execution) -> None:
    """Hand a woken (queued) run to a runner: its job when isolated, else the queue. Without
    either (a process with no queue) the sweeper picks the queued run up."""
    number = ex.wait.number if ex.wait is not None else 0
    if ex.mode == ExecutionMode.ISOLATED and services.jobs is not None:
        services.jobs.start(ex.id)
    elif services.queue is not None:
        services.queue.enqueue(TaskRequest(ex.id, segment=WAIT_RESUME_BASE + number, group=ex.workflow_name))


def on_timer(services: Services, request: TaskRequest) -> str:
    """A timer task came: wake the run if its wait is still open and due. Returns ``run`` (the
    delivery runs it now), ``job`` (started as its job), ``early`` (not due: retry later) or
    ``not_waiting`` (an event came first, or it was cancelled)."""
    try:
        ex = services.store.wake(request.execution_id, number=request.segment - WAIT_TIMER_BASE,
                                 now_s=services.engine.clock.now())
    except NotWaiting as exc:
        return "early" if exc.details.get("early") else "not_waiting"
    except NotFound:
        return "not_waiting"
    _publish(services, ex, "event.timed_out", {"kind": ex.wait.kind if ex.wait else None})
    if ex.mode == ExecutionMode.ISOLATED and services.jobs is not None:
        services.jobs.start(ex.id)
        return "job"
    return "run"


def _publish(services: Services, ex: Execution, type_: str, data: dict[str, Any]) -> None:
    try:
        services.events.publish(Event(type=type_, execution_id=ex.id, workflow=ex.workflow_name, data=data))
    except Exception:  # events are projections
        log.exception("event %s for %s was not published", type_, ex.id)
