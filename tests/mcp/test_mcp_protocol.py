"""The transport and the JSON-RPC/MCP envelope, over real HTTP: every era at one URL."""

from __future__ import annotations

import json
from typing import Any

import pytest
from wfx_mcp_support import Server

MODERN = "2026-07-28"
PV = "io.modelcontextprotocol/protocolVersion"
CAPS = "io.modelcontextprotocol/clientCapabilities"


def modern(server: Server, method: str, params: dict[str, Any] | None = None,
           headers: dict[str, str] | None = None, caps: dict[str, Any] | None = None) -> Any:
    params = dict(params or {})
    params["_meta"] = {PV: MODERN, CAPS: caps or {}}
    hdrs = {"MCP-Protocol-Version": MODERN, "Mcp-Method": method}
    if method == "tools/call":
        hdrs["Mcp-Name"] = params["name"]
    hdrs.update(headers or {})
    return server.post({"jsonrpc": "2.0", "id": 7, "method": method, "params": params}, hdrs)


def test_healthz_answers_ready(server: Server) -> None:
    r = server.session.get(server.url + "healthz", timeout=5)
    assert r.status_code == 200
    assert r.json()["status"] == "ok"


@pytest.mark.parametrize("method", ["GET", "DELETE", "PUT"])
def test_other_http_methods_on_the_mcp_url_are_405(server: Server, method: str) -> None:
    r = server.session.request(method, server.url, timeout=5)
    assert r.status_code == 405
    assert r.headers["Allow"] == "POST"


def test_a_body_over_the_limit_is_413(server: Server) -> None:
    big = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "ping", "params": {"pad": "x" * 1_100_000}})
    r = server.post(None, raw=big.encode())
    assert r.status_code == 413
    assert r.json()["error"]["message"]


@pytest.mark.parametrize(("raw", "code"), [
    (b"{not json", -32700),
    (b"\xff\xfe", -32700),
    (b'{"jsonrpc":"2.0","id":1,"method":"ping","params":NaN}', -32700),
    (b"[]", -32600),
    (b'[{"jsonrpc":"2.0","id":1,"method":"ping"}]', -32600),
    (b'"ping"', -32600),
    (b'{"jsonrpc":"1.0","id":1,"method":"ping"}', -32600),
    (b'{"jsonrpc":"2.0","id":null,"method":"ping"}', -32600),
    (b'{"jsonrpc":"2.0","id":true,"method":"ping"}', -32600),
    (b'{"jsonrpc":"2.0","id":1}', -32600),
    (b'{"jsonrpc":"2.0","id":1,"method":5}', -32600),
    (b'{"jsonrpc":"2.0","id":1,"method":"no/such"}', -32601),
    (b'{"jsonrpc":"2.0","id":1,"method":"ping","params":[1]}', -32602),
    (b'{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{}}', -32602),
    (b'{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"nope"}}', -32602),
    (b'{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"list_workflows","arguments":[]}}',
     -32602),
])
def test_protocol_faults_are_json_rpc_errors_with_their_codes(server: Server, raw: bytes, code: int) -> None:
    r = server.post(None, raw=raw)
    assert r.status_code == 200
    body = r.json()
    assert body["error"]["code"] == code
    assert isinstance(body["error"]["message"], str)
    assert "Traceback" not in r.text


def test_an_error_echoes_the_request_id_of_its_type(server: Server) -> None:
    assert server.post({"jsonrpc": "2.0", "id": "abc", "method": "nope"}).json()["id"] == "abc"
    assert server.post({"jsonrpc": "2.0", "id": 42, "method": "nope"}).json()["id"] == 42


def test_notifications_and_client_responses_are_accepted_with_202(server: Server) -> None:
    for body in ({"jsonrpc": "2.0", "method": "notifications/initialized"},
                 {"jsonrpc": "2.0", "method": "notifications/cancelled", "params": {"requestId": 1}},
                 {"jsonrpc": "2.0", "id": 5, "result": {}}):
        r = server.post(body)
        assert r.status_code == 202
        assert r.content == b""


def test_initialize_echoes_a_supported_version_and_offers_the_latest_otherwise(server: Server) -> None:
    for asked, got in (("2025-11-25", "2025-11-25"), ("2025-06-18", "2025-06-18"),
                       ("2025-03-26", "2025-03-26"), ("1999-01-01", "2025-11-25")):
        res = server.rpc("initialize", {"protocolVersion": asked, "capabilities": {},
                                        "clientInfo": {"name": "t", "version": "1"}})["result"]
        assert res["protocolVersion"] == got
        assert "tools" in res["capabilities"]
    assert "tasks" in server.rpc("initialize", {"protocolVersion": "2025-11-25"})["result"]["capabilities"]


def test_the_handshake_is_stateless_and_issues_no_session(server: Server) -> None:
    r = server.post({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {"protocolVersion": "2025-11-25"}})
    assert "Mcp-Session-Id" not in r.headers
    assert server.rpc("ping")["result"] == {}


