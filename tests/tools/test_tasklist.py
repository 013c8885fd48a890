"""``tasklist`` (LangSwarm ``mcptasklist``): a caller's tasks in the execution store, through real
workflow runs: ``tool:`` steps on SQLite and an agent's tool calls (the real openai client against
the test LLM server). One caller never sees or changes another's tasks."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

from llm_server import LLMServer
from tools_support import executor
from workflow_executor.api import Executor
from workflow_executor.models import ExecutionStatus
from workflow_executor.settings import Settings

TASKS = [{"id": "tasks", "type": "mcptasklist"}]


def _doc(*steps: dict[str, Any]) -> dict[str, Any]:
    return {"tools": TASKS, "workflows": {"w": {"steps": list(steps)}}}


def _step(sid: str, method: str, **params: Any) -> dict[str, Any]:
    return {"id": sid, "tool": "tasks", "params": {"method": method, **params}}


def test_tool_steps_create_update_complete_and_delete_tasks_that_outlive_the_process(tmp_path: Path) -> None:
    doc = _doc(
        _step("a", "create_task", description="write docs", priority=2, notes="with examples"),
        _step("b", "create_task", description="fix the bug"),
        {"id": "c", "tool": "tasks", "params": {"method": "update_task", "params": {"task_id": "task-2",
                                                                                     "priority": 3}}},
        _step("d", "complete_task", task_id="${a.output.task_id}", completion_notes="done on time"),
        _step("e", "get_task", task_id="task-1"),
        _step("f", "list_tasks"),
    )
    with executor(tmp_path, memory=False) as wfx:
        done = wfx.run(workflow=doc)
    assert done.status == ExecutionStatus.COMPLETED, done.error
    assert done.steps["a"].output["task_id"] == "task-1" and done.steps["b"].output["task_id"] == "task-2"
    got = done.steps["e"].output
    assert (got["completed"], got["notes"], got["priority"]) == (True, "with examples\ndone on time", 2)
    listed = done.steps["f"].output
    assert [(t["task_id"], t["priority"]) for t in listed["tasks"]] == [("task-1", 2), ("task-2", 3)]
    assert listed["count"] == 2
    with executor(tmp_path, memory=False) as wfx:  # the same SQLite file: the tasks are still there
        again = wfx.run(workflow=_doc(_step("x", "delete_task", task_id="task-2"), _step("y", "list_tasks"),
                                      _step("z", "create_task", description="next")))
    assert again.status == ExecutionStatus.COMPLETED, again.error
    assert [t["task_id"] for t in again.steps["y"].output["tasks"]] == ["task-1"]
    assert again.steps["z"].output["task_id"] == "task-2"


def test_one_caller_never_sees_or_changes_another_callers_tasks(tmp_path: Path) -> None:
    with executor(tmp_path, memory=False) as wfx:
        alice = wfx.run(workflow=_doc(_step("a", "create_task", description="alice's secret")), principal="alice")
        assert alice.status == ExecutionStatus.COMPLETED, alice.error
        look = wfx.run(workflow=_doc(_step("l", "list_tasks")), principal="bob")
        assert look.steps["l"].output == {"tasks": [], "count": 0, "message": "Found 0 task(s)"}
        for method, extra in (("get_task", {}), ("update_task", {"completed": True}), ("complete_task", {}),
                              ("delete_task", {})):
            bob = wfx.run(workflow=_doc(_step("s", method, task_id="task-1", **extra)), principal="bob")
            assert bob.status == ExecutionStatus.FAILED
            assert bob.error is not None and bob.error.code == "not_found", method
        mine = wfx.run(workflow=_doc(_step("g", "get_task", task_id="task-1")), principal="alice")
        assert (mine.steps["g"].output["description"], mine.steps["g"].output["completed"]) == ("alice's secret",
                                                                                                 False)
        bobs = wfx.run(workflow=_doc(_step("c", "create_task", description="bob's")), principal="bob")
        assert bobs.steps["c"].output["task_id"] == "task-1"  # numbered per caller


def test_bad_arguments_and_the_task_limit_are_clear_errors(tmp_path: Path) -> None:
    with executor(tmp_path, {"WFX_TASKLIST_MAX_TASKS": "2"}) as wfx:
        bad = wfx.run(workflow=_doc(_step("p", "create_task", description="x", priority=9)))
        assert bad.error is not None and bad.error.code == "invalid_argument"
        full = wfx.run(workflow=_doc(*[_step(f"c{n}", "create_task", description=f"t{n}") for n in range(3)]))
        assert full.status == ExecutionStatus.FAILED
        assert full.error is not None and (full.error.code, full.error.step) == ("limit_exceeded", "c2")


def test_an_agent_manages_tasks_through_tool_calls(tmp_path: Path) -> None:
    with LLMServer() as llm:
        s = Settings.from_env({"WFX_HOME": str(tmp_path / "home"), "OPENAI_BASE_URL": llm.base_url,
                               "OPENAI_API_KEY": "sk-test", "WFX_MODEL": "gpt-4o-mini"})
        llm.script({"tool_calls": [{"name": "tasks__create_task",
                                    "arguments": {"description": "call the client", "priority": 1}}]},
                   {"tool_calls": [{"name": "tasks__complete_task", "arguments": {"task_id": "task-1"}},
                                   {"name": "tasks__list_tasks", "arguments": {}}]},
                   "one task, done")
        doc = {"agents": [{"id": "planner", "agent_type": "openai", "tools": ["tasks"]}], "tools": TASKS,
               "workflows": {"w": {"steps": [{"id": "plan", "agent": "planner", "input": "${user_input}",
                                              "output": {"to": "user"}}]}}}
        with Executor.local(settings=replace(s, store="sqlite")) as wfx:
            done = wfx.run(workflow=doc, input="plan my day", principal="carol")
            assert done.status == ExecutionStatus.COMPLETED, done.error
            assert done.result == "one task, done"
            offered = {t["function"]["name"] for t in llm.requests[0]["tools"]}
            assert {"tasks__create_task", "tasks__list_tasks", "tasks__get_task", "tasks__update_task",
                    "tasks__complete_task", "tasks__delete_task"} == offered
            results = [json.loads(m["content"]) for m in llm.requests[2]["messages"] if m["role"] == "tool"]
            assert results[0]["task_id"] == "task-1"
            assert results[2]["tasks"][0]["completed"] is True and results[2]["count"] == 1
            other = wfx.run(workflow=_doc(_step("l", "list_tasks")), principal="dave")
            assert other.steps["l"].output["count"] == 0
