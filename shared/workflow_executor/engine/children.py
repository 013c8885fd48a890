"""Child workflows (``invoke_workflow``): each runs as its own execution, linked to its parent,
with a deterministic id so that a resumed parent finds the child it already started."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .. import access
from ..access import Caller
from ..errors import Cancelled, Forbidden, LeaseHeld, LimitExceeded, NotFound, StepFailed
from ..models import Execution, ExecutionStatus, Usage
from ..spec.model import Step

if TYPE_CHECKING:
    from .run import Run


def invoke(run: Run, step: Step, child_input: Any, loop_path: tuple[int, ...]) -> tuple[Any, Usage]:
    """Run (or find) the child of ``step`` and return its result and usage. Errors:
    LimitExceeded past the depth limit, NotFound for an unknown workflow, StepFailed when the
    child did not complete."""
    depth = run.ex.depth + 1
    if depth > run.engine.config.max_child_depth:
        raise LimitExceeded(f"step '{step.id}' would nest workflows deeper than "
                            f"{run.engine.config.max_child_depth}", fix="flatten the workflows")
    name = step.invoke_workflow or ""
    reg = run.engine.registry
    try:
        # The one gate, again here and not only at submit: the registry may have changed since then.
        access.check_run(Caller.of_run(run.ex), name, in_document=name in run.document.workflows)
    except Forbidden as exc:
        raise Forbidden(f"step '{step.id}' invokes workflow '{name}': {exc.message}",
                        fix="ask for a key that allows it, or run a workflow that does not invoke it",
                        step=step.id) from None
    if name in run.document.workflows:
        wf_hash = run.ex.workflow_hash
        if reg.get(name, wf_hash) is None:
            parent = reg.get(run.ex.workflow_name, wf_hash)
            assert parent is not None
            reg.put(name, parent.document, source=parent.source, latest=False)
    else:
        stored = reg.get(name)
        if stored is None:
            raise NotFound(f"child workflow '{name}' is not registered", fix="register it first")
        wf_hash = stored.hash
    suffix = "".join(f".{i}" for i in loop_path)  # one child per iteration, stable across resumes
    now = run.clock.now()
    left = run.time_left()
    child = Execution(id=f"{run.ex.id}.{step.id}{suffix}", workflow_name=name, workflow_hash=wf_hash,
                      mode=run.ex.mode, input=child_input, **access.inherited(run.ex),
                      parent_id=run.ex.id, parent_step=step.id, depth=depth, timeout_s=left,
                      created_at_s=now, updated_at_s=now)
    stored_child, _ = run.store.create(child)
    if stored_child.finished:  # ended in an earlier pass: what it spent counts here again
        run.ledger.add(stored_child.usage)
    else:
        stored_child = run_child(run, stored_child)
    if stored_child.status == ExecutionStatus.COMPLETED:
        return stored_child.result, stored_child.usage
    if stored_child.status == ExecutionStatus.CANCELLED and run.cancel_requested():
        raise Cancelled("execution was cancelled while its child workflow ran")
    err = stored_child.error
    raise StepFailed(f"child workflow '{name}' ({stored_child.id}) ended {stored_child.status.value}"
                   + (f": {err.message}" if err else ""), child=stored_child.id)


def run_child(run: Run, child: Execution) -> Execution:
    """Run or resume the child inline. A child still leased by a runner that died with this
    parent's last one is taken over once its lease ends (at once when this run is itself a
    takeover from a dead process); waiting is cancel-aware and bounded by the deadline."""
    while True:
        now = None
        if run.takeover and child.lease_expires_at_s is not None and run.engine.owner_dead(child.lease_owner):
            now = max(child.lease_expires_at_s + 0.001, run.clock.now())
        try:
            return run.engine.run(child.id, parent_cancelled=run.cancel_requested, now_s=now, parent=run)
        except LeaseHeld:
            cur = run.store.get(child.id)
            if cur is None or cur.finished:
                if cur is not None:  # another runner ran it: its spending did not pass this ledger
                    run.ledger.add(cur.usage)
                return cur or child
            wait = (cur.lease_expires_at_s or run.clock.now()) - run.clock.now() + 0.01
            left = run.time_left()
            if left is not None and wait > left:
                raise
            if run.clock.sleep(max(wait, 0.0), until=run.cancel_requested):
                raise Cancelled("execution was cancelled while its child workflow was leased") from None
            child = cur
