"""The sweeper: hands every run that nothing will run any more back to a runner, or ends it.

A run whose lease lapsed lost its runner (a killed worker, an mcp instance that crashed inside
a sync run) and the queue's redeliveries may be spent; a run that sits queued may have no task
(its enqueue failed). The sweeper re-queues such a top-level run under a fresh task name (an
isolated one whose job died restarts as a job), ends a child whose parent already ended, and wakes a
waiting run whose timer is overdue (never re-queues a waiting run otherwise). It runs from
Cloud Scheduler (the worker's ``/sweep``), as a thread in ``wfx serve``, and from the emulator
stack's scheduler. Duplicate deliveries are harmless: the lease admits one runner.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from . import waiting
from .errors import Conflict, WfxError
from .models import ErrorInfo, Execution, ExecutionMode, ExecutionStatus
from .ports import Event, ExecutionQuery, TaskRequest, finished_fields

if TYPE_CHECKING:
    from .services import Services

log = logging.getLogger(__name__)

# Sweep deliveries get their own task names (one per run and second), apart from the run's own
# segments and the events function's parent resumes (1_000_000_000 + t).
SWEEP_SEGMENT_BASE = 2_000_000_000
PAGE = 200


@dataclass
class SweepReport:
    """What one sweep did: ids re-queued, ids ended, and the number of runs looked at."""

    requeued: list[str] = field(default_factory=list)
    ended: list[str] = field(default_factory=list)
    seen: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {"requeued": self.requeued, "ended": self.ended, "seen": self.seen}


def lapsed(ex: Execution, now_s: float, queued_after_s: float) -> bool:
    """True when nothing runs ``ex`` any more: running with a lease that ran out (or given up
    longer ago than ``queued_after_s``, a hand-over whose task never came), or queued for longer
    than ``queued_after_s``."""
    if ex.finished:
        return False
    if ex.status == ExecutionStatus.QUEUED:
        return ex.created_at_s + queued_after_s <= now_s
    if ex.lease_expires_at_s is not None:
        return ex.lease_expires_at_s <= now_s
    return ex.updated_at_s + queued_after_s <= now_s


def sweep(services: Services, *, now_s: float | None = None, limit: int = 1000) -> SweepReport:
    """One pass over the queued and running executions (at most ``limit`` of each). Store
    errors propagate (the scheduler calls again); a run that cannot be handed on is logged and
    left for the next pass."""
    settings = services.settings
    now = services.engine.clock.now() if now_s is None else now_s
    after = settings.sweep_queued_after_s
    report = SweepReport()
    for status in (ExecutionStatus.RUNNING, ExecutionStatus.QUEUED):
        cursor, looked = None, 0
        while looked < limit:
            page = services.store.list(ExecutionQuery(status=status, limit=min(PAGE, limit - looked),
                                                      cursor=cursor))
            looked += len(page.items)
            for head in page.items:
                report.seen += 1
                # A list item's lease may lag behind the checkpoints: confirm on the full record.
                if lapsed(head, now, after):
                    ex = services.store.get(head.id)
                    if ex is not None and lapsed(ex, now, after):
                        _handle(services, ex, now, report)
            cursor = page.next_cursor
            if not cursor:
                break
    report.requeued += waiting.wake_overdue(services, now, after, limit)  # timers that were lost
    _backfill(services)
    if report.requeued or report.ended:
        log.warning("sweep: re-queued %s, ended %s", report.requeued, report.ended)
    return report


def _backfill(services: Services) -> None:
    """A page of the search fields of runs stored before they existed (a store that keeps such
    fields: Firestore). Never fails the sweep: what was not filled is filled on a later one."""
    fill = getattr(services.store, "backfill_search", None)
    if fill is None:
        return
    try:
        filled = fill(PAGE)
    except Exception as exc:  # a projection: the sweep's own work is done
        log.warning("sweep: the search fields of older runs were not filled in this time (%s)", type(exc).__name__)
        return
    if filled:
        log.info("sweep: filled the search fields of %d older runs", filled)


def _handle(services: Services, ex: Execution, now: float, report: SweepReport) -> None:
    try:
        if ex.parent_id is not None:
            # A child runs inside its parent's runner: the parent's own sweep brings it back,
            # unless the parent already ended, which leaves the child with no runner for good.
            parent = services.store.get_head(ex.parent_id)
            if parent is None or parent.finished:
                _end_orphan(services, ex, parent, now)
                report.ended.append(ex.id)
            return
        if ex.mode == ExecutionMode.ISOLATED:
            # A runner that can ask how its job ended (Cloud Run) ends a run whose job executions
            # all ended without finishing it, with the cause, instead of starting yet another.
            reconcile = getattr(services.jobs, "reconcile", None)
            if reconcile is not None and reconcile(ex.id) is not None:
                report.ended.append(ex.id)
                return
            # Only once a job held it and died: a queued one may be a job that is still starting,
            # and a second job would race it.
            if services.jobs is None or ex.status == ExecutionStatus.QUEUED:
                return
            services.jobs.start(ex.id)  # only ever as a job, with the job's limits
        elif services.queue is not None:
            services.queue.enqueue(TaskRequest(ex.id, segment=SWEEP_SEGMENT_BASE + int(now), group=ex.workflow_name))
        else:
            return
        report.requeued.append(ex.id)
    except Conflict:
        return  # it ended meanwhile
    except WfxError as exc:
        log.error("sweep could not hand on execution %s: %s", ex.id, exc)


def _end_orphan(services: Services, ex: Execution, parent: Execution | None, now: float) -> None:
    if parent is not None and parent.status == ExecutionStatus.CANCELLED:
        status, error = ExecutionStatus.CANCELLED, ErrorInfo(code="cancelled", message=(
            f"execution was cancelled: its parent {parent.id} was cancelled"))
    else:
        ended = parent.status.value if parent is not None else "gone"
        status, error = ExecutionStatus.FAILED, ErrorInfo(code="parent_ended", message=(
            f"its parent execution {ex.parent_id} ended ({ended}) while this child workflow had no runner"))
    done = services.store.finish(ex.id, None, status, error=error, now_s=now)
    try:
        services.events.publish(Event(type=f"execution.{done.status.value}", execution_id=done.id,
                                      workflow=done.workflow_name,
                                      data={"error": error.model_dump(), **finished_fields(done)}))
    except Exception:  # events are projections
        log.exception("event for swept execution %s was not published", done.id)


class SweeperThread:
    """Sweeps every ``interval_s`` in a daemon thread (``wfx serve``); ``stop`` ends it."""

    def __init__(self, services: Services, interval_s: float) -> None:
        self.services = services
        self.interval_s = interval_s
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> SweeperThread:
        if self.interval_s > 0:
            self._thread = threading.Thread(target=self._loop, name="wfx-sweeper", daemon=True)
            self._thread.start()
        return self

    def _loop(self) -> None:
        while not self._stop.wait(self.interval_s):
            try:
                sweep(self.services)
            except WfxError as exc:  # a store that is down or damaged says so in one line
                log.error("sweep failed: [%s] %s", exc.code, exc)
            except Exception:  # the next pass tries again; the thread must outlive a store hiccup
                log.exception("sweep failed")

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)
