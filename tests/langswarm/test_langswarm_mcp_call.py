"""LangSwarm's ``mcp_call`` in workflows: ``local://workflow_executor`` runs our own tools
in-process with the rights of the caller that started the run (never more), and an
``http(s)://`` URL reaches a remote MCP server only when the operator allows it."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

from wfx_procs import serving
from workflow_executor.api import Executor
from workflow_executor.mcp.auth import create_key
from workflow_executor.settings import Settings

CALL = "langswarm.core.utils.workflows.functions.mcp_call"


def caller_doc(tool: str, arguments: dict[str, Any], url: str = "local://workflow_executor") -> dict[str, Any]:
    return {"workflows": {
        "child": {"steps": [{"id": "c", "function": "builtins.echo", "args": {"value": "child ran"}}]},
        "parent": {"steps": [{"id": "call", "function": CALL,
                              "args": {"mcp_url": url, "payload": {"name": tool, "arguments": arguments}}}]},
    }}


def executor(tmp: Path, **env: str) -> Executor:
    s = Settings.from_env({"WFX_HOME": str(tmp / "home"), **env})
    return Executor.local(settings=replace(s, store="memory"), memory=True)


def test_a_run_calls_our_tools_with_no_more_rights_than_its_caller(tmp_path: Path) -> None:
    s = Settings.from_env({"WFX_HOME": str(tmp_path / "home")})
    create_key(s, ["run", "read"], ["parent"], "dave")       # may run 'parent' only
    create_key(s, ["run", "read"], None, "erin")
    create_key(s, ["admin"], None, "erin")                   # erin's least rights: run, read
    with executor(tmp_path) as ex:
        ex.register(caller_doc("execute_workflow", {"workflow_name": "child", "input_data": {}}))
        run = ex.run("parent", principal="dave")
        out = run.steps["call"].output
        assert out["success"] is False and out["error"]["code"] == "forbidden"   # allow-list holds inside
        run = ex.run("parent", principal="erin")
        assert run.steps["call"].output["success"] is True
        assert run.steps["call"].output["result"] == "child ran"
        run = ex.run("parent", principal="mallory")                            # no key at all
        assert run.steps["call"].output["error"]["code"] == "forbidden"
        ex.register(caller_doc("cancel_execution", {"execution_id": run.id}))
        run = ex.run("parent", principal="erin")                               # erin lacks 'cancel'
        assert run.steps["call"].output["error"]["code"] == "forbidden"


def test_an_unknown_tool_and_a_bad_payload_are_clear_errors(tmp_path: Path) -> None:
    with executor(tmp_path) as ex:
        ex.register(caller_doc("no_such_tool", {}))
        out = ex.run("parent").steps["call"].output
        assert out == {"success": False, "error": {"code": "not_found", "message": out["error"]["message"],
                                                   "fix": out["error"]["fix"]}}
        assert "list_workflows" in out["error"]["fix"]
        bad = caller_doc("list_workflows", {})
        bad["workflows"]["parent"]["steps"][0]["args"]["payload"] = "not json"
        ex.register(bad)
        run = ex.run("parent")
        assert run.status.value == "failed" and run.error is not None
        assert run.error.code == "invalid_argument"


def test_a_remote_mcp_server_is_called_only_when_the_operator_allows_it(tmp_path: Path) -> None:
    with serving(tmp_path / "remote") as url:
        with executor(tmp_path / "a") as ex:
            ex.register(caller_doc("list_workflows", {}, url=url))
            out = ex.run("parent").steps["call"].output
            assert out["success"] is False and out["error"]["code"] == "mcp_url_not_allowed"
            assert "WFX_MCP_ALLOW" in out["error"]["fix"]
        with executor(tmp_path / "b", WFX_MCP_ALLOW=url) as ex:
            ex.register(caller_doc("list_workflows", {}, url=url))
            out = ex.run("parent").steps["call"].output
            assert out["success"] is True and "available_workflows" in out
