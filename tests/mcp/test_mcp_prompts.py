"""The six specialists as MCP prompts, seen by real clients over real HTTP: the official MCP SDK
(2026-07-28 and 2025-11-25), raw JSON-RPC (errors, visibility, the 2026 envelope), the MCP
Inspector CLI and the official conformance suite's prompt scenarios that need no fixture prompts."""

from __future__ import annotations

import json
import uuid
from typing import Any

import anyio
import pytest
from mcp import Client
from mcp.shared.exceptions import MCPError
from npm_tools import NpmTools
from test_mcp_protocol import MODERN, modern
from wfx_mcp_support import Keys, Server, bearer

SIX = ["workflow_orchestrator", "workflow_generator", "execution_monitor", "workflow_advisor",
       "workflow_troubleshooter", "workflow_integration_specialist"]
REQUIRED = {"workflow_orchestrator": ["goal"], "workflow_generator": ["description"], "execution_monitor": [],
            "workflow_advisor": [], "workflow_troubleshooter": ["execution_id"],
            "workflow_integration_specialist": ["target_system"]}
INVALID_PARAMS, HEADER_MISMATCH = -32602, -32020
SHAKY = ("workflows:\n  shaky:\n    steps:\n"
         "      - {id: a, agent: writer, input: hi, output: {to: b}}\n"
         "      - {id: b, function: builtins.echo, args: {v: 1}, loop: {until: 'true', body: []}, output: {to: user}}\n"
         "      - {id: orphan, function: builtins.echo, args: {v: 2}}\n"
         "agents:\n  - {id: writer, system_prompt: hi, tools: [no_such_tool]}\n")


def _text(result: Any) -> str:
    return "\n".join(m.content.text for m in result.messages)


