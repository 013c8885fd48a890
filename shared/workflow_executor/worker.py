"""The worker handler: what a queue delivery does, shared by the local queue and the Cloud
Tasks target. Maps the engine's outcome onto the delivery contract (done / retry / busy)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING

from . import waiting
from .errors import Conflict, LeaseHeld, NotFound, WfxError
from .logs import serving
from .models import ExecutionStatus
from .ports import TaskRequest

if TYPE_CHECKING:
    from .services import Services

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Outcome:
    """``http_status``: 200 done (or nothing to do), 409 another live lease holds it,
    503 transient (redeliver)."""

    http_status: int
    status: str
    message: str = ""


def handle_task(services: Services, request: TaskRequest, budget_s: float | None = None) -> Outcome:
    """Run or resume the execution. With ``budget_s`` (the dispatch deadline less a margin) a
    long run hands over to a follow-up task (segment + 1) before the deadline."""
    with serving(request.execution_id):  # log lines name the run and its trace
        return _handle(services, request, budget_s)


def _handle(services: Services, request: TaskRequest, budget_s: float | None) -> Outcome:
    engine = services.engine
    now = None
    if request.takeover:
        cur = services.store.get(request.execution_id)
        if cur is not None and cur.lease_expires_at_s is not None and engine.owner_dead(cur.lease_owner):
            now = max(cur.lease_expires_at_s + 0.001, engine.clock.now())
    if waiting.is_timer(request.segment):  # a wait's timeout / a sleep's end: wake, then run it here
        woke = waiting.on_timer(services, request)
        if woke == "early":
            return Outcome(503, "retry", "the wait is not due yet")
        if woke != "run":
            return Outcome(200, woke)
    try:
        ex = engine.run(request.execution_id, now_s=now, budget_s=budget_s)
        if ex.status == ExecutionStatus.WAITING:  # parked: its timer is armed, nothing holds it
            return Outcome(200, "waiting")
        if not ex.finished:
            if services.queue is None:
                return Outcome(503, "retry", "handed over, but this process has no queue")
            services.queue.enqueue(TaskRequest(ex.id, segment=max(request.segment, 0) + 1, group=ex.workflow_name))
            return Outcome(200, "handed_over")
        return Outcome(200, ex.status.value)
    except LeaseHeld as exc:
        return Outcome(409, "busy", exc.message)
    except NotFound as exc:
        return Outcome(200, "not_found", exc.message)
    except Conflict as exc:  # already finished (a duplicate delivery), or the lease moved on
        return Outcome(200, "conflict", exc.message)
    except WfxError as exc:
        if exc.retryable:
            return Outcome(503, "retry", exc.message)
        log.error("execution %s could not run: %s", request.execution_id, exc)
        return Outcome(200, "error", exc.message)