def test_mcpremote_bodies_without_jsonrpc_get_one_json_object(server: Server) -> None:
    hdrs = {"Accept": "*/*"}
    init = server.post({"method": "initialize", "id": "init-1"}, hdrs)
    assert init.status_code == 200
    assert init.headers["Content-Type"].startswith("application/json")
    assert init.json()["id"] == "init-1"
    assert init.json()["result"]["protocolVersion"] == "2025-11-25"
    listed = server.post({"method": "tools/list", "id": "list-1"}, hdrs).json()
    assert {t["name"] for t in listed["result"]["tools"]} >= {"execute_workflow", "list_workflows"}
    call = server.post({"method": "tools/call", "id": "call-1", "params": {
        "name": "execute_workflow", "arguments": {"workflow_name": "echo", "input_data": {"q": 1}}}}, hdrs).json()
    assert call["result"]["isError"] is False
    assert call["result"]["structuredContent"]["result"] == {"q": 1}
    missing = server.post({"method": "no/such", "id": "x-1"}, hdrs).json()
    assert isinstance(missing["error"], dict)
    assert missing["error"]["message"]


def test_the_older_bare_name_arguments_body_runs_the_tool(server: Server) -> None:
    res = server.post({"name": "execute_workflow", "arguments": {"workflow_name": "echo",
                                                                  "input_data": {"b": 2}}}).json()
    assert res["isError"] is False
    assert res["structuredContent"]["result"] == {"b": 2}
    assert server.post({"name": "nope", "arguments": {}}).json()["isError"] is True


def test_schema_urls_describe_the_tools(server: Server) -> None:
    root = server.session.get(server.url + "schema", timeout=5).json()
    assert {t["name"] for t in root["tasks"]} == {t["name"] for t in root["tools"]}
    one = server.session.get(server.url + "execute_workflow/schema", timeout=5).json()
    assert one["input_schema"]["properties"]["execution_mode"]["default"] == "sync"


def test_tools_list_has_seed_parameters_and_defaults(server: Server) -> None:
    tools = {t["name"]: t for t in server.rpc("tools/list")["result"]["tools"]}
    ex = tools["execute_workflow"]["inputSchema"]["properties"]
    assert ex["execution_mode"]["default"] == "sync"
    assert ex["timeout"]["default"] == 300
    assert {"workflow_name", "input_data", "config_override", "idempotency_key", "workflow"} <= set(ex)
    gen = tools["generate_workflow"]["inputSchema"]["properties"]
    assert gen["complexity"]["default"] == "medium"
    assert tools["list_workflows"]["inputSchema"]["properties"]["pattern"]["default"] == "*.yaml"
    assert tools["execute_workflow"]["execution"] == {"taskSupport": "optional"}
    assert "execution" not in tools["list_workflows"]


def test_discover_answers_the_modern_era_with_result_type(server: Server) -> None:
    r = modern(server, "server/discover")
    assert r.status_code == 200
    res = r.json()["result"]
    assert res["resultType"] == "complete"
    assert MODERN in res["supportedVersions"]
    assert "io.modelcontextprotocol/tasks" in res["capabilities"]["extensions"]


def test_modern_tools_list_carries_cache_hints_and_result_type(server: Server) -> None:
    res = modern(server, "tools/list").json()["result"]
    assert res["resultType"] == "complete"
    assert isinstance(res["ttlMs"], int)
    assert res["cacheScope"] in ("public", "private")
    assert all("execution" not in t for t in res["tools"])


def test_modern_tool_results_carry_result_type(server: Server) -> None:
    res = modern(server, "tools/call", {"name": "list_workflows", "arguments": {}}).json()["result"]
    assert res["resultType"] == "complete"
    assert res["isError"] is False


@pytest.mark.parametrize(("headers", "code", "status"), [
    ({"Mcp-Method": "tools/list"}, -32020, 400),
    ({"Mcp-Name": "execute_workflow"}, -32020, 400),
    ({"MCP-Protocol-Version": "2025-11-25"}, -32020, 400),
])
def test_modern_routing_headers_must_match_the_body(server: Server, headers: dict[str, str], code: int,
                                                      status: int) -> None:
    r = modern(server, "tools/call", {"name": "list_workflows", "arguments": {}}, headers)
    assert r.status_code == status
    assert r.json()["error"]["code"] == code


def test_a_modern_request_without_its_envelope_is_invalid_params(server: Server) -> None:
    r = server.post({"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {}},
                    {"MCP-Protocol-Version": MODERN, "Mcp-Method": "tools/list"})
    assert r.status_code == 400
    assert r.json()["error"]["code"] == -32602


def test_an_unknown_modern_version_is_unsupported_with_the_supported_list(server: Server) -> None:
    r = server.post({"jsonrpc": "2.0", "id": 1, "method": "server/discover",
                     "params": {"_meta": {PV: "2099-01-01", CAPS: {}}}},
                    {"MCP-Protocol-Version": "2099-01-01", "Mcp-Method": "server/discover"})
    assert r.status_code == 400
    err = r.json()["error"]
    assert err["code"] == -32022
    assert MODERN in err["data"]["supported"]


def test_ping_and_initialize_do_not_exist_in_the_modern_era(server: Server) -> None:
    r = modern(server, "ping")
    assert r.status_code == 404
    assert r.json()["error"]["code"] == -32601
