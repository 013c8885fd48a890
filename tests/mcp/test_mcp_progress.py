"""MCP-native progress and resources: the official SDK client receives notifications/progress
for a 5-step sync run (both protocol eras) and reads workflow:// and execution:// resources;
a client that accepts only JSON (mcpremote) gets the plain JSON answer as before."""

from __future__ import annotations

import json
from typing import Any

import anyio
import pytest
from mcp import Client
from wfx_mcp_support import Keys, Server, bearer


async def _progress_walk(url: str, mode: str) -> dict[str, Any]:
    seen: list[tuple[float, float | None, str | None]] = []

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        seen.append((progress, total, message))

    async with Client(url, mode=mode) as client:
        res = await client.call_tool("execute_workflow", {"workflow_name": "paced", "input_data": {"seconds": 0.08}},
                                     progress_callback=on_progress)
        return {"seen": seen, "error": res.is_error, "sc": res.structured_content}


@pytest.mark.parametrize("mode", ["auto", "legacy"])
def test_the_sdk_client_receives_progress_for_a_sync_run(server: Server, mode: str) -> None:
    out = anyio.run(_progress_walk, server.url, mode)
    assert out["error"] is False and out["sc"]["status"] == "completed"
    seen = out["seen"]
    done = [p for p, _, _ in seen]
    assert len(seen) >= 3, seen  # the run moved on between notifications
    assert done == sorted(done) and done[-1] == 5
    assert {t for _, t, _ in seen} == {5}
    assert any(m and "step" in m and "p" in m for _, _, m in seen)


def _call(progress_token: Any = "tok-1") -> dict[str, Any]:
    return {"jsonrpc": "2.0", "id": 7, "method": "tools/call",
            "params": {"name": "execute_workflow", "_meta": {"progressToken": progress_token},
                       "arguments": {"workflow_name": "paced", "input_data": {"seconds": 0.02}}}}


def test_the_stream_is_progress_notifications_then_the_response(server: Server) -> None:
    resp = server.post(_call(), {"Accept": "application/json, text/event-stream"})
    assert resp.status_code == 200 and resp.headers["Content-Type"] == "text/event-stream"
    messages = [json.loads(block.split("data: ", 1)[1]) for block in resp.text.strip().split("\n\n")]
    *notes, last = messages
    assert notes and all(n["method"] == "notifications/progress" for n in notes)
    assert all(n["params"]["progressToken"] == "tok-1" and n["params"]["total"] == 5 for n in notes)
    assert last["id"] == 7 and last["result"]["structuredContent"]["status"] == "completed"


@pytest.mark.parametrize("accept", ["*/*", "application/json", None])
def test_a_json_only_client_gets_plain_json_even_with_a_progress_token(server: Server, accept: str | None) -> None:
    headers = {"Accept": accept} if accept else {}
    resp = server.post(_call(), headers)
    assert resp.headers["Content-Type"] == "application/json"
    assert resp.json()["result"]["structuredContent"]["status"] == "completed"


async def _resources(url: str, mode: str, eid: str) -> dict[str, Any]:
    async with Client(url, mode=mode) as client:
        listed = await client.list_resources()
        templates = await client.list_resource_templates()
        wf = await client.read_resource("workflow://five")
        ex = await client.read_resource(f"execution://{eid}")
        return {"uris": [str(r.uri) for r in listed.resources],
                "templates": [t.uri_template for t in templates.resource_templates],
                "wf": json.loads(wf.contents[0].text), "ex": json.loads(ex.contents[0].text)}


@pytest.mark.parametrize("mode", ["auto", "legacy"])
def test_the_sdk_client_lists_and_reads_resources(server: Server, mode: str) -> None:
    eid = server.tool("execute_workflow", workflow_name="five", input_data={"r": 1})["structuredContent"][
        "execution_id"]
    out = anyio.run(_resources, server.url, mode, eid)
    assert "workflow://five" in out["uris"] and f"execution://{eid}" in out["uris"]
    assert out["templates"] == ["workflow://{name}", "execution://{id}"]
    assert out["wf"]["workflow_name"] == "five" and len(out["wf"]["steps"]) == 5
    assert out["ex"]["execution_id"] == eid and out["ex"]["result"] == {"r": 1}
    assert all(s["wall_s"] is not None for s in out["ex"]["steps"])


def test_resources_follow_the_callers_visibility(keyed: tuple[Server, Keys]) -> None:
    srv, keys = keyed
    eid = srv.tool("execute_workflow", bearer(keys.runner), workflow_name="five",
                   input_data={})["structuredContent"]["execution_id"]
    other = srv.rpc("resources/read", {"uri": f"execution://{eid}"}, bearer(keys.other))
    assert other["error"]["code"] == -32002
    listed = srv.rpc("resources/list", None, bearer(keys.other))["result"]["resources"]
    assert f"execution://{eid}" not in [r["uri"] for r in listed]
    limited = srv.rpc("resources/list", None, bearer(keys.limited))["result"]["resources"]
    assert {r["uri"] for r in limited if r["uri"].startswith("workflow://")} == {"workflow://echo"}
    denied = srv.rpc("resources/read", {"uri": "workflow://five"}, bearer(keys.limited))
    assert denied["error"]["data"]["code"] == "forbidden"
    bad = srv.rpc("resources/read", {"uri": "file:///etc/passwd"}, bearer(keys.admin))
    assert bad["error"]["code"] == -32602
