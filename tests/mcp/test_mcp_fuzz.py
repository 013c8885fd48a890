"""Property-based fuzzing over real HTTP: random envelopes, headers and tool arguments never
get a 5xx or a stack trace, and a rejected tool call stores nothing."""

from __future__ import annotations

import json
from typing import Any

import pytest
import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from wfx_mcp_support import Server

FUZZ = settings(max_examples=150, deadline=None, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
METHODS = ["initialize", "ping", "tools/list", "tools/call", "server/discover", "tasks/get", "tasks/result",
           "tasks/list", "tasks/cancel", "tasks/update", "notifications/initialized", "resources/list"]
ASCII = st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=24).map(str.strip)

scalars = (st.none() | st.booleans() | st.integers(-(10**12), 10**12)
           | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=30))
json_values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=4)
                           | st.dictionaries(st.text(max_size=12), inner, max_size=4), max_leaves=12)
envelopes = st.fixed_dictionaries({}, optional={
    "jsonrpc": st.just("2.0") | json_values,
    "id": st.integers(-5, 10**6) | st.text(max_size=10) | json_values,
    "method": st.sampled_from(METHODS) | json_values,
    "params": st.dictionaries(st.sampled_from(["name", "arguments", "task", "taskId", "cursor", "_meta",
                                               "protocolVersion"]) | st.text(max_size=8), json_values,
                              max_size=4) | json_values,
    "name": st.text(max_size=20),
    "arguments": json_values,
})
headers = st.fixed_dictionaries({}, optional={
    "MCP-Protocol-Version": st.sampled_from(["2026-07-28", "2025-11-25", "2025-06-18"]) | ASCII,
    "Mcp-Method": st.sampled_from(METHODS) | ASCII,
    "Mcp-Name": ASCII,
})


def assert_sane(resp: requests.Response) -> None:
    assert resp.status_code < 500
    assert resp.status_code != 429
    assert "Traceback" not in resp.text and 'File "' not in resp.text
    if resp.content:
        body = resp.json()
        if isinstance(body, dict) and "error" in body:
            assert isinstance(body["error"]["code"], int)
            assert isinstance(body["error"]["message"], str)


@FUZZ
@given(body=envelopes, hdrs=headers)
def test_random_envelopes_never_break_the_endpoint(server: Server, body: dict[str, Any],
                                                   hdrs: dict[str, str]) -> None:
    assert_sane(server.post(body, hdrs))


@FUZZ
@given(raw=st.binary(max_size=300) | st.text(max_size=300).map(str.encode))
def test_random_bytes_never_break_the_endpoint(server: Server, raw: bytes) -> None:
    resp = server.post(None, raw=raw)
    assert_sane(resp)


@pytest.fixture(scope="module")
def tool_fields(server: Server) -> dict[str, list[str]]:
    listed = server.rpc("tools/list")["result"]["tools"]
    return {t["name"]: sorted(t["inputSchema"]["properties"]) for t in listed}


@settings(max_examples=300, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_random_tool_arguments_are_results_and_rejections_store_nothing(
        server: Server, tool_fields: dict[str, list[str]], data: st.DataObject) -> None:
    name = data.draw(st.sampled_from(sorted(tool_fields)), label="tool")
    keys = st.sampled_from(tool_fields[name]) | st.text(max_size=10)
    args = data.draw(st.dictionaries(keys, json_values, max_size=6), label="arguments")
    before = server.executions_stored()
    resp = server.post({"jsonrpc": "2.0", "id": 1, "method": "tools/call",
                        "params": {"name": name, "arguments": args}})
    assert_sane(resp)
    assert resp.status_code == 200
    result = resp.json()["result"]
    assert isinstance(result["isError"], bool)
    assert result["content"][0]["type"] == "text"
    sc = result["structuredContent"]
    if result["isError"]:
        assert isinstance(sc["code"], str) and isinstance(sc["message"], str)
        if "execution_id" not in sc:  # a rejected call (not a run that failed)
            assert server.executions_stored() == before, json.dumps(args)[:300]
