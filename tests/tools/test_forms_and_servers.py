"""``dynamic_forms`` (pure: forms from the tool or LangSwarm's defaults, no file read), and tool types
the operator serves from an MCP server (WFX_TOOL_SERVERS, each URL also on WFX_MCP_ALLOW)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from tools_support import executor
from workflow_executor.agents.toolbox import ToolCall
from workflow_executor.agents.tools.base import ToolEnv
from workflow_executor.agents.tools.registry import ToolRegistry
from workflow_executor.errors import McpUrlNotAllowed, NotFound, SpecError
from workflow_executor.models import ExecutionStatus
from workflow_executor.settings_tools import ToolSettings
from workflow_executor.spec import load_text

FORMS = {"settings": {"title": "User Settings", "description": "Basic user preferences", "fields": [
    {"id": "display_name", "label": "Display Name", "type": "text", "required": True},
    {"id": "theme", "label": "Theme", "type": "select", "default_value": "auto",
     "options": [{"value": "light", "label": "Light"}, {"value": "dark", "label": "Dark"}]}]}}


def _forms(tool: dict[str, Any], op: str, **args: Any) -> Any:
    reg = ToolRegistry.from_env(ToolEnv())
    doc = load_text(json.dumps({"tools": [{"id": "forms", **tool}],
                                "workflows": {"w": {"steps": [{"id": "s", "tool": "forms", "params": {}}]}}}))
    return reg.run_tool("forms", {"method": op, **args}, doc, ToolCall("e", "s"))


def test_a_form_schema_is_built_from_the_tools_own_forms(tmp_path: Path) -> None:
    elsewhere = tmp_path / "tools.yaml"
    elsewhere.write_text("tools: [{id: dynamic-forms, forms: {stolen: {title: X, fields: []}}}]")
    out = _forms({"type": "mcpforms", "forms": FORMS}, "generate_form_schema", form_type="settings",
                 excluded_fields=["theme"], current_settings={"display_name": "Ann"},
                 user_context={"config_path": str(elsewhere)})  # LangSwarm reads this file; here it is ignored
    schema = out["form_schema"]
    assert schema["title"] == "User Settings"
    assert schema["sections"][0]["fields"] == [{**FORMS["settings"]["fields"][0], "default_value": "Ann"}]
    assert schema["metadata"]["config_source"] == "tool" and schema["user_context"] is None
    assert _forms({"type": "mcpforms", "forms": FORMS}, "get_available_forms")["forms"][0]["form_type"] == "settings"
    with pytest.raises(NotFound):
        _forms({"type": "mcpforms", "forms": FORMS}, "get_form_definition", form_type="stolen")


def test_without_forms_it_offers_langswarms_defaults() -> None:
    names = [f["form_type"] for f in _forms({"type": "mcpdynamic_forms"}, "get_available_forms")["forms"]]
    assert names == ["basic", "general", "ui", "ai", "system"]
    ai = _forms({"type": "dynamic_forms"}, "generate_form_schema", form_type="ai", included_fields=["temperature"])
    assert [f["id"] for f in ai["form_schema"]["sections"][0]["fields"]] == ["temperature"]


def test_a_malformed_form_is_a_validation_error(tmp_path: Path) -> None:
    wf = """
tools: [{id: f, type: mcpdynamic_forms, forms: {x: {title: X, fields: [{id: a, type: hologram}]}}}]
workflows: {w: {steps: [{id: s, tool: f, params: {method: get_available_forms}}]}}
"""
    with executor(tmp_path) as wfx, pytest.raises(SpecError) as err:
        wfx.check(wf)
    assert err.value.issues[0].path == "tools.f.type"
    assert "field 0 needs an id and a type" in err.value.issues[0].message
    assert "textarea" in err.value.issues[0].message  # the fix lists the field types


def test_an_operator_serves_a_tool_type_from_an_mcp_server(mini_mcp: str, tmp_path: Path) -> None:
    wf = """
tools: [{id: calc, type: calculator, mcp_url: "http://127.0.0.1:1/not-the-operators"}]
workflows:
  w:
    steps:
      - {id: sum, tool: calc, params: {name: add, arguments: {a: 20, b: 22}}, output: {to: user}}
"""
    env = {"WFX_TOOL_SERVERS": f"calculator={mini_mcp}", "WFX_MCP_ALLOW": mini_mcp}
    with executor(tmp_path, env) as wfx:
        done = wfx.run(workflow=wf)
    assert done.status == ExecutionStatus.COMPLETED, done.error
    assert done.result == {"result": 42}  # the operator's server, not the document's mcp_url


def test_a_tool_server_off_the_mcp_allow_list_is_refused_at_validation_and_at_build(mini_mcp: str,
                                                                                    tmp_path: Path) -> None:
    wf = """
tools: [{id: calc, type: calculator}]
workflows: {w: {steps: [{id: s, tool: calc, params: {name: add, arguments: {a: 1, b: 2}}}]}}
"""
    with executor(tmp_path, {"WFX_TOOL_SERVERS": f"calculator={mini_mcp}"}) as wfx, pytest.raises(SpecError) as err:
        wfx.check(wf)
    assert err.value.issues[0].path == "tools.calc.type"
    assert "WFX_TOOL_SERVERS" in err.value.issues[0].message and "WFX_MCP_ALLOW" in err.value.issues[0].message
    reg = ToolRegistry.from_env(ToolEnv(ToolSettings.from_env({"WFX_TOOL_SERVERS": f"calculator={mini_mcp}"})))
    with pytest.raises(McpUrlNotAllowed):
        reg.run_tool("calc", {"name": "add", "arguments": {"a": 1, "b": 2}}, load_text(wf), ToolCall("e", "s"))
