"""``workflow_executor``, the meta-tool: validate, generate, run and check child workflows as
real child executions of the calling run, bounded in depth and count; from ``tool:`` steps and
from an agent's tool calls (the test LLM server through the real openai client)."""

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

CHILD = {"workflows": {"child": {"steps": [{"id": "n", "function": "builtins.length", "args": {"value": [1, 2, 3]},
                                            "output": {"to": "user"}}]}}}
BROKEN = {"workflows": {"bad": {"steps": [{"id": "n", "function": "os.system", "args": {"command": "true"}}]}}}


def _parent(steps: list[dict[str, Any]]) -> dict[str, Any]:
    return {"tools": [{"id": "wfx", "type": "mcpworkflow_executor"}], "workflows": {"parent": {"steps": steps}}}


def test_tool_steps_validate_run_and_check_child_workflows(tmp_path: Path) -> None:
    steps = [
        {"id": "check", "tool": "wfx", "params": {"method": "validate_workflow", "workflow": BROKEN}},
        {"id": "run", "tool": "wfx", "params": {"method": "execute_workflow", "workflow": CHILD}},
        {"id": "look", "tool": "wfx", "params": {"method": "check_execution_status",
                                                 "execution_id": "${run.output.execution_id}"}},
        {"id": "refused", "tool": "wfx", "params": {"method": "execute_workflow", "workflow": BROKEN},
         "output": {"to": "user"}},
    ]
    with executor(tmp_path) as wfx:
        done = wfx.run(workflow=_parent(steps))
        assert done.status == ExecutionStatus.COMPLETED, done.error
        check = done.steps["check"].output
        assert check["validation_status"] == "invalid"
        assert check["errors"][0]["path"] == "workflows.bad.steps[0].function"
        run = done.steps["run"].output
        assert (run["status"], run["result"]) == ("completed", 3)
        child = wfx.status(run["execution_id"])
        assert child.parent_id == done.id and child.parent_step == "run" and child.depth == 1
        assert done.steps["look"].output["status"] == "completed"
        assert done.result["status"] == "not_started" and done.result["validation_status"] == "invalid"


def test_generate_then_run_the_generated_version(tmp_path: Path) -> None:
    steps = [
        {"id": "gen", "tool": "wfx", "params": {"method": "generate_workflow",
                                                "workflow_description": "Split the text. Then count the words.",
                                                "workflow_name": "made_here"}},
        {"id": "run", "tool": "wfx", "params": {"method": "execute_workflow", "workflow_name": "made_here",
                                                "workflow_version": "${gen.output.workflow_version}",
                                                "input_data": {"user_input": "a b"}}},
    ]
    with executor(tmp_path) as wfx:
        done = wfx.run(workflow=_parent(steps))
        gen = done.steps["gen"].output
        assert gen["validation_status"] == "valid" and gen["generator"] == "template"
        assert done.steps["run"].output["workflow_name"] == "made_here"
        assert done.steps["run"].output["execution_id"].startswith(done.id + ".run.")
        assert "made_here" not in [w.name for w in wfx.workflows()]  # a version only, never what a name means


def test_children_are_limited_in_number_and_depth(tmp_path: Path) -> None:
    steps = [{"id": "many", "tool": "wfx", "loop": {"for_each": [1, 2, 3], "var": "i"},
              "params": {"method": "execute_workflow", "workflow": CHILD, "input_data": "${i}"}}]
    with executor(tmp_path, {"WFX_TOOL_MAX_CHILDREN": "2"}) as wfx:
        done = wfx.run(workflow=_parent(steps))
    assert done.status == ExecutionStatus.FAILED
    assert done.error is not None and done.error.code == "limit_exceeded"
    assert "WFX_TOOL_MAX_CHILDREN" in done.error.message or "2 child" in done.error.message
    one = [{"id": "run", "tool": "wfx", "params": {"method": "execute_workflow", "workflow": CHILD}}]
    with executor(tmp_path / "d", {"WFX_MAX_CHILD_DEPTH": "0"}) as wfx:
        done = wfx.run(workflow=_parent(one))
    assert done.error is not None and done.error.code == "limit_exceeded"


def test_the_same_request_gives_the_same_child_back(tmp_path: Path) -> None:
    steps = [{"id": "twice", "tool": "wfx", "loop": {"for_each": [1, 1], "var": "i"},
              "params": {"method": "execute_workflow", "workflow": CHILD, "input_data": "${i}"}}]
    with executor(tmp_path, {"WFX_TOOL_MAX_CHILDREN": "1"}) as wfx:
        done = wfx.run(workflow=_parent(steps))
    assert done.status == ExecutionStatus.COMPLETED, done.error
    first, second = done.steps["twice"].output
    assert first["execution_id"] == second["execution_id"]


def test_an_agent_runs_a_child_workflow_it_wrote(tmp_path: Path) -> None:
    with LLMServer() as llm:
        s = Settings.from_env({"WFX_HOME": str(tmp_path / "home"), "OPENAI_BASE_URL": llm.base_url,
                               "OPENAI_API_KEY": "sk-test", "WFX_MODEL": "gpt-4o-mini"})
        child_yaml = ("workflows: {shout: {steps: [{id: s, function: builtins.echo, "
                      "args: {value: 'LOUD ${user_input}'}, output: {to: user}}]}}")
        llm.script({"tool_calls": [{"name": "wfx__validate_workflow", "arguments": {"workflow": child_yaml}}]},
                   {"tool_calls": [{"name": "wfx__execute_workflow",
                                    "arguments": {"workflow": child_yaml, "input_data": {"user_input": "hi"}}}]},
                   "the child said LOUD hi")
        doc = {"agents": [{"id": "boss", "agent_type": "openai", "tools": ["wfx"]}],
               "tools": [{"id": "wfx", "type": "workflow_executor"}],
               "workflows": {"w": {"steps": [{"id": "ask", "agent": "boss", "input": "${user_input}",
                                              "output": {"to": "user"}}]}}}
        with Executor.local(settings=replace(s, store="memory")) as wfx:
            done = wfx.run(workflow=doc, input="make it loud")
            assert done.status == ExecutionStatus.COMPLETED, done.error
            assert done.result == "the child said LOUD hi"
            offered = [t["function"]["name"] for t in llm.requests[0]["tools"]]
            assert {"wfx__generate_workflow", "wfx__execute_workflow", "wfx__check_execution_status"} <= set(offered)
            tool_msgs = [json.loads(m["content"]) for m in llm.requests[2]["messages"] if m["role"] == "tool"]
            assert tool_msgs[0]["validation_status"] == "valid"
            ran = tool_msgs[1]
            assert (ran["status"], ran["result"]) == ("completed", "LOUD hi")
            child = wfx.status(ran["execution_id"])
            assert child.parent_id == done.id and child.parent_step == "ask"
