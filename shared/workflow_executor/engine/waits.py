"""Wait steps in the engine (``wait_for`` / ``sleep``): a run whose only work left is an
unresolved wait parks (status ``waiting``: no thread, worker, lease or instance held; its timer
armed through ``Engine.on_park``), and the pass that resumes it completes the wait step from the
resolved wait: the event's payload, the timeout (a route or a ``timeout`` failure), or the sleep."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from ..errors import Conflict, InvalidArgument, LeaseLost, WfxError
from ..models import Execution, Progress, WaitState
from ..spec.model import Step
from ..spec.refs import render
from ..spec.waits import routes_timeout
from . import asking

if TYPE_CHECKING:
    from .run import Run

log = logging.getLogger(__name__)

# TaskRequest segments (task names) of a run's n-th wait: its timer, and the delivery that resumes it.
# Far above the parent resumes (1e9 + t) and the sweeps (2e9 + t), whose t is Unix seconds.
WAIT_TIMER_BASE = 100_000_000_000
WAIT_RESUME_BASE = 200_000_000_000


class WaitTimedOut(WfxError):
    """A wait_for whose timeout passed with no event, and whose routes do not read ${wait.timed_out}."""

    code = "timeout"


def is_wait(step: Step) -> bool:
    return step.wait_for is not None or step.sleep is not None


def resolved(run: Run, step_id: str) -> WaitState | None:
    w = run.ex.wait
    return w if w is not None and w.step == step_id and w.resolved else None


def hold(run: Run, ready: list[str]) -> list[str]:
    """``ready`` without its unresolved wait steps; those are kept in ``run.held`` (the run parks
    at the first once nothing else runs). A child run never parks: its wait step fails."""
    if run.ex.parent_id is not None:
        return ready
    out: list[str] = []
    for sid in ready:
        if sid in run.asking or (is_wait(run.workflow.steps[run.index[sid]]) and resolved(run, sid) is None):
            if sid not in run.held:
                run.held.append(sid)
        else:
            out.append(sid)
    return out


def waited_s(run: Run) -> float:
    """Seconds this run spent parked (its deadline does not count them)."""
    total = 0.0
    for rec in run.records.values():
        if rec.step_id in run.index and is_wait(run.workflow.steps[run.index[rec.step_id]]):
            total += (rec.ended_at_s or 0.0) - (rec.started_at_s or 0.0)
    w = run.ex.wait
    if w is not None and w.kind == "ask":
        return total + asking.asked_before(w)  # an ask's step record starts after its answer
    if w is not None:
        total += w.asked_s
        if w.resolved and w.step not in run.records:
            total += (w.resolved_at_s or w.since_s) - w.since_s
    return total


def park(run: Run, step_id: str) -> Execution:
    """Park the run at ``step_id``: one write (status waiting, what for and until when), the
    lease given up, the timer armed. A cancel that came first ends the run cancelled instead."""
    step = run.workflow.steps[run.index[step_id]]
    now = run.clock.now()
    number = run.ex.wait.number + 1 if run.ex.wait is not None else 1
    if step_id in run.asking:
        wait = asking.wait_state(run, step_id, now, number)
    elif step.wait_for is not None:
        w = step.wait_for
        match = render(dict(w.match), run.scope_of(step)) if w.match else {}
        wait = WaitState(step=step_id, kind="event", event=w.event, match=match, payload_schema=w.payload_schema,
                         since_s=now, until_s=now + w.timeout if w.timeout else None, number=number,
                         asked_s=asking.asked_before(run.ex.wait))
    else:
        wait = WaitState(step=step_id, kind="sleep", since_s=now, until_s=now + (step.sleep or 0.0), number=number,
                         asked_s=asking.asked_before(run.ex.wait))
    progress = Progress(completed=run.finished_count, total=len(run.workflow.steps), current=[step_id])
    with run.lock:
        run.done = True  # the heartbeat leaves the lease alone from here
    try:
        ex = run.store.park(run.ex.id, run.owner, wait, progress, now)
    except LeaseLost:
        raise
    except Conflict:
        cur = run.store.get(run.ex.id)
        if cur is not None and cur.finished:
            return cur
        return run.end_cancelled()
    run.emit("execution.waiting", {"step": step_id, "event": wait.event, "kind": wait.kind, "question": wait.question,
                                   "since_s": wait.since_s, "until_s": wait.until_s})
    hook = run.engine.on_park
    if hook is not None:
        try:
            hook(ex)
        except WfxError as exc:  # the sweeper arms a lost timer again
            log.warning("the timer of %s's wait was not armed: %s", ex.id, exc)
    return ex


def step_output(run: Run, step: Step) -> Any:
    """The output of a resolved wait step. Errors: WaitTimedOut, InvalidArgument (in a child run)."""
    if run.ex.parent_id is not None:
        raise InvalidArgument(f"step '{step.id}' waits, but this run is a child workflow's",
                              fix="wait in the parent workflow, before or after invoke_workflow")
    w = resolved(run, step.id)
    if w is None:  # unreachable: hold() keeps unresolved waits out of the frontier
        raise InvalidArgument(f"step '{step.id}' has no resolved wait")
    if w.kind == "sleep":
        return {"slept_s": step.sleep}
    if w.timed_out:
        if routes_timeout(step):
            return None
        timeout = step.wait_for.timeout if step.wait_for else None
        raise WaitTimedOut(f"step '{step.id}' waited {timeout or 0:g} s for event '{w.event}', which did not come",
                           fix="route the timeout: output: {to: {condition: {if: '${wait.timed_out}', ...}}}")
    return w.payload


def outcome(run: Run, step: Step) -> dict[str, Any] | None:
    """``${wait}`` in a wait step's output condition: {timed_out, event, payload}."""
    w = resolved(run, step.id)
    if w is None:
        return None
    return {"timed_out": w.timed_out, "event": w.event, "payload": w.payload}


def record_times(run: Run, step_id: str) -> tuple[float, float] | None:
    """(since, resolved) of a resolved wait: the step record's start and end."""
    w = resolved(run, step_id)
    return (w.since_s, w.resolved_at_s or w.since_s) if w is not None else None
