"""How a pass of a run ends: the final write (folded with the last checkpoint where the store can),
the run's result, and the events that announce it."""

from __future__ import annotations

import resource
from typing import TYPE_CHECKING, Any, cast

from ..errors import Conflict, WfxError
from ..models import ErrorInfo, Execution, ExecutionStatus, StepStatus
from ..ports import FoldingStore, finished_fields

if TYPE_CHECKING:
    from .run import Run


def flush_last(run: Run) -> None:
    """Write a held-back last checkpoint on its own (best effort: this pass is ending)."""
    with run.lock:
        last, run.last = run.last, None
    if last is None:
        return
    rec, progress, data = last
    try:
        run.store.save_step(run.ex.id, run.owner, rec, progress,
                             run.clock.now() + run.engine.config.lease_ttl_s)
    except WfxError:
        return  # not ours or finished already: the redelivery decides
    run.emit(f"step.{rec.status.value}", data)

def result_of(run: Run) -> Any:
    """The output routed ``to: user`` (the last, if several), else the last finished step's output."""
    finished = sorted((r for r in run.records.values() if r.status != StepStatus.FAILED),
                      key=lambda r: r.seq)
    to_user = [r for r in finished if r.to_user]
    if to_user:
        return to_user[-1].output
    return finished[-1].output if finished else None

def end(run: Run, status: ExecutionStatus, *, result: Any = None, error: ErrorInfo | None = None) -> Execution:
    """Finish the run with ``status`` (the held-back last checkpoint in the same commit) and publish it."""
    with run.lock:
        run.done = True
    # The stored tokens and cost are exactly what the model calls of this run and its children
    # reported, calls of branches still running when it failed included (they settle first).
    # A cancelled or timed-out run does not wait for them.
    quick = status in (ExecutionStatus.CANCELLED, ExecutionStatus.TIMEOUT)
    spent = run.ledger.close(0.0 if quick else run.engine.config.settle_wait_s)
    run.usage = run.usage.model_copy(update=spent.model_dump(include={"prompt_tokens", "completion_tokens",
                                                                        "cost_usd"}))
    if run.engine.config.measure_process:
        ru = resource.getrusage(resource.RUSAGE_SELF)
        # The process's CPU includes its steps' (already summed): the larger of the two.
        run.usage = run.usage.model_copy(update={"cpu_s": max(run.usage.cpu_s, ru.ru_utime + ru.ru_stime),
                                                    "peak_memory_kb": max(run.usage.peak_memory_kb,
                                                                          ru.ru_maxrss)})
    with run.lock:
        last, run.last = run.last, None
    try:
        if last is not None:
            rec, progress = last[0], last[1]
            head = run.outages.outlast("the finish", lambda: cast(FoldingStore, run.store).finish_with_step(
                run.ex.id, run.owner, status, rec, progress, result=result, error=error, usage=run.usage,
                now_s=run.clock.now()))
            # this runner wrote (or read at its start) every step record: no need to read them back
            ex = head.model_copy(update={"steps": dict(run.records)})
        else:
            ex = run.outages.outlast("the finish", lambda: run.store.finish(
                run.ex.id, run.owner, status, result=result, error=error, usage=run.usage,
                now_s=run.clock.now()))
    except Conflict:
        # Someone finished it first (a cancel of this run, say): report what is stored.
        cur = run.store.get(run.ex.id)
        if cur is None:
            raise
        ex = cur
        last = None  # its step was discarded with the run
    if last is not None:
        run.emit(f"step.{last[0].status.value}", last[2])
    run.emit(f"execution.{ex.status.value}", {"error": error.model_dump() if error else None,
                                                "usage": ex.usage.model_dump(), **finished_fields(ex)})
    return ex
