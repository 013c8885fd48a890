"""Workflow names defined in files under the roots, as each caller sees them: a name defined in a
``.json`` file is found by name and cannot be taken by ``generate_workflow``; a key limited to
some workflows sees neither the names nor the load errors of files it may not use."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from wfx_mcp_support import Server, bearer, start_server, stop


@pytest.fixture(scope="module")
def names(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, str, str]]:
    from workflow_executor.mcp.auth import create_key
    from workflow_executor.settings import Settings

    home = tmp_path_factory.mktemp("names")
    roots = home / "workflows"
    roots.mkdir()
    step = {"id": "a", "function": "builtins.echo", "args": {"value": "from json"}}
    (roots / "defs.json").write_text(json.dumps({"workflows": {"jsonwf": {"steps": [step]}}}))
    (roots / "secret_broken.yaml").write_text("workflows: {hidden_name: {steps: [{id: a, function: 3}]}}\n")
    (roots / "open.yaml").write_text("workflows: {open_wf: {steps: [{id: a, function: builtins.noop}]}}\n")
    settings = Settings.from_env({"WFX_HOME": str(home)})
    full = create_key(settings, ["run", "read", "generate"], None, "full")
    limited = create_key(settings, ["run", "read"], ["open_wf"], "limited")
    srv = start_server(home)
    yield srv, full, limited
    srv.session.close()
    assert srv.proc is not None
    stop(srv.proc)


def tool(srv: Server, key: str, name: str, **arguments: Any) -> dict[str, Any]:
    return srv.tool(name, bearer(key), **arguments)


def test_generate_workflow_cannot_take_a_name_defined_in_a_json_file(names: tuple[Server, str, str]) -> None:
    srv, full, _ = names
    res = tool(srv, full, "generate_workflow", workflow_description="echo the input back",
               workflow_name="jsonwf")
    assert (res["isError"], res["structuredContent"]["code"]) == (True, "conflict"), res
    assert res["structuredContent"]["field"] == "workflow_name"
    ran = tool(srv, full, "execute_workflow", workflow_name="jsonwf", input_data={})
    assert ran["isError"] is False and ran["structuredContent"]["result"] == "from json", ran


def test_a_limited_key_lists_no_names_or_errors_of_files_it_may_not_use(names: tuple[Server, str, str]) -> None:
    srv, full, limited = names
    everyone = tool(srv, full, "list_workflows")["structuredContent"]
    assert "secret_broken.yaml" in [s["file"] for s in everyone["skipped"]]  # unlimited keys see it
    seen = tool(srv, limited, "list_workflows")
    text = json.dumps(seen)
    assert [w["name"] for w in seen["structuredContent"]["available_workflows"]] == ["open_wf"]
    assert seen["structuredContent"]["skipped"] == []
    assert "secret_broken" not in text and "hidden_name" not in text and "could not be loaded" not in text
