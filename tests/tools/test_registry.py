"""The registry: tool types by name and LangSwarm alias, validation of typed tools, tool boxes
with OpenAI-safe names, and ``tool:`` steps of type function through the same registry."""

from __future__ import annotations

from pathlib import Path

import pytest
from tools_support import executor
from workflow_executor.agents.toolbox import ToolCall
from workflow_executor.agents.tools.base import ToolEnv
from workflow_executor.agents.tools.registry import ToolRegistry, openai_name, split_params
from workflow_executor.errors import InvalidArgument, LimitExceeded, NotFound, SpecError
from workflow_executor.models import ExecutionStatus
from workflow_executor.spec import load_text

FUNCTION_STEP = """
tools:
  - {id: shout, type: function, function: builtins.echo, description: Say it back}
workflows:
  w:
    steps:
      - {id: a, tool: shout, params: {value: "${user_input}!"}, output: {to: user}}
"""


def test_a_function_tool_step_runs_through_the_registry(tmp_path: Path) -> None:
    with executor(tmp_path) as wfx:
        assert wfx.engine.tools is not None
        wfx.register(FUNCTION_STEP)
        done = wfx.run("w", "hey")
    assert done.status == ExecutionStatus.COMPLETED, done.error
    assert done.result == "hey!"


def test_an_unknown_tool_type_used_by_a_step_is_a_validation_error_naming_the_known_types(tmp_path: Path) -> None:
    doc = FUNCTION_STEP.replace("type: function, function: builtins.echo", "type: mcpteleporter")
    with executor(tmp_path) as wfx, pytest.raises(SpecError) as err:
        wfx.register(doc)
    issue = err.value.issues[0]
    assert issue.path == "tools.shout.type"
    assert "mcpteleporter" in issue.message and "function" in issue.message


def test_an_unknown_tool_type_nobody_uses_is_only_a_warning(tmp_path: Path) -> None:
    text = FUNCTION_STEP.replace("tools:\n", "tools:\n  - {id: spare, type: mcpteleporter}\n")
    with executor(tmp_path) as wfx:
        _, report = wfx.check(text)
    assert report.ok
    assert [w.path for w in report.warnings] == ["tools.spare.type"]


def test_a_toolbox_offers_each_tool_under_a_safe_unique_name() -> None:
    reg = ToolRegistry.from_env(ToolEnv())
    doc = load_text("""
tools:
  - {id: shout, type: function, function: builtins.echo}
  - {id: "odd name.v2", type: function, function: builtins.length}
agents:
  - {id: a, tools: [shout, "odd name.v2"]}
workflows: {w: {steps: [{id: s, agent: a, input: x}]}}
""")
    box = reg.toolbox(["shout", "odd name.v2"], doc)
    names = [s.name for s in box.specs()]
    assert names[0] == "shout"
    assert names[1].startswith("odd_name_v2_")
    assert set(box.specs()[0].parameters["properties"]) == {"value"}
    ctx = ToolCall(execution_id="e", step_id="s")
    assert box.call("shout", {"value": 3}, ctx) == 3
    assert box.call(names[1], {"value": [1, 2]}, ctx) == 2
    with pytest.raises(NotFound):
        box.call("nope", {}, ctx)
    with pytest.raises(InvalidArgument) as err:
        box.call(names[1], {"valu": [1]}, ctx)
    assert err.value.details["field"] in ("value", "valu")


def test_a_result_over_the_cap_is_refused() -> None:
    from dataclasses import replace

    env = ToolEnv()
    reg = ToolRegistry.from_env(replace(env, settings=replace(env.settings, max_result_bytes=50)))
    doc = load_text("""
tools: [{id: shout, type: function, function: builtins.echo}]
workflows: {w: {steps: [{id: s, tool: shout, params: {value: x}}]}}
""")
    with pytest.raises(LimitExceeded):
        reg.run_tool("shout", {"value": "x" * 100}, doc, ToolCall("e", "s"))
    assert reg.run_tool("shout", {"value": "short"}, doc, ToolCall("e", "s")) == "short"


def test_step_params_name_the_operation_in_langswarm_forms() -> None:
    assert split_params({"method": "read_file", "params": {"path": "a"}}) == ("read_file", {"path": "a"})
    assert split_params({"method": "read_file", "path": "a"}) == ("read_file", {"path": "a"})
    assert split_params({"method": "call_tool", "params": {"tool_name": "t", "arguments": {"x": 1}}}) == (
        "t", {"x": 1})
    assert split_params({"tool_name": "t", "arguments": {"x": 1}}) == ("t", {"x": 1})
    assert split_params({"name": "t", "arguments": {"x": 1}}) == ("t", {"x": 1})
    assert split_params({"name": "plain"}) == (None, {"name": "plain"})


def test_openai_names_are_safe_and_distinct() -> None:
    taken: set[str] = set()
    for raw in ["a.b", "a_b", "x" * 80, "x" * 81, "ok-name"]:
        name = openai_name(raw, taken)
        assert name not in taken
        assert len(name) <= 64 and all(c.isalnum() or c in "_-" for c in name)
        taken.add(name)
    assert openai_name("ok-name", set()) == "ok-name"


def test_an_operator_module_adds_tool_types(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "my_tools.py").write_text('''
from pydantic import BaseModel
from workflow_executor.agents.tools.base import Operation, OperationsKind

class Args(BaseModel):
    n: int

def wfx_tool_kinds():
    op = Operation("double", "Double a number", Args, lambda a, ctx: a.n * 2)
    return [OperationsKind("doubler", "doubles numbers", lambda tool, env: [op], aliases=("mcpdoubler",))]
''')
    monkeypatch.syspath_prepend(str(tmp_path))
    doc = """
tools: [{id: d, type: mcpdoubler}]
workflows: {w: {steps: [{id: s, tool: d, params: {n: 21}, output: {to: user}}]}}
"""
    with executor(tmp_path, {"WFX_TOOL_MODULES": "my_tools"}) as wfx:
        wfx.register(doc)
        assert wfx.run("w").result == 42
    with executor(tmp_path / "b") as wfx, pytest.raises(SpecError):
        wfx.register(doc)


def test_an_isolated_job_gets_absolute_roots_and_the_allowed_header_variables(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from workflow_executor.adapters.subprocess_jobs import job_environment
    from workflow_executor.settings import Settings

    monkeypatch.chdir(tmp_path)
    environ = {"WFX_HOME": "h", "WFX_FS_ROOTS": "data=srv/data", "WFX_MCP_HEADER_ENV": "MCP_KEY",
               "MCP_KEY": "k-1", "OTHER_SECRET": "nope"}
    env = job_environment(Settings.from_env(environ), environ)
    assert env["WFX_FS_ROOTS"] == f"data={tmp_path / 'srv' / 'data'}"
    assert env["MCP_KEY"] == "k-1" and "OTHER_SECRET" not in env
