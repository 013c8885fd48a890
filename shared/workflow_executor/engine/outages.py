"""Waiting out an unreachable store inside a run: a checkpoint or the finish that meets
StoreUnavailable is retried with backoff instead of ending the pass, and the run's deadline moves
by the time it waited, so that a store outage shorter than the run's timeout never times it out."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar

from ..errors import StoreUnavailable

if TYPE_CHECKING:
    from .run import Run

log = logging.getLogger(__name__)
T = TypeVar("T")

FIRST_PAUSE_S = 0.1
MAX_PAUSE_S = 2.0


class Outages:
    """The store waits of one pass over one execution. ``waited_s``: the seconds this pass was
    held up by an unreachable store, already added to the run's deadline."""

    def __init__(self, run: Run, max_s: float) -> None:
        self.run = run
        self.max_s = max_s
        self.waited_s = 0.0
        self.since: float | None = None  # clock time the current outage began (None: the store answers)

    def current(self) -> float:
        """Seconds of the outage this pass is waiting out now (0 when there is none)."""
        return 0.0 if self.since is None else max(self.run.clock.now() - self.since, 0.0)

    def outlast(self, what: str, write: Callable[[], T]) -> T:
        """``write()``, retried with backoff (0.1 s doubling to 2 s) while it raises
        StoreUnavailable; once it succeeds the deadline moves by the time waited.

        Errors: StoreUnavailable once the store stayed unreachable for ``max_s`` (or past the
        pass's budget, so that the delivery can answer in time): the pass ends as before and
        its redelivery resumes from the checkpoints. Any other error of ``write`` as is."""
        run = self.run
        started = time.monotonic()
        pause = FIRST_PAUSE_S
        while True:
            tried_at = run.clock.now()
            try:
                result = write()
            except StoreUnavailable as exc:
                if self.since is None:  # the outage began when the failed call was sent
                    self.since = tried_at
                    log.warning("execution %s: the store is unreachable at %s (%s); waiting for it",
                                run.ex.id, what, exc.message)
                over_budget = run.budget_end is not None and time.monotonic() + pause >= run.budget_end
                if time.monotonic() - started + pause > self.max_s or over_budget:
                    log.warning("execution %s: the store stayed unreachable for %.1f s; this pass ends",
                                run.ex.id, time.monotonic() - started)
                    raise
                time.sleep(pause)
                pause = min(pause * 2, MAX_PAUSE_S)
                continue
            if self.since is not None:
                waited = self.current()
                self.since = None
                self.waited_s += waited
                if run.deadline is not None:
                    run.deadline += waited
                log.warning("execution %s: the store answered again after %.1f s; its deadline moves by that",
                            run.ex.id, waited)
            return result
