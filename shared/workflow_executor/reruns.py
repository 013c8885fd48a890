"""Reruns: a new execution of a finished one's workflow version and input, for the same caller
and budget, that reuses its finished steps up to the failed one (or up to a chosen step); and
resumes: the unfinished runs of a home handed to a runner again at start."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

from . import access, waiting
from .errors import Conflict, InvalidArgument
from .models import Execution, ExecutionMode, ExecutionStatus, Progress, StepStatus
from .ports import ExecutionQuery, TaskRequest
from .spec import graph

if TYPE_CHECKING:
    from .engine.runner import Engine
    from .services import Services


def prepare(engine: Engine, old: Execution, from_step: str | None, mode: str | None) -> Execution:
    """Store the rerun of ``old`` with its reused steps checkpointed (not yet dispatched).
    Errors: Conflict (still running), InvalidArgument (nothing to rerun, unknown from_step)."""
    if not old.finished:
        raise Conflict(f"execution '{old.id}' is still {old.status.value}",
                       fix="wait for it to finish or cancel it first")
    if old.status == ExecutionStatus.COMPLETED and from_step is None:
        raise InvalidArgument("a completed execution has no failed step to rerun from",
                              fix="name from_step to rerun from that step")
    doc = engine.document(old.workflow_name, old.workflow_hash)
    wf = doc.workflow(old.workflow_name)
    if from_step is not None and from_step not in {s.id for s in wf.steps}:
        raise InvalidArgument(f"from_step '{from_step}' is not a step of workflow '{wf.id}'",
                              fix="use one of: " + ", ".join(s.id for s in wf.steps))
    redo = _downstream(wf, from_step) if from_step else set()
    keep = [r for r in old.steps.values()
            if r.status in (StepStatus.COMPLETED, StepStatus.SKIPPED) and r.step_id not in redo]
    store = engine.store
    now = engine.clock.now()
    new = Execution(id=uuid.uuid4().hex, workflow_name=old.workflow_name, workflow_hash=old.workflow_hash,
                    mode=ExecutionMode(mode) if mode else old.mode, input=old.input, **access.inherited(old),
                    budget=old.budget, timeout_s=old.timeout_s, rerun_of=old.id,
                    # an isolated rerun goes where the run went (its key's right was checked then)
                    profile=old.profile if (ExecutionMode(mode) if mode else old.mode) == ExecutionMode.ISOLATED
                    else None,
                    progress=Progress(total=len(wf.steps)), created_at_s=now, updated_at_s=now)
    new, _ = store.create(new)
    owner = engine.new_owner()
    store.acquire_lease(new.id, owner, 60.0, now)
    for done, rec in enumerate(sorted(keep, key=lambda r: r.seq), start=1):
        progress = Progress(completed=done, total=len(wf.steps))  # of the whole workflow, as a run's
        store.save_step(new.id, owner, rec.model_copy(update={"reused": True}), progress, now + 60)
    store.release_lease(new.id, owner)
    return new


def _downstream(wf: Any, start: str) -> set[str]:
    """``start`` and every step that can run after it."""
    g = graph(wf)
    succ: dict[str, set[str]] = {s.id: set(g.successors.get(s.id, ())) for s in wf.steps}
    for sid, deps in g.depends.items():
        for d in deps:
            succ.setdefault(d, set()).add(sid)
    for key, fan_in in g.fan_ins.items():
        for b in g.branches.get(key, ()):
            succ.setdefault(b, set()).add(fan_in)
    seen, todo = {start}, [start]
    while todo:
        for nxt in succ.get(todo.pop(), ()):
            if nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
    return seen


def resume_pending(services: Services) -> list[str]:
    """Queue every queued or running top-level execution again (isolated ones only ever as a
    job, with the job's limits, never inside the server), and arm the timers of waiting ones
    (they do not run until their event or timer). Returns the ids queued."""
    ids: list[str] = []
    if services.queue is None:
        return ids
    waiting.rearm_all(services)
    for status in (ExecutionStatus.RUNNING, ExecutionStatus.QUEUED):
        cursor = None
        while True:
            page = services.store.list(ExecutionQuery(status=status, limit=200, cursor=cursor))
            for ex in page.items:
                if ex.parent_id is None:
                    if ex.mode == ExecutionMode.ISOLATED and services.jobs is not None:
                        services.jobs.start(ex.id)
                    else:
                        services.queue.enqueue(TaskRequest(ex.id, segment=-1, takeover=True, group=ex.workflow_name))
                    ids.append(ex.id)
            cursor = page.next_cursor
            if not cursor:
                break
    return ids
