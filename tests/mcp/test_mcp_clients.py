"""Real clients, unchanged, against the endpoint: the official MCP SDK (auto and legacy
modes) and LangSwarm's own mcpremote client (RemoteMCPTool from langswarm 0.1.0)."""

from __future__ import annotations

import contextlib
import io
from typing import Any

import anyio
import pytest
from mcp import Client
from wfx_mcp_support import Keys, Server


async def _session_walk(url: str, mode: str) -> dict[str, Any]:
    async with Client(url, mode=mode) as client:
        out: dict[str, Any] = {"version": client.protocol_version}
        out["tools"] = sorted(t.name for t in (await client.list_tools()).tools)
        ok = await client.call_tool("execute_workflow", {"workflow_name": "five", "input_data": {"n": 1}})
        out["ok"] = (ok.is_error, ok.structured_content)
        bad = await client.call_tool("execute_workflow", {"workflow_name": "five", "input_data": {},
                                                          "execution_mode": "sideways"})
        out["bad"] = (bad.is_error, bad.structured_content)
        failed = await client.call_tool("execute_workflow", {"workflow_name": "fail", "input_data": {}})
        out["failed"] = (failed.is_error, failed.structured_content)
        return out


TOOLS = sorted(["execute_workflow", "generate_workflow", "execute_generated_workflow", "check_execution_status",
                "cancel_execution", "list_workflows", "validate_workflow", "list_executions", "get_workflow",
                "rerun_execution", "register_workflow", "send_event"])


@pytest.mark.parametrize(("mode", "version"), [("auto", "2026-07-28"), ("legacy", "2025-11-25")])
def test_the_official_sdk_client_lists_runs_and_sees_errors(server: Server, mode: str, version: str) -> None:
    out = anyio.run(_session_walk, server.url, mode)
    assert out["version"] == version
    assert out["tools"] == TOOLS
    is_error, sc = out["ok"]
    assert is_error is False
    assert sc["status"] == "completed"
    assert sc["result"] == {"n": 1}
    assert sc["progress"] == "Completed: 5 of 5 steps ran"
    assert [s["id"] for s in sc["steps"]] == ["a", "b", "c", "d", "e"]
    is_error, sc = out["bad"]
    assert is_error is True
    assert (sc["code"], sc["field"]) == ("invalid_argument", "execution_mode")
    assert sc["fix"]
    is_error, sc = out["failed"]
    assert is_error is True
    assert (sc["code"], sc["status"]) == ("step_failed", "failed")
    assert sc["execution_id"]


def test_langswarm_remote_mcp_tool_lists_and_calls_tools(server: Server) -> None:
    remote = pytest.importorskip("langswarm.tools.mcp.remote.main")
    with contextlib.redirect_stdout(io.StringIO()):  # its constructor prints a harmless warning
        tool = remote.RemoteMCPTool(identifier="wfx", mcp_url=server.url, headers={}, timeout=30,
                                    retry_count=0)
    listed = tool.run({"method": "list_tools"})
    assert set(listed["tools"]) == set(TOOLS)
    ok = tool.run({"method": "call_tool", "params": {"tool_name": "execute_workflow",
                                                     "arguments": {"workflow_name": "echo", "input_data": {"x": 1}}}})
    assert ok["success"] is True
    assert ok["result"]["structuredContent"]["result"] == {"x": 1}
    bad = tool.run({"method": "call_tool", "params": {"tool_name": "execute_workflow",
                                                      "arguments": {"workflow_name": "no_such", "input_data": {}}}})
    assert bad["success"] is True  # a tool failure is a result (HTTP 200), not a transport error
    assert bad["result"]["isError"] is True
    assert bad["result"]["structuredContent"]["code"] == "not_found"


def test_langswarm_reads_the_key_from_the_environment_as_the_readme_shows(
        keyed: tuple[Server, Keys], monkeypatch: pytest.MonkeyPatch) -> None:
    remote = pytest.importorskip("langswarm.tools.mcp.remote.main")
    srv, keys = keyed
    monkeypatch.setenv("WFX_API_KEY", keys.runner)
    # mcpremote substitutes a header value only when it is exactly "${VAR}", hence X-API-Key.
    with contextlib.redirect_stdout(io.StringIO()):
        tool = remote.RemoteMCPTool(identifier="wfx", mcp_url=srv.url, headers={"X-API-Key": "${WFX_API_KEY}"},
                                    timeout=30, retry_count=0)
        ok = tool.run({"method": "call_tool", "params": {"tool_name": "execute_workflow", "arguments": {
            "workflow_name": "echo", "input_data": {"via": "env"}}}})
    assert ok["success"] is True
    assert ok["result"]["structuredContent"]["result"] == {"via": "env"}
