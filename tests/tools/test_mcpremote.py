"""``mcpremote``: a remote MCP server's tools offered as functions and called from ``tool:``
steps, against our own ``wfx serve`` and the test's small SDK server; URLs off the allow-list
and header variables the operator does not allow are refused; keys never show."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from tools_support import MINI_KEY, executor
from wfx_mcp_support import Server, free_port
from workflow_executor.agents.toolbox import ToolCall
from workflow_executor.agents.tools.base import ToolEnv
from workflow_executor.agents.tools.registry import ToolRegistry
from workflow_executor.errors import (
    Forbidden,
    InvalidArgument,
    McpUrlNotAllowed,
    NotFound,
    SpecError,
    ToolFailed,
    Transient,
)
from workflow_executor.models import ExecutionStatus
from workflow_executor.settings_tools import ToolSettings
from workflow_executor.spec import load_text


def _doc(url: str, headers: dict[str, str] | None = None) -> Any:
    tool: dict[str, Any] = {"id": "remote", "type": "mcpremote", "mcp_url": url, "timeout": 10, "retry_count": 1}
    if headers is not None:
        tool["headers"] = headers
    return load_text(json.dumps({"tools": [tool], "agents": [{"id": "a", "tools": ["remote"]}],
                                 "workflows": {"w": {"steps": [{"id": "s", "agent": "a", "input": "x"}]}}}))


def _registry(allow: tuple[str, ...], env: dict[str, str] | None = None) -> ToolRegistry:
    env = env or {}
    return ToolRegistry.from_env(ToolEnv(ToolSettings(mcp_allow=allow, header_env_allow=frozenset(env),
                                                      header_env=env)))


def test_our_servers_tools_are_offered_as_functions_and_called(wfx_server: Server) -> None:
    box = _registry((wfx_server.url,)).toolbox(["remote"], _doc(wfx_server.url))
    specs = {s.name: s for s in box.specs()}
    assert "remote__execute_workflow" in specs
    assert specs["remote__execute_workflow"].parameters["type"] == "object"
    assert "workflow_name" in specs["remote__execute_workflow"].parameters["properties"]
    out = box.call("remote__execute_workflow", {
        "workflow": "workflows: {w: {steps: [{id: a, function: builtins.echo, args: {value: 'ok ${user_input}'}}]}}",
        "input_data": {"user_input": "remote"}}, ToolCall("e", "s"))
    assert (out["status"], out["result"]) == ("completed", "ok remote")


def test_the_sdk_servers_tools_get_openai_safe_names_and_the_key_from_an_allowed_variable(mini_mcp: str) -> None:
    reg = _registry((mini_mcp,), {"MINI_KEY_VAR": MINI_KEY})
    box = reg.toolbox(["remote"], _doc(mini_mcp, {"X-API-Key": "${MINI_KEY_VAR}"}))
    names = [s.name for s in box.specs()]
    assert "remote__add" in names and "remote__secret_report" in names
    upper = next(n for n in names if n.startswith("remote__text_upper"))
    assert all(c.isalnum() or c in "_-" for c in upper)
    ctx = ToolCall("e", "s")
    assert box.call("remote__add", {"a": 2, "b": 40}, ctx) == {"result": 42}
    assert box.call(upper, {"text": "loud"}, ctx) == {"result": "LOUD"}
    report = box.call("remote__secret_report", {}, ctx)
    assert report == {"report": "all systems nominal", "authorized": True}
    assert MINI_KEY not in json.dumps(report)


def test_a_wrong_key_fails_without_showing_the_key(mini_mcp: str) -> None:
    reg = _registry((mini_mcp,), {"MINI_KEY_VAR": "wrong-key-456"})
    box = reg.toolbox(["remote"], _doc(mini_mcp, {"X-API-Key": "${MINI_KEY_VAR}"}))
    with pytest.raises(ToolFailed) as err:
        box.call("remote__secret_report", {}, ToolCall("e", "s"))
    assert "wrong-key-456" not in json.dumps(err.value.to_dict())


def test_substitution_is_whole_value_only_as_in_langswarm(mini_mcp: str) -> None:
    reg = _registry((mini_mcp,), {"MINI_KEY_VAR": MINI_KEY})
    # "Bearer ${VAR}" is not a whole-value reference: LangSwarm sends it as written, so do we
    box = reg.toolbox(["remote"], _doc(mini_mcp, {"X-API-Key": "key ${MINI_KEY_VAR}"}))
    with pytest.raises(ToolFailed):
        box.call("remote__secret_report", {}, ToolCall("e", "s"))


def test_a_header_naming_a_variable_the_operator_does_not_allow_is_refused(mini_mcp: str) -> None:
    reg = _registry((mini_mcp,), {"MINI_KEY_VAR": MINI_KEY})
    with pytest.raises(Forbidden) as err:
        reg.toolbox(["remote"], _doc(mini_mcp, {"X-API-Key": "${HOME}"}))
    assert "WFX_MCP_HEADER_ENV" in (err.value.fix or "")


@pytest.mark.parametrize("url", ["http://127.0.0.1:1/mcp", "https://evil.example.com/mcp",
                                 "http://localhost:1/mcp"])
def test_an_mcp_url_off_the_allow_list_is_refused(mini_mcp: str, url: str) -> None:
    with pytest.raises(McpUrlNotAllowed) as err:
        _registry((mini_mcp,)).toolbox(["remote"], _doc(url))
    assert err.value.code == "mcp_url_not_allowed"
    assert "WFX_MCP_ALLOW" in (err.value.fix or "")


def test_an_mcp_url_that_is_not_http_is_refused(mini_mcp: str) -> None:
    with pytest.raises(InvalidArgument):
        _registry((mini_mcp,)).toolbox(["remote"], _doc("file:///etc/passwd"))


def test_a_path_outside_the_allowed_prefix_is_refused(mini_mcp: str) -> None:
    reg = _registry((mini_mcp,))
    with pytest.raises(McpUrlNotAllowed):
        reg.toolbox(["remote"], _doc(mini_mcp.replace("/mcp", "/other")))
    with pytest.raises(McpUrlNotAllowed):
        reg.toolbox(["remote"], _doc(mini_mcp + "x"))


def test_a_remote_tool_that_is_not_listed_is_not_called(mini_mcp: str) -> None:
    reg = _registry((mini_mcp,))
    with pytest.raises(NotFound) as err:
        reg.run_tool("remote", {"name": "rm_rf", "arguments": {}}, _doc(mini_mcp), ToolCall("e", "s"))
    assert "add" in (err.value.fix or "")


def test_a_server_that_is_down_is_transient() -> None:
    url = f"http://127.0.0.1:{free_port()}/mcp"
    with pytest.raises(Transient):
        _registry((url,)).toolbox(["remote"], _doc(url))


def test_mcpremote_tool_steps_run_end_to_end(wfx_server: Server, mini_mcp: str, tmp_path: Path) -> None:
    (wfx_server.home / "workflows" / "echo_total.yaml").write_text(
        "workflows: {echo_total: {steps: [{id: a, function: builtins.echo, args: {value: 'total: ${user_input}'}}]}}")
    wf = f"""
