"""MCP polish a newcomer's client meets (issue 20): every tool publishes an outputSchema that its
structuredContent follows (the official SDK client validates each result against it), resources/list
pages with cursors over recent executions only, and a 401 keeps the request's id."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import anyio
import pytest
from mcp import Client
from wfx_mcp_support import Keys, Server, start_server, stop

FIVE = "workflows:\n  scratch:\n    steps:\n      - {id: a, function: builtins.echo, args: {value: 1}}\n"


async def _every_tool(url: str) -> dict[str, Any]:
    async with Client(url, mode="auto") as client:
        listed = {t.name: t.output_schema for t in (await client.list_tools()).tools}
        done = await client.call_tool("execute_workflow", {"workflow_name": "five", "input_data": {"n": 1}})
        eid = done.structured_content["execution_id"]
        calls: dict[str, dict[str, Any]] = {
            "execute_workflow": {"workflow_name": "five", "input_data": {"n": 2}, "execution_mode": "async"},
            "generate_workflow": {"workflow_description": "summarise a text, then review it"},
            "execute_generated_workflow": {"workflow_description": "echo the input", "input_data": {},
                                           "execution_mode": "async"},
            "check_execution_status": {"execution_id": eid},
            "cancel_execution": {"execution_id": eid},
            "list_workflows": {},
            "validate_workflow": {"workflow": FIVE},
            "list_executions": {"limit": 2},
            "get_workflow": {"workflow_name": "five"},
            "rerun_execution": {"execution_id": eid, "from_step": "c"},
            "register_workflow": {"workflow": FIVE},
        }
        errors = {}
        for name, args in calls.items():  # the client raises when a result breaks the tool's outputSchema
            res = await client.call_tool(name, args)
            errors[name] = res.structured_content if res.is_error else None
        return {"listed": listed, "errors": errors, "invalid": await client.call_tool(
            "validate_workflow", {"workflow": "workflows: {w: {steps: [{id: a, output: {to: nowhere}}]}}"})}


def test_every_tool_publishes_an_output_schema_its_results_follow(server: Server) -> None:
    out = anyio.run(_every_tool, server.url)
    assert sorted(name for name, schema in out["listed"].items() if not schema) == []
    assert {name: err for name, err in out["errors"].items() if err} == {}
    assert out["invalid"].structured_content["valid"] is False  # a result, not an error, and it conforms


def test_a_401_answer_keeps_the_request_id(keyed: tuple[Server, Keys]) -> None:
    srv, _ = keyed
    r = srv.post({"jsonrpc": "2.0", "id": "req-7", "method": "tools/list"})
    assert r.status_code == 401
    assert r.json()["id"] == "req-7"


@pytest.fixture(scope="module")
def crowded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A server of its own: this module fills it with workflows and runs."""
    srv = start_server(tmp_path_factory.mktemp("crowded"))
    yield srv
    srv.session.close()
    assert srv.proc is not None
    stop(srv.proc)


def test_resources_list_pages_with_cursors_and_lists_recent_executions_only(crowded: Server) -> None:
    server = crowded
    many = "workflows:\n" + "".join(f"  paged_{i:02d}:\n    steps:\n      - {{id: a, function: builtins.noop}}\n"
                                    for i in range(60))
    assert server.tool("register_workflow", workflow=many)["isError"] is False
    for n in range(21):
        assert server.tool("execute_workflow", workflow_name="five", input_data={"n": n})["isError"] is False
    seen: list[str] = []
    cursor = None
    for _ in range(20):
        answer = server.rpc("resources/list", {"cursor": cursor} if cursor else {})["result"]
        assert len(answer["resources"]) <= 50
        seen += [r["uri"] for r in answer["resources"]]
        cursor = answer.get("nextCursor")
        if cursor is None:
            break
    assert len(seen) == len(set(seen))
    assert {f"workflow://paged_{i:02d}" for i in range(60)} <= set(seen)
    assert len([u for u in seen if u.startswith("execution://")]) == 20
    assert all(u.startswith("execution://") for u in seen[:20])  # the recent runs come first
    bad = server.rpc("resources/list", {"cursor": "not-ours"})
    assert bad["error"]["code"] == -32602
