"""The MCP HTTP client against our own ``wfx serve`` (a real server over real HTTP)."""

from __future__ import annotations

import pytest
from wfx_mcp_support import Server, free_port
from workflow_executor.agents.tools.mcp_client import McpHttpClient, safe_url
from workflow_executor.errors import ToolFailed, Transient

INLINE = "workflows: {hi: {steps: [{id: a, function: builtins.echo, args: {value: 'hi ${user_input}'}}]}}"


def test_the_client_lists_the_tools_of_our_server(wfx_server: Server) -> None:
    client = McpHttpClient(wfx_server.url)
    names = {t["name"] for t in client.list_tools()}
    assert {"execute_workflow", "generate_workflow", "check_execution_status"} <= names
    assert all("inputSchema" in t for t in client.list_tools())


def test_a_tool_call_returns_the_structured_result(wfx_server: Server) -> None:
    client = McpHttpClient(wfx_server.url)
    out = client.call_tool("execute_workflow", {"workflow": INLINE, "input_data": {"user_input": "there"}})
    assert out["status"] == "completed"
    assert out["result"] == "hi there"


def test_a_failing_tool_call_is_a_tool_failed_error(wfx_server: Server) -> None:
    client = McpHttpClient(wfx_server.url)
    with pytest.raises(ToolFailed) as err:
        client.call_tool("check_execution_status", {"execution_id": "no-such-execution"})
    assert err.value.code == "tool_failed"
    assert "no execution" in err.value.message


def test_an_unknown_tool_is_a_clear_error(wfx_server: Server) -> None:
    with pytest.raises(ToolFailed) as err:
        McpHttpClient(wfx_server.url).call_tool("no_such_tool", {})
    assert err.value.code == "tool_failed"


def test_an_answer_over_the_size_cap_is_refused(wfx_server: Server) -> None:
    client = McpHttpClient(wfx_server.url, max_bytes=2000)
    with pytest.raises(ToolFailed) as err:
        client.list_tools()
    assert "2,000 bytes" in err.value.message


def test_a_server_that_is_not_there_is_transient_and_names_no_secret() -> None:
    url = f"http://user:pw@127.0.0.1:{free_port()}/mcp?key=secret"
    client = McpHttpClient(url, headers={"Authorization": "Bearer top-secret"}, timeout_s=2)
    with pytest.raises(Transient) as err:
        client.list_tools()
    text = str(err.value.to_dict())
    assert err.value.retryable
    assert "secret" not in text and "pw" not in text
    assert safe_url(url) in text
