"""The engine checks each child workflow against the caller's allow-list as it starts (the
registry may have changed since submit): a key allowed ``a`` and ``b`` cannot reach ``c``."""

from __future__ import annotations

from pathlib import Path

import pytest
from executors import make_executor
from workflow_executor.models import ExecutionStatus

CHAIN = (
    "workflows: {a: {steps: [{id: call_b, invoke_workflow: b, output: {to: user}}]}}\n",
    "workflows: {b: {steps: [{id: call_c, invoke_workflow: c, output: {to: user}}]}}\n",
    "workflows: {c: {steps: [{id: secret, function: builtins.echo, args: {value: ran c}}]}}\n",
)


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_the_engine_checks_each_child_against_the_allow_list_as_it_starts(tmp_path: Path, mode: str) -> None:
    wfx = make_executor(tmp_path, "sqlite")
    try:
        for text in reversed(CHAIN):  # a child must be registered before its parent
            wfx.register(text)
        ex = wfx.submit("a", {}, mode=mode, allowed_workflows=["a", "b"])
        ex = wfx.wait(ex.id, timeout=20)
        assert ex.status == ExecutionStatus.FAILED and ex.error is not None
        assert ex.error.step == "call_b"
        child = wfx.status(f"{ex.id}.call_b")
        assert child.error is not None and child.error.code == "forbidden" and child.error.step == "call_c"
        assert child.allowed_workflows == ["a", "b"]
        assert not any(e.workflow_name == "c" for e in wfx.executions().items)
        assert wfx.run("a", {}, allowed_workflows=["a", "b", "c"]).result == "ran c"
    finally:
        wfx.close()
