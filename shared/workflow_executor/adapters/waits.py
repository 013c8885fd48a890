"""The wait transitions every store adapter applies the same way (the one rule): park a running
run, wake a waiting one with its event or its timer, and refuse a lease on a parked run. Each
returns the fields to change; the adapter writes them compare-and-set."""

from __future__ import annotations

from typing import Any

from ..errors import AlreadyDelivered, Conflict, LeaseLost, NotWaiting
from ..models import Execution, ExecutionStatus, Progress, WaitState
from .common import frozen_error

TIMER_SLACK_S = 0.5  # a timer task may arrive this early (clock skew between hosts)


def parked(ex: Execution, owner: str, wait: WaitState, progress: Progress, now_s: float) -> dict[str, Any]:
    """running (leased by ``owner``) -> waiting, lease given up. Conflict if finished or a cancel
    is requested (the runner then ends the run cancelled); LeaseLost if not ours."""
    if ex.finished:
        raise frozen_error(ex.id, ex.status)
    if ex.lease_owner != owner or ex.status != ExecutionStatus.RUNNING:
        raise LeaseLost(f"execution {ex.id} is no longer leased by {owner}", fix="stop this run")
    if ex.cancel_requested:
        raise Conflict(f"execution {ex.id} is being cancelled", fix="end it cancelled")
    return {"status": ExecutionStatus.WAITING, "wait": wait, "progress": progress, "lease_owner": None,
            "lease_expires_at_s": None, "updated_at_s": now_s}


def woken(ex: Execution, *, event: str | None, number: int | None, payload: Any, by: str | None,
          now_s: float) -> dict[str, Any]:
    """waiting -> queued with the wait resolved: by ``event`` (its payload must hold ``match``'s
    fields) or, with ``event`` None, by the timer of wait ``number`` once it is due. Errors:
    AlreadyDelivered (this wait's event came, or it timed out), NotWaiting (anything else)."""
    w = ex.wait
    if event is not None:
        if w is not None and w.kind in ("event", "ask") and w.event == event and w.resolved:
            raise AlreadyDelivered(f"event '{event}' was already delivered to execution {ex.id}"
                                   + (" (its wait timed out)" if w.timed_out else ""),
                                   fix="nothing to do: an event resumes a wait once")
        if ex.status != ExecutionStatus.WAITING or w is None or w.kind not in ("event", "ask") or w.event != event:
            waiting = f"waiting for '{w.event}'" if ex.status == ExecutionStatus.WAITING and w else ex.status.value
            raise NotWaiting(f"execution {ex.id} is not waiting for '{event}' ({waiting})",
                             fix="check_execution_status says what a run waits for", status=ex.status.value)
        missing = [k for k, v in w.match.items() if not isinstance(payload, dict) or payload.get(k) != v]
        if missing:
            raise NotWaiting(f"the payload does not match this wait (fields {', '.join(sorted(missing))})",
                             fix="send a payload whose fields equal the wait's match", fields=sorted(missing))
        update = {"delivered": True, "payload": payload}
    else:
        if ex.status != ExecutionStatus.WAITING or w is None or w.number != number or w.resolved:
            raise NotWaiting(f"execution {ex.id} has no wait {number} to time out", fix="nothing to do")
        if w.until_s is None or now_s < w.until_s - TIMER_SLACK_S:
            raise NotWaiting(f"the wait of execution {ex.id} is not due yet", fix="fire at until_s", early=True)
        update = {"timed_out": True}
    resolved = w.model_copy(update={**update, "resolved_at_s": now_s, "by": by})
    return {"status": ExecutionStatus.QUEUED, "wait": resolved, "updated_at_s": now_s}


def refuse_lease(ex: Execution) -> None:
    """A parked run is not run by a delivery (a duplicate, a sweep): only a wake makes it queued."""
    if ex.status == ExecutionStatus.WAITING:
        raise Conflict(f"execution {ex.id} is waiting (for {ex.wait.event or 'its timer' if ex.wait else '?'})",
                       fix="deliver its event (send_event) or cancel it")


def cancels_at_once(ex: Execution) -> bool:
    """A cancel ends a run with no runner (queued or parked) at once."""
    return ex.status in (ExecutionStatus.QUEUED, ExecutionStatus.WAITING)
