"""Workflow schedules under ``wfx serve``: a thread that starts the ``schedules`` of registered
workflows as async executions. Each firing's idempotency key is (workflow, schedule, firing
time), so a restart or a second server on the same store never starts one firing twice. Missed
firings (the server was down) are not made up; the next one after now is. In the cloud, Cloud
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


def load_entries(registry: Any) -> list[Entry]:
    """The schedules of the latest version of every stored workflow (each belongs to the
    workflow it starts, as triggers do); one that cannot be read is logged and skipped."""
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
                out.append(Entry(stored.name, i, Cron.parse(sched.cron, sched.time_zone), sched.cron, sched.input))
            except CronError as exc:
                log.error("schedule %d of %s is ignored: %s", i, stored.name, exc)
    return out


class Scheduler:
    """Runs in the background of ``wfx serve``; ``start()`` then ``stop()``."""

    def __init__(self, executor: Any, *, refresh_s: float = 5.0, clock: Callable[[], float] = time.time) -> None:
        self._executor = executor
        self._refresh_s = refresh_s
        self._clock = clock
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="wfx-scheduler", daemon=True)
        self.fired = 0

    def start(self) -> Scheduler:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(10)

    def _loop(self) -> None:
        due: dict[tuple[str, int, str], float] = {}
        entries: list[Entry] = []
        loaded_at = -float("inf")
        while not self._stop.is_set():
            now = self._clock()
            if time.monotonic() - loaded_at >= self._refresh_s:
                try:
                    entries = load_entries(self._executor.registry)
                except WfxError as exc:  # a store that is down or damaged says so in one line
                    log.warning("schedules could not be re-read: [%s] %s", exc.code, exc)
                except Exception:  # the store may hiccup; keep the schedules we have
                    log.warning("schedules could not be re-read", exc_info=True)
                loaded_at = time.monotonic()
                keys = {(e.workflow, e.index, e.expr) for e in entries}
                due = {k: v for k, v in due.items() if k in keys}
            for e in entries:
                key = (e.workflow, e.index, e.expr)
                when = due.setdefault(key, e.cron.next_after(now))
                if when <= now:
                    self._fire(e, when)
                    due[key] = e.cron.next_after(max(when, now))
            wait = min([*(t - self._clock() for t in due.values()), self._refresh_s])
            self._stop.wait(max(wait, 0.01))

    def _fire(self, e: Entry, when: float) -> None:
        try:
            self._executor.start(e.workflow, e.input, principal=PRINCIPAL,
                                 idempotency_key=f"schedule:{e.workflow}:{e.index}:{int(when)}")
            self.fired += 1
        except WfxError as exc:
            log.error("schedule %d of %s did not start: %s", e.index, e.workflow, exc)
        except Exception:  # one broken firing must not end the scheduler
            log.exception("schedule %d of %s did not start", e.index, e.workflow)
