"""Overlap policies of schedules and triggers (as Temporal schedules offer): at most
``max_concurrent`` unfinished runs of a workflow started by one source; past that a new firing
is skipped, queued (schedules: one waits and starts when a run ends) or cancels the oldest.
One function decides for the scheduler and the events function alike.
"""

from __future__ import annotations

import logging
from enum import StrEnum
from typing import Any

from .models import Execution, ExecutionStatus
from .ports import ExecutionQuery

log = logging.getLogger(__name__)
POLICIES = ("skip", "queue", "cancel_older", "allow_all")


class Admit(StrEnum):
    START = "start"      # start the run now
    SKIP = "skip"        # drop this firing
    WAIT = "wait"        # keep it and try again when a run has ended (schedules' ``queue``)


def unfinished(executor: Any, workflow: str, principal: str, limit: int) -> list[Execution]:
    """The queued and running runs of ``workflow`` that ``principal`` started, oldest first
    (at most ``limit`` of each status)."""
    out: list[Execution] = []
    for status in (ExecutionStatus.RUNNING, ExecutionStatus.QUEUED):
        page = executor.store.list(ExecutionQuery(status=status, workflow_name=workflow, principal=principal,
                                                  limit=limit))
        out.extend(page.items)
    return sorted(out, key=lambda e: e.created_at_s)


def admit(executor: Any, workflow: str, principal: str, max_concurrent: int | None, policy: str) -> Admit:
    """Whether a new firing of ``workflow`` may start now under ``policy``; ``cancel_older``
    cancels the oldest runs to make room. ``max_concurrent`` None (or ``allow_all``): no limit."""
    if max_concurrent is None or policy == "allow_all":
        return Admit.START
    running = unfinished(executor, workflow, principal, max_concurrent + 1)
    if len(running) < max_concurrent:
        return Admit.START
    if policy == "cancel_older":
        for old in running[:len(running) - max_concurrent + 1]:
            log.info("overlap: cancelling %s of %s to start a newer firing", old.id, workflow)
            executor.cancel(old.id)
        return Admit.START
    return Admit.WAIT if policy == "queue" else Admit.SKIP