tools:
  - {{id: wfx, type: mcpremote, mcp_url: "{wfx_server.url}"}}
  - id: mini
    type: mcpremote
    mcp_url: "{mini_mcp}"
    headers: {{X-API-Key: "${{MINI_KEY_VAR}}"}}
workflows:
  w:
    steps:
      - id: sum
        tool: mini
        params: {{name: add, arguments: {{a: 1, b: 2}}}}
      - id: report
        tool: mini
        params: {{method: call_tool, params: {{tool_name: secret_report, arguments: {{}}}}}}
      - id: run
        tool: wfx
        params:
          tool_name: execute_workflow
          arguments:
            workflow_name: echo_total
            input_data: {{user_input: "${{sum.output.result}}"}}
        output: {{to: user}}
"""
    env = {"WFX_MCP_ALLOW": f"{wfx_server.url},{mini_mcp}", "WFX_MCP_HEADER_ENV": "MINI_KEY_VAR",
           "MINI_KEY_VAR": MINI_KEY}
    with executor(tmp_path, env) as wfx:
        wfx.register(wf)
        done = wfx.run("w")
    assert done.status == ExecutionStatus.COMPLETED, done.error
    assert done.steps["report"].output["authorized"] is True
    assert done.result["status"] == "completed"
    assert done.result["result"] == "total: 3"
    assert MINI_KEY not in json.dumps(done.model_dump(mode="json"))


def test_a_workflow_with_an_mcp_url_off_the_allow_list_does_not_validate(tmp_path: Path) -> None:
    wf = """
tools: [{id: r, type: mcpremote, mcp_url: "https://mcp.example.com/"}]
workflows: {w: {steps: [{id: s, tool: r, params: {name: x, arguments: {}}}]}}
"""
    with executor(tmp_path) as wfx, pytest.raises(SpecError) as err:
        wfx.register(wf)
    assert err.value.issues[0].path == "tools.r.type"
    assert "allow-list" in err.value.issues[0].message


def test_an_agent_calls_a_remote_mcp_tool_through_the_openai_client(mini_mcp: str, tmp_path: Path) -> None:
    from dataclasses import replace

    from llm_server import LLMServer
    from workflow_executor.api import Executor
    from workflow_executor.settings import Settings

    with LLMServer() as llm:
        s = Settings.from_env({"WFX_HOME": str(tmp_path / "home"), "OPENAI_BASE_URL": llm.base_url,
                               "OPENAI_API_KEY": "sk-test", "WFX_MODEL": "gpt-4o-mini", "WFX_MCP_ALLOW": mini_mcp,
                               "WFX_MCP_HEADER_ENV": "MINI_KEY_VAR", "MINI_KEY_VAR": MINI_KEY})
        llm.script({"tool_calls": [{"name": "mini__add", "arguments": {"a": 2, "b": 3}},
                                   {"name": "mini__secret_report", "arguments": {}}]}, "the sum is 5")
        doc = {"agents": [{"id": "calc", "agent_type": "openai", "tools": ["mini"]}],
               "tools": [{"id": "mini", "type": "mcpremote", "mcp_url": mini_mcp,
                          "headers": {"X-API-Key": "${MINI_KEY_VAR}"}}],
               "workflows": {"w": {"steps": [{"id": "ask", "agent": "calc", "input": "${user_input}",
                                              "output": {"to": "user"}}]}}}
        with Executor.local(settings=replace(s, store="memory")) as wfx:
            done = wfx.run(workflow=doc, input="add 2 and 3")
    assert done.status == ExecutionStatus.COMPLETED, done.error
    assert done.result == "the sum is 5"
    offered = {t["function"]["name"]: t["function"] for t in llm.requests[0]["tools"]}
    assert set(offered["mini__add"]["parameters"]["properties"]) == {"a", "b"}
    results = [json.loads(m["content"]) for m in llm.requests[1]["messages"] if m["role"] == "tool"]
    assert results[0] == {"result": 5}
    assert results[1]["authorized"] is True
    assert MINI_KEY not in json.dumps(llm.requests)
