"""The engine checks each child workflow against the caller's allow-list as it starts (the
registry may have changed since submit): a key allowed ``a`` and ``b`` cannot reach ``c``."""

from __future__ import annotations

from pathlib import Path

import pytest
from executors import make_executor
from workflow_executor.access import Caller
from workflow_executor.errors import Forbidden
from workflow_executor.models import ExecutionStatus

CHAIN = (
    "workflows: {a: {steps: [{id: call_b, invoke_workflow: b, output: {to: user}}]}}\n",
    "workflows: {b: {steps: [{id: call_c, invoke_workflow: c, output: {to: user}}]}}\n",
    "workflows: {c: {steps: [{id: secret, function: builtins.echo, args: {value: ran c}}]}}\n",
)


LIMITED = Caller("limited", frozenset({"run", "read"}), frozenset({"a", "b"}))
HARMLESS_B = "workflows: {b: {steps: [{id: call_c, function: builtins.echo, args: {value: b alone}}]}}\n"


def test_the_gate_refuses_a_grandchild_outside_the_allow_list_at_submit(tmp_path: Path) -> None:
    wfx = make_executor(tmp_path, "sqlite")
    try:
        for text in reversed(CHAIN):
            wfx.register(text)
        with pytest.raises(Forbidden) as info:
            wfx.submit("a", {}, caller=LIMITED)
        assert "'c'" in info.value.message
        assert wfx.executions().items == []
    finally:
        wfx.close()


def test_the_engine_checks_each_child_against_the_allow_list_as_it_starts(tmp_path: Path) -> None:
    wfx = make_executor(tmp_path, "sqlite")
    try:
        for text in (CHAIN[2], HARMLESS_B, CHAIN[0]):  # a child must be registered before its parent
            wfx.register(text)
        ex = wfx.submit("a", {}, mode="async", caller=LIMITED, dispatch=False)  # passes the gate: b is harmless
        wfx.register(CHAIN[1])  # the registry changes after submit: b now invokes c
        assert wfx.resume_pending() == [ex.id]
        ex = wfx.wait(ex.id, timeout=20)
        assert ex.status == ExecutionStatus.FAILED and ex.error is not None
        assert ex.error.step == "call_b"
        child = wfx.status(f"{ex.id}.call_b")
        assert child.error is not None and child.error.code == "forbidden" and child.error.step == "call_c"
        assert child.allowed_workflows == ["a", "b"]
        assert not any(e.workflow_name == "c" for e in wfx.executions().items)
        assert child.scopes == ["read", "run"]
        wider = Caller("limited", frozenset({"run"}), frozenset({"a", "b", "c"}))
        assert wfx.run("a", {}, caller=wider).result == "ran c"
    finally:
        wfx.close()
