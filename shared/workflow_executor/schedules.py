"""Workflow schedules under ``wfx serve``: a thread that starts the ``schedules`` of registered
workflows as async executions. Each firing's idempotency key is (workflow, schedule, firing
time), so a restart or a second server on the same store never starts one firing twice. Missed
firings (the server was down) are not made up; the next one after now is. A firing that finds
``max_concurrent`` runs unfinished follows the schedule's ``overlap`` policy (overlap.py), and a
schedule that fires more often than the operator's minimum is not run. In the cloud, Cloud
Scheduler does this job instead (infra ``schedules``)."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .cron import Cron, CronError
from .errors import WfxError
from .overlap import Admit, admit
from .ports import PauseStore
from .spec.model import WorkflowDocument

log = logging.getLogger(__name__)
PRINCIPAL = "scheduler"


@dataclass(frozen=True)
class Entry:
    """One schedule of one registered workflow."""

    workflow: str
    index: int
    cron: Cron
    expr: str
    input: Any
    max_concurrent: int = 1
    overlap: str = "skip"

    @property
    def key(self) -> str:
        """Its name in ``ports.PauseStore``."""
        return pause_key(self.workflow, self.index)


def pause_key(workflow: str, index: int) -> str:
    """The PauseStore key of schedule ``index`` of ``workflow``."""
    return f"schedule:{workflow}:{index}"


def load_entries(registry: Any, min_interval_s: float = 0.0, now_s: float | None = None) -> list[Entry]:
    """The schedules of the latest version of every stored workflow (each belongs to the
    workflow it starts, as triggers do); one that cannot be read, or that fires more often than
    ``min_interval_s`` (stored before the operator set it), is logged and skipped."""
    out: list[Entry] = []
    for stored in registry.list():
        if not stored.document.get("schedules"):
            continue
        try:
            doc = WorkflowDocument.model_validate(stored.document)
        except ValueError:
            log.error("stored workflow %s does not parse; its schedules are ignored", stored.name)
            continue
        for i, sched in enumerate(doc.schedules):
            if (sched.workflow or doc.workflow().id) != stored.name:
                continue
            try:
                cron = Cron.parse(sched.cron, sched.time_zone)
                gap = cron.min_gap_s(time.time() if now_s is None else now_s, 60) if min_interval_s else 0.0
            except CronError as exc:
                log.error("schedule %d of %s is ignored: %s", i, stored.name, exc)
                continue
            if gap < min_interval_s:
                log.error("schedule %d of %s is ignored: it fires every %g s, more often than "
                          "WFX_SCHEDULE_MIN_INTERVAL_S=%g", i, stored.name, gap, min_interval_s)
                continue
            out.append(Entry(stored.name, i, cron, sched.cron, sched.input, sched.max_concurrent, sched.overlap))
    return out


class Scheduler:
    """Runs in the background of ``wfx serve``; ``start()`` then ``stop()``."""

    def __init__(self, executor: Any, *, refresh_s: float = 5.0, clock: Callable[[], float] = time.time,
                 min_interval_s: float | None = None) -> None:
        self._executor = executor
        settings = getattr(getattr(executor, "services", None), "settings", None)
        self._min_interval_s = (min_interval_s if min_interval_s is not None
                                else getattr(settings, "schedule_min_interval_s", 60.0))
        self._refresh_s = refresh_s
        self._clock = clock
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="wfx-scheduler", daemon=True)
        self.fired = 0
        self.skipped = 0

    def start(self) -> Scheduler:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(10)

    def _loop(self) -> None:
        due: dict[tuple[str, int, str], float] = {}
        waiting: dict[tuple[str, int, str], float] = {}  # overlap: queue - one firing per schedule waits
        entries: list[Entry] = []
        loaded_at = -float("inf")
        while not self._stop.is_set():
            now = self._clock()
            if time.monotonic() - loaded_at >= self._refresh_s:
                try:
                    entries = load_entries(self._executor.registry, self._min_interval_s, now)
                except WfxError as exc:  # a store that is down or damaged says so in one line
                    log.warning("schedules could not be re-read: [%s] %s", exc.code, exc)
                except Exception:  # the store may hiccup; keep the schedules we have
                    log.warning("schedules could not be re-read", exc_info=True)
                loaded_at = time.monotonic()
                keys = {(e.workflow, e.index, e.expr) for e in entries}
                due = {k: v for k, v in due.items() if k in keys}
                waiting = {k: v for k, v in waiting.items() if k in keys}
            for e in entries:
                key = (e.workflow, e.index, e.expr)
                if key in waiting and self._admit(e) == Admit.START:
                    self._fire(e, waiting.pop(key))
                when = due.setdefault(key, e.cron.next_after(now))
                if when <= now:
                    verdict = self._admit(e)
                    if verdict == Admit.START:
                        self._fire(e, when)
                    elif verdict == Admit.WAIT:
                        waiting[key] = when  # the newest firing waits; an older waiting one is dropped
                    else:
                        self.skipped += 1
                        log.info("schedule %d of %s skipped a firing: %d runs unfinished (overlap: skip)",
                                 e.index, e.workflow, e.max_concurrent)
                    due[key] = e.cron.next_after(max(when, now))
            soonest = [*(t - self._clock() for t in due.values()), self._refresh_s]
            wait = min([*soonest, 0.5] if waiting else soonest)
            self._stop.wait(max(wait, 0.01))

    def _admit(self, e: Entry) -> Admit:
        try:
            return admit(self._executor, e.workflow, PRINCIPAL, e.max_concurrent, e.overlap)
        except Exception:  # the store may hiccup: try this firing again on the next pass
            log.warning("schedule %d of %s: could not count its runs", e.index, e.workflow, exc_info=True)
            return Admit.WAIT

    def _paused(self, e: Entry) -> bool:
        store = getattr(self._executor, "store", None)
        try:
            return isinstance(store, PauseStore) and e.key in store.paused()
        except Exception:  # the store may hiccup: fire as scheduled
            log.warning("schedule %d of %s: could not read whether it is paused", e.index, e.workflow, exc_info=True)
            return False

    def _fire(self, e: Entry, when: float) -> None:
        if self._paused(e):
            self.skipped += 1
            log.info("schedule %d of %s is paused: firing skipped", e.index, e.workflow)
            return
        try:
            self._executor.start(e.workflow, e.input, principal=PRINCIPAL,
                                 idempotency_key=f"schedule:{e.workflow}:{e.index}:{int(when)}")
            self.fired += 1
        except WfxError as exc:
            log.error("schedule %d of %s did not start: %s", e.index, e.workflow, exc)
        except Exception:  # one broken firing must not end the scheduler
            log.exception("schedule %d of %s did not start", e.index, e.workflow)
