"""examples/langswarm_specialists: the six specialists as a LangSwarm config folder. Our loader
loads it; LangSwarm's own mcpremote client (RemoteMCPTool), configured from its tools.yaml, makes
the tool calls the agents' prompts describe against a live keyed `wfx serve`."""

from __future__ import annotations

import contextlib
import io
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml
from wfx_procs import serving
from workflow_executor.api import Executor
from workflow_executor.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
FOLDER = ROOT / "examples" / "langswarm_specialists"
SIX = {"workflow_orchestrator", "workflow_generator", "execution_monitor", "workflow_advisor",
       "workflow_troubleshooter", "workflow_integration_specialist"}


def test_our_loader_loads_the_folder_with_six_agents_on_the_mcpremote_tool(tmp_path: Path) -> None:
    settings = Settings.from_env({"WFX_HOME": str(tmp_path), "WFX_MCP_ALLOW": "http://127.0.0.1:4020/",
                                  "WFX_MCP_HEADER_ENV": "WFX_API_KEY"})
    with Executor.local(settings=settings, memory=True) as ex:
        doc, report = ex.check(FOLDER)
    assert set(doc.agents) == SIX
    assert all(a.tools == ("workflow_executor",) and a.system_prompt for a in doc.agents.values())
    assert doc.tools["workflow_executor"].type == "mcpremote"
    assert set(doc.workflows) == {"orchestrate", "generate", "monitor", "advise", "troubleshoot", "integrate"}
    assert [s.agent for s in doc.workflows["troubleshoot"].steps] == ["workflow_troubleshooter", "workflow_advisor"]
    assert not report.warnings


def test_langswarm_remote_mcp_tool_from_tools_yaml_runs_the_specialists_tool_calls(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    remote = pytest.importorskip("langswarm.tools.mcp.remote.main")
    from workflow_executor.mcp.auth import create_key

    home = tmp_path / "server"
    roots = tmp_path / "flows"
    roots.mkdir()
    shutil.copy(ROOT / "tests" / "mcp" / "workflows" / "fail.yaml", roots / "fail.yaml")
    key = create_key(Settings.from_env({"WFX_HOME": str(home)}), ["run", "read", "generate"], None, "ls")
    [entry] = yaml.safe_load((FOLDER / "tools.yaml").read_text())["tools"]
    monkeypatch.setenv("WFX_API_KEY", key)
    with serving(home, WFX_WORKFLOW_ROOTS=str(roots)) as url:
        with contextlib.redirect_stdout(io.StringIO()):  # its constructor prints a harmless warning
            tool = remote.RemoteMCPTool(identifier=entry["id"], mcp_url=url, headers=entry["headers"],
                                        timeout=entry["timeout"], retry_count=0)

        def call(name: str, **arguments: Any) -> dict[str, Any]:
            out = tool.run({"method": "call_tool", "params": {"tool_name": name, "arguments": arguments}})
            assert out["success"] is True, out
            result: dict[str, Any] = out["result"]
            return result

        assert {"execute_workflow", "check_execution_status", "generate_workflow"} <= set(
            tool.run({"method": "list_tools"})["tools"])
        assert "fail" in {w["name"] for w in call("list_workflows")["structuredContent"]["available_workflows"]}
        failed = call("execute_workflow", workflow_name="fail", input_data={})  # the orchestrator's call
        assert failed["isError"] is True
        eid = failed["structuredContent"]["execution_id"]
        status = call("check_execution_status", execution_id=eid)["structuredContent"]  # the troubleshooter's
        [boom] = [s for s in status["steps"] if s["status"] == "failed"]
        assert boom["id"] == "boom" and "failed on purpose" in boom["input_preview"]
        recent = call("list_executions", limit=5)["structuredContent"]  # the monitor's
        assert eid in {e["execution_id"] for e in recent["executions"]}
        advice = call("validate_workflow", workflow_name="fail")["structuredContent"]  # the advisor's
        assert advice["valid"] is True and advice["findings"] == []
        made = call("generate_workflow", workflow_description="fetch the orders and summarise them",
                    workflow_name="orders_summary", complexity="simple")["structuredContent"]  # the generator's
        assert made["validation_status"] == "valid"
