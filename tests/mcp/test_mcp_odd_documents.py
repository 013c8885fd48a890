"""Odd documents over real MCP get clear ``isError`` results, never -32603 (issue 18, point 9): a
lone surrogate (an escaped ``\\ud800`` in JSON or YAML), nesting past the depth limit (one rule
for documents, inputs and outputs: spec.jsondata), and files under the roots that do not load,
named relative to their root, never by the server's absolute path."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from wfx_mcp_support import Server, start_server, stop


def echo(value: str) -> str:
    """An inline document (JSON text) whose one step echoes ``value`` (JSON text)."""
    return '{"workflows":{"w":{"steps":[{"id":"a","function":"builtins.echo","args":{"value":' + value + "}}]}}}"


def inline(workflow: str) -> str:
    return '{"input_data":{},"workflow":' + workflow + "}"


@pytest.fixture(scope="module")
def srv(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    home = tmp_path_factory.mktemp("odd-docs")
    roots = home / "workflows"
    (roots / "sub").mkdir(parents=True)
    (roots / "syntax.yaml").write_text("workflows: [:\n")
    (roots / "sub" / "inner.yaml").write_text("workflows: [:\n")
    (roots / "huge.yaml").write_text("x: " + "a" * 1_100_000 + "\n")
    (roots / "folder").mkdir()
    (roots / "folder" / "workflows.yaml").write_text("workflows: {f: {steps: [{id: a, function: builtins.noop}]}}\n")
    (roots / "folder" / "agents.yaml").write_text("agents: [:\n")
    server = start_server(home)
    yield server
    server.session.close()
    assert server.proc is not None
    stop(server.proc)
    assert "Traceback" not in (home / "server.log").read_text(), "the server logged an unexpected error"


def call(srv: Server, name: str, arguments: str) -> dict[str, Any]:
    """tools/call with ``arguments`` as raw JSON text (escapes such as \\ud800 reach the server as sent)."""
    head = '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"' + name + '","arguments":'
    body = head + arguments + "}}"
    resp = srv.post(None, raw=body.encode())
    assert resp.status_code == 200, resp.text
    data: dict[str, Any] = resp.json()
    assert "result" in data, data  # an isError result, never -32603
    return data["result"]


@pytest.mark.parametrize("workflow", [
    echo('"\\ud800"'),  # an object sent as JSON
    json.dumps('workflows: {w: {steps: [{id: a, function: builtins.echo, args: {value: "\\udc80"}}]}}'),  # YAML text
])
def test_a_lone_surrogate_in_an_inline_document_is_an_error_naming_where(srv: Server, workflow: str) -> None:
    res = call(srv, "execute_workflow", inline(workflow))
    out = res["structuredContent"]
    assert res["isError"] is True and out["code"] == "invalid_workflow" and out["field"] == "workflow"
    assert out["errors"][0]["path"] == "workflows.w.steps[0].args.value" and out["fix"]


def test_a_lone_surrogate_in_a_config_override_is_an_error_not_an_internal_one(srv: Server) -> None:
    res = call(srv, "execute_workflow",
               '{"workflow_name":"echo","input_data":{},"config_override":{"description":"\\ud800"}}')
    assert res["isError"] is True and res["structuredContent"]["code"] == "invalid_workflow"


@pytest.mark.parametrize("depth", [70, 450, 900])
def test_an_inline_document_nested_past_the_limit_is_refused_with_the_limit(srv: Server, depth: int) -> None:
    deep = '{"k":' * depth + '"x"' + "}" * depth
    res = call(srv, "execute_workflow", inline(echo(deep)))
    out = res["structuredContent"]
    assert res["isError"] is True and out["code"] == "limit_exceeded" and out["fix"]
    checked = call(srv, "validate_workflow", '{"workflow":' + echo(deep) + "}")
    assert checked["isError"] is False and checked["structuredContent"]["valid"] is False


def test_a_document_within_the_depth_limit_still_runs(srv: Server) -> None:
    deep = '{"k":' * 50 + '"x"' + "}" * 50
    res = call(srv, "execute_workflow", inline(echo(deep)))
    assert res["isError"] is False, res


@pytest.mark.parametrize("name", ["syntax.yaml", "sub/inner.yaml", "folder", "huge.yaml"])
def test_a_file_under_the_roots_that_does_not_load_is_named_relative_to_its_root(srv: Server, name: str) -> None:
    shown = "folder/agents.yaml" if name == "folder" else name
    for tool, args in (("execute_workflow", {"workflow_name": name, "input_data": {}}),
                       ("get_workflow", {"workflow_name": name}),
                       ("validate_workflow", {"workflow_name": name})):
        res = call(srv, tool, json.dumps(args))
        text = json.dumps(res)
        assert shown in text or tool == "validate_workflow", (tool, text)  # validate lists paths in the document
        assert str(srv.home) not in text and str(Path(srv.home).resolve()) not in text, (tool, text)
        assert res["isError"] is (tool != "validate_workflow")
    listed = call(srv, "list_workflows", '{"pattern":"**/*.yaml"}')
    assert str(srv.home) not in json.dumps(listed)
    assert shown in {s["file"] for s in listed["structuredContent"]["skipped"]} or name == "folder"
