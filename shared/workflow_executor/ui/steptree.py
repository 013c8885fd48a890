"""The step tree of one execution, shared by the web view's timeline and ``wfx watch``: a row
per step record (sorted by start), each loop's iteration count, the child executions a step
started nested below it with their own steps, and the steps still running."""

from __future__ import annotations

from ..models import Execution, StepRecord
from ..ports import ExecutionStore
from ..spec.model import Step, WorkflowDocument
from .timeline import Row

MAX_CHILDREN = 50  # child executions looked up per step (one per loop iteration)


def children(store: ExecutionStore, ex: Execution, step: Step, rec: StepRecord) -> list[Execution]:
    """The child executions ``step`` started: their ids are deterministic (engine.children)."""
    if step.invoke_workflow is None:
        return []
    if step.loop is None:
        ids = [f"{ex.id}.{step.id}"]
    else:
        n = len(rec.output) if isinstance(rec.output, list) else MAX_CHILDREN
        ids = [f"{ex.id}.{step.id}.{i}" for i in range(min(n, MAX_CHILDREN))]
    out = []
    for cid in ids:
        child = store.get(cid)
        if child is None:
            break
        out.append(child)
    return out


def rows(store: ExecutionStore | None, ex: Execution, doc: WorkflowDocument | None, now: float,
         prefix: str = "") -> tuple[list[Row], float, float]:
    """The rows and the time span [t0, t1] they cover."""
    t0 = ex.started_at_s or ex.created_at_s
    t1 = ex.ended_at_s or now
    steps = {s.id: s for s in doc.workflow(ex.workflow_name).steps} if doc else {}
    out: list[Row] = []
    recs = sorted(ex.steps.values(), key=lambda r: (r.started_at_s or 0.0, r.seq))
    for rec in recs:
        start = rec.started_at_s or t0
        end = rec.ended_at_s or t1
        step = steps.get(rec.step_id)
        note = f"{rec.attempts} attempts" if rec.attempts > 1 else ("reused" if rec.reused else "")
        if step is not None and step.loop is not None and isinstance(rec.output, list):
            note = f"{len(rec.output)} iterations"
        out.append(Row(rec.step_id, start, end, rec.status.value, note=note, href=f"#step-{rec.step_id}"))
        for child in children(store, ex, step, rec) if step and store is not None else []:
            out.append(Row(child.id[len(ex.id) + 1:], child.started_at_s or start, child.ended_at_s or t1,
                           child.status.value, indent=1, href=f"{prefix}/ui/executions/{child.id}",
                           note=child.workflow_name))
            for crec in sorted(child.steps.values(), key=lambda r: (r.started_at_s or 0.0, r.seq)):
                out.append(Row(crec.step_id, crec.started_at_s or start, crec.ended_at_s or t1,
                               crec.status.value, indent=2))
    if not ex.finished:  # running steps have no record yet: from their hand-over to now
        done_at = max((r.ended_at_s or t0 for r in recs), default=t0)
        for sid in ex.progress.current:
            if sid not in ex.steps:
                out.append(Row(sid, done_at, now, "waiting" if ex.status.value == "waiting" else "running",
                               href=f"#step-{sid}"))
    if out:
        t1 = max(t1, max(r.end for r in out))
    return out, t0, t1