async def _walk(url: str, mode: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    async with Client(url, mode=mode) as client:
        out["version"] = client.protocol_version
        out["prompts"] = {p.name: p for p in (await client.list_prompts()).prompts}
        failed = await client.call_tool("execute_workflow", {"workflow_name": "fail", "input_data": {}})
        eid = failed.structured_content["execution_id"]
        out["eid"] = eid
        out["troubleshooter"] = _text(await client.get_prompt("workflow_troubleshooter", {"execution_id": eid}))
        out["advisor"] = _text(await client.get_prompt("workflow_advisor", {"workflow_name": "fail"}))
        out["shaky"] = _text(await client.get_prompt("workflow_advisor", {"workflow": SHAKY}))
        out["monitor"] = _text(await client.get_prompt("execution_monitor", {}))
        out["generator"] = _text(await client.get_prompt("workflow_generator", {
            "description": "fetch orders and email a report", "complexity": "complex"}))
        out["orchestrator"] = _text(await client.get_prompt("workflow_orchestrator", {"goal": "echo hello"}))
        out["integration"] = _text(await client.get_prompt("workflow_integration_specialist",
                                                           {"target_system": "the orders REST API"}))
        for key, name, args in (("unknown", "workflow_wizard", {}), ("missing", "workflow_troubleshooter", {}),
                                ("bad_level", "workflow_generator", {"description": "x", "complexity": "huge"})):
            try:
                await client.get_prompt(name, args)
                out[key] = None
            except MCPError as exc:
                out[key] = (exc.error.code, exc.error.message)
    return out


@pytest.mark.parametrize(("mode", "version"), [("auto", MODERN), ("legacy", "2025-11-25")])
def test_the_official_sdk_lists_the_six_specialists_and_gets_each_with_what_it_works_on(
        server: Server, mode: str, version: str) -> None:
    out = anyio.run(_walk, server.url, mode)
    assert out["version"] == version
    assert list(out["prompts"]) == SIX
    for name, prompt in out["prompts"].items():
        assert [a.name for a in prompt.arguments or [] if a.required] == REQUIRED[name]
        assert prompt.title and prompt.description
    assert {a.name for a in out["prompts"]["workflow_advisor"].arguments} == {"workflow_name", "workflow"}
    trouble = out["troubleshooter"]
    assert "You are the Workflow Troubleshooter" in trouble
    assert "[step_failed] failed on purpose (step 'boom')" in trouble
    assert 'its input: {"message": "failed on purpose"}' in trouble  # the failing step's input
    assert "attempts 1 of 1" in trouble and f"rerun_execution(execution_id='{out['eid']}')" in trouble
    assert "first=completed, boom=failed" in trouble
    advisor = out["advisor"]
    assert '"valid": true' in advisor and "flowchart TD" in advisor and "builtins.fail" in advisor
    shaky = out["shaky"]
    for kind in ("missing_tool", "unbounded_loop", "unreachable_step"):
        assert f'"kind": "{kind}"' in shaky
    assert out["eid"] in out["monitor"]
    assert "Design a complex workflow (5-8 agents" in out["generator"] and "http_request" in out["generator"]
    assert "- fail: Echo, then fail on purpose." in out["orchestrator"]
    assert "the orders REST API" in out["integration"] and "mcpremote" in out["integration"]
    code, message = out["unknown"]
    assert code == INVALID_PARAMS and all(name in message for name in SIX)
    code, message = out["missing"]
    assert code == INVALID_PARAMS and "execution_id" in message
    code, message = out["bad_level"]
    assert code == INVALID_PARAMS and "complexity" in message


def test_a_caller_gets_the_troubleshooter_and_monitor_only_for_its_own_executions(keyed: tuple[Server, Keys]) -> None:
    srv, keys = keyed
    ran = srv.tool("execute_workflow", bearer(keys.runner), workflow_name="fail", input_data={})
    eid = ran["structuredContent"]["execution_id"]
    for name in ("workflow_troubleshooter", "execution_monitor"):
        stranger = srv.rpc("prompts/get", {"name": name, "arguments": {"execution_id": eid}}, bearer(keys.other))
        assert stranger["error"]["code"] == INVALID_PARAMS
        assert stranger["error"]["data"]["code"] == "not_found"
        assert "boom" not in json.dumps(stranger) and "failed on purpose" not in json.dumps(stranger)
        own = srv.rpc("prompts/get", {"name": name, "arguments": {"execution_id": eid}}, bearer(keys.runner))
        assert "failed on purpose" in json.dumps(own["result"])
        admin = srv.rpc("prompts/get", {"name": name, "arguments": {"execution_id": eid}}, bearer(keys.admin))
        assert "failed on purpose" in json.dumps(admin["result"])
    recent = srv.rpc("prompts/get", {"name": "execution_monitor"}, bearer(keys.other))
    assert eid not in json.dumps(recent["result"])
    limited = srv.rpc("prompts/get", {"name": "workflow_advisor", "arguments": {"workflow_name": "fail"}},
                      bearer(keys.limited))  # its key may use 'echo' only
    assert limited["error"]["code"] == INVALID_PARAMS and limited["error"]["data"]["code"] == "forbidden"


def test_prompts_speak_the_2026_envelope_and_both_handshakes_advertise_them(server: Server) -> None:
    listed = modern(server, "prompts/list").json()["result"]
    assert listed["resultType"] == "complete"
    assert listed["ttlMs"] > 0 and listed["cacheScope"] == "public"
    assert [p["name"] for p in listed["prompts"]] == SIX
    got = modern(server, "prompts/get", {"name": "workflow_orchestrator", "arguments": {"goal": "g"}},
                 {"Mcp-Name": "workflow_orchestrator"}).json()["result"]
    assert got["resultType"] == "complete" and [m["role"] for m in got["messages"]] == ["user", "user"]
    wrong = modern(server, "prompts/get", {"name": "workflow_orchestrator", "arguments": {"goal": "g"}},
                   {"Mcp-Name": "workflow_generator"})
    assert wrong.status_code == 400 and wrong.json()["error"]["code"] == HEADER_MISMATCH
    unknown = modern(server, "prompts/get", {"name": "nope"}, {"Mcp-Name": "nope"})
    assert unknown.status_code == 400 and unknown.json()["error"]["code"] == INVALID_PARAMS
    discover = modern(server, "server/discover").json()["result"]
    assert discover["capabilities"]["prompts"] == {"listChanged": False}
    init = server.rpc("initialize", {"protocolVersion": "2025-11-25", "capabilities": {},
                                     "clientInfo": {"name": "t", "version": "1"}})
    assert init["result"]["capabilities"]["prompts"] == {"listChanged": False}
    bare = server.post({"method": "prompts/list", "id": "ls-1"})  # mcpremote's shape: no jsonrpc member
    assert [p["name"] for p in bare.json()["result"]["prompts"]] == SIX


def test_the_mcp_inspector_cli_lists_the_prompts_and_gets_the_troubleshooter(server: Server, npm: NpmTools) -> None:
    listed = npm.inspector(server.url, "--method", "prompts/list")
    assert [p["name"] for p in listed["prompts"]] == SIX
    eid = server.tool("execute_workflow", workflow_name="fail", input_data={"run": uuid.uuid4().hex})[
        "structuredContent"]["execution_id"]
    got = npm.inspector(server.url, "--method", "prompts/get", "--prompt-name", "workflow_troubleshooter",
                        "--prompt-args", f"execution_id={eid}")
    assert "failed on purpose" in got["messages"][1]["content"]["text"]


def test_the_conformance_suite_passes_its_prompt_scenario_that_needs_no_fixture_prompts(
        server: Server, npm: NpmTools) -> None:
    # prompts-get-simple/-with-args/-embedded-resource/-with-image ask for its own test_* prompts
    proc = npm.conformance(server.url, "prompts-list")
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    assert "Passed: 1/1, 0 failed" in proc.stdout


@pytest.fixture(scope="module")
def npm() -> NpmTools:
    tools = NpmTools.ready()
    if isinstance(tools, str):
        pytest.skip(tools)
    return tools
