"""Child workflows (``invoke_workflow``): each runs as its own execution, linked to its parent,
with a deterministic id so that a resumed parent finds the child it already started."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..errors import Cancelled, LimitExceeded, NotFound, StepFailed
from ..models import Execution, ExecutionStatus, Usage
from ..spec.model import Step

if TYPE_CHECKING:
    from .runner import Run


def invoke(run: Run, step: Step, child_input: Any, loop_index: int | None) -> tuple[Any, Usage]:
    """Run (or find) the child of ``step`` and return its result and usage. Errors:
    LimitExceeded past the depth limit, NotFound for an unknown workflow, StepFailed when the
    child did not complete."""
    depth = run.ex.depth + 1
    if depth > run.engine.config.max_child_depth:
        raise LimitExceeded(f"step '{step.id}' would nest workflows deeper than "
                            f"{run.engine.config.max_child_depth}", fix="flatten the workflows")
    name = step.invoke_workflow or ""
    reg = run.engine.registry
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
    suffix = f".{loop_index}" if loop_index is not None else ""
    now = run.clock.now()
    left = run.time_left()
    child = Execution(id=f"{run.ex.id}.{step.id}{suffix}", workflow_name=name, workflow_hash=wf_hash,
                      mode=run.ex.mode, input=child_input, principal=run.ex.principal,
                      parent_id=run.ex.id, parent_step=step.id, depth=depth, timeout_s=left,
                      created_at_s=now, updated_at_s=now)
    stored_child, _ = run.store.create(child)
    if not stored_child.finished:
        stored_child = run.engine.run(stored_child.id, parent_cancelled=run.cancel_requested)
    if stored_child.status == ExecutionStatus.COMPLETED:
        return stored_child.result, stored_child.usage
    if stored_child.status == ExecutionStatus.CANCELLED and run.cancel_requested():
        raise Cancelled("execution was cancelled while its child workflow ran")
    err = stored_child.error
    raise StepFailed(f"child workflow '{name}' ({stored_child.id}) ended {stored_child.status.value}"
                   + (f": {err.message}" if err else ""), child=stored_child.id)
