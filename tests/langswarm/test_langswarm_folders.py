"""LangSwarm config folders (agents.yaml + workflows.yaml, or a unified langswarm.yaml): the
CLI validates and runs them, the MCP tools find them under WFX_WORKFLOW_ROOTS, and a folder
with an agent missing is rejected naming the agent, the step and the file."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import yaml
from llm_server import LLMServer
from workflow_executor.access import OPEN_CALLER
from workflow_executor.api import Executor
from workflow_executor.errors import SpecError
from workflow_executor.mcp import tools
from workflow_executor.mcp.app import app_for
from workflow_executor.models import StepStatus
from workflow_executor.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
FOLDERS = Path(__file__).parent / "folders"


def wfx(tmp: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    e = dict(os.environ, WFX_HOME=str(tmp / "home"), **env)
    return subprocess.run([sys.executable, "-m", "workflow_executor.cli", *args], cwd=ROOT, env=e,
                          capture_output=True, text=True, timeout=60)


def test_wfx_validate_dir_loads_a_langswarm_tool_folder_and_shows_its_warnings(tmp_path: Path) -> None:
    out = wfx(tmp_path, "validate", str(FOLDERS / "support_tool"), "--json")
    assert out.returncode == 0, out.stdout + out.stderr
    [result] = json.loads(out.stdout)
    assert result["valid"] is True
    [warning] = result["warnings"]
    assert warning["path"] == "workflows.use_support_tool.steps[0].output_key"
    assert warning["file"].endswith("support_tool/workflows.yaml")
    text = wfx(tmp_path, "validate", str(FOLDERS / "support_tool"))
    assert "output_key" in text.stdout and "no effect" not in text.stdout.split("output_key")[0]


def test_a_folder_with_an_agent_missing_is_rejected_naming_the_agent_the_step_and_the_file(tmp_path: Path) -> None:
    folder = tmp_path / "broken_tool"
    shutil.copytree(FOLDERS / "support_tool", folder)
    agents = yaml.safe_load((folder / "agents.yaml").read_text())
    del agents["agents"]["request_classifier"]
    (folder / "agents.yaml").write_text(yaml.safe_dump(agents))
    out = wfx(tmp_path, "validate", str(folder), "--json")
    assert out.returncode == 1
    [result] = json.loads(out.stdout)
    [err] = result["errors"]
    assert err["path"] == "workflows.use_support_tool.steps[1].agent"
    assert "request_classifier" in err["message"] and err["fix"]
    assert err["file"].endswith("broken_tool/workflows.yaml")


def test_wfx_run_dir_runs_the_folder(tmp_path: Path) -> None:
    out = wfx(tmp_path, "run", str(FOLDERS / "text_tool"), "--input", '"make it loud"', "--json")
    assert out.returncode == 0, out.stdout + out.stderr
    view = json.loads(out.stdout)
    assert view["status"] == "completed"
    assert view["result"] == "make-it-loud"


def test_the_tool_folder_runs_its_route_with_agents_and_an_mcp_call(tmp_path: Path, wfx: Executor,
                                                                   llm: LLMServer) -> None:
    llm.script("the user wants the workflow list", {"json": {"valid": True, "operation": "list"}})
    wfx.register(FOLDERS / "support_tool")
    run = wfx.run("use_support_tool", "which workflows are there?")
    assert run.status.value == "completed", run.error
    ran = [s for s, r in sorted(run.steps.items(), key=lambda kv: kv[1].seq) if r.status == StepStatus.COMPLETED]
    assert ran == ["normalize_input", "classify_request", "call_tool", "format_response"]
    assert run.steps["call_tool"].output["success"] is True
    assert "use_support_tool" in [w["name"] for w in run.steps["call_tool"].output["available_workflows"]]
    assert llm.requests[0]["messages"][-1]["content"] == ("user_input: which workflows are there?\n"
                                                         "user_query: which workflows are there?\n")
    assert run.result == f"reply to: Found {run.steps['call_tool'].output['total_count']} workflows for: " + \
        json.dumps(run.steps["call_tool"].output, ensure_ascii=False)[:200 - len("Found 1 workflows for: ")]


def test_the_mcp_tools_see_a_config_folder_under_the_workflow_roots_as_one_entry(tmp_path: Path) -> None:
    root = tmp_path / "roots"
    shutil.copytree(FOLDERS, root)
    (root / "unified").mkdir()
    (root / "unified" / "langswarm.yaml").write_text(
        'version: "1.0"\nmemory: true\nworkflows:\n  - id: hello\n    steps:\n'
        '      - {id: s, function: builtins.echo, args: {value: "hi ${user_input}"}}\n')
    s = replace(Settings.from_env({"WFX_HOME": str(tmp_path / "home"), "WFX_WORKFLOW_ROOTS": str(root)}),
                store="memory")
    with Executor.local(settings=s, memory=True) as ex:
        app = app_for(ex.services)
        listed = tools.call(app, OPEN_CALLER, "list_workflows", {}, False).structured
        by_name = {w["name"]: w for w in listed["available_workflows"]}
        assert {"use_support_tool", "shout_text", "hello"} <= set(by_name)
        assert listed["skipped"] == []
        checked = tools.call(app, OPEN_CALLER, "validate_workflow", {"workflow_name": "text_tool"}, False)
        assert checked.structured["valid"] is True
        assert [w["path"] for w in checked.structured["warnings"]] == [
            "workflows.shout_text.name", "workflows.shout_text.steps[0].output.to[0].await"]
        assert all("no effect" in w["message"] for w in checked.structured["warnings"])
        run = tools.call(app, OPEN_CALLER, "execute_workflow",
                         {"workflow_name": "hello", "input_data": {"user_input": "there"}}, False)
        assert run.structured["status"] == "completed" and run.structured["result"] == "hi there"


def test_what_langswarm_rejects_is_still_rejected_with_its_path(tmp_path: Path) -> None:
    folder = tmp_path / "f"
    folder.mkdir()
    (folder / "workflows.yaml").write_text("workflows:\n  w:\n    steps:\n      - {id: a, function: builtins.echo,"
                                           " output: {to: nowhere}}\n")
    (folder / "agents.yaml").write_text("agents: [\n")
    with Executor.local(settings=replace(Settings.from_env({"WFX_HOME": str(tmp_path / "h")}), store="memory"),
                        memory=True) as ex:
        try:
            ex.check(folder)
            raise AssertionError("an unparseable agents.yaml must be rejected")
        except SpecError as exc:
            assert exc.issues[0].file is not None and exc.issues[0].file.endswith("agents.yaml")
        (folder / "agents.yaml").write_text("agents: {}\n")
        try:
            ex.check(folder)
            raise AssertionError("a route to a missing step must be rejected")
        except SpecError as exc:
            assert [(i.path, i.file) for i in exc.issues] == [
                ("workflows.w.steps[0].output.to", str(folder / "workflows.yaml"))]


def test_runtime_leniency_reaches_the_user_in_wfx_run_and_in_the_execution_status(tmp_path: Path) -> None:
    doc = Path(__file__).parent / "corpus" / "27_condition_missing_field.yaml"
    out = wfx(tmp_path, "run", str(doc), "--input", '{"status": "ok"}')
    assert out.returncode == 0, out.stderr
    assert "warning step 'check': output condition could not be evaluated" in out.stderr
    view = json.loads(wfx(tmp_path, "run", str(doc), "--input", '{"status": "ok"}', "--json").stdout)
    [check] = [s for s in view["steps"] if s["id"] == "check"]
    assert "took the else branch" in check["warnings"][0]
    s = replace(Settings.from_env({"WFX_HOME": str(tmp_path / "h")}), store="memory")
    with Executor.local(settings=s, memory=True) as ex:
        ex.register(doc)
        run = ex.run("w", {"status": "ok"})
        app = app_for(ex.services)
        status = tools.call(app, OPEN_CALLER, "check_execution_status", {"execution_id": run.id}, False).structured
        [step] = [st for st in status["steps"] if st["id"] == "check"]
        assert "took the else branch" in step["warnings"][0]
        assert all("warnings" not in st for st in status["steps"] if st["id"] != "check")


def test_a_bare_langswarm_function_name_runs_ours(tmp_path: Path) -> None:
    s = replace(Settings.from_env({"WFX_HOME": str(tmp_path / "h")}), store="memory")
    with Executor.local(settings=s, memory=True) as ex:
        ex.register({"workflows": {"w": {"steps": [
            {"id": "call", "function": "mcp_call",
             "args": {"mcp_url": "local://workflow_executor", "payload": {"name": "list_workflows"}}}]}}})
        run = ex.run("w")
        assert run.status.value == "completed" and run.result["success"] is True
