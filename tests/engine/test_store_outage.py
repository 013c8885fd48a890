"""A store outage inside a step (here: while a child workflow is created) is not the step's
failure: the pass ends, the worker answers 503 and the redelivery finishes parent and child."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from workflow_executor.api import Executor
from workflow_executor.errors import StoreUnavailable
from workflow_executor.models import Execution, ExecutionStatus
from workflow_executor.ports import TaskRequest
from workflow_executor.worker import handle_task

FAMILY = """
workflows:
  parent:
    steps:
      - {id: first, function: engine_fns.mark, args: {log: "LOG", name: first}}
      - {id: call, invoke_workflow: child, input: {n: 1}}
  child:
    steps:
      - {id: c, function: engine_fns.mark, args: {log: "LOG", name: child}}
"""


@pytest.mark.parametrize("parallel", [False, True])
def test_a_store_outage_while_a_child_starts_is_redelivered_not_a_failed_parent(
        wfx: Executor, log: str, parallel: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    text = FAMILY.replace("LOG", log)
    if parallel:  # a step timeout runs the step in its own thread
        text = text.replace("input: {n: 1}}", "input: {n: 1}, timeout: 30}")
    ex = wfx.submit("parent", None, workflow=text, mode="async", dispatch=False)
    create = wfx.store.create

    def down_for_children(execution: Execution) -> Any:
        if execution.parent_id is not None:
            raise StoreUnavailable("Firestore is unavailable: 503", fix="retry shortly")
        return create(execution)

    monkeypatch.setattr(wfx.store, "create", down_for_children)
    outcome = handle_task(wfx.services, TaskRequest(ex.id))
    assert (outcome.http_status, outcome.status) == (503, "retry")
    cur = wfx.status(ex.id)
    assert cur.status == ExecutionStatus.RUNNING and "call" not in cur.steps and cur.lease_owner is None
    monkeypatch.setattr(wfx.store, "create", create)  # the outage ends; the queue redelivers
    assert handle_task(wfx.services, TaskRequest(ex.id)).status == "completed"
    done = wfx.status(ex.id)
    assert done.status == ExecutionStatus.COMPLETED
    assert Path(log).read_text().split() == ["first", "child"]  # first never ran again
    assert wfx.status(f"{ex.id}.call").status == ExecutionStatus.COMPLETED
