"""LangSwarm's own MCP tool folders (tool_folders/, copied from the LangSwarm repository) and the
issue-16 idioms that need more than a corpus header: auto-discovered tools offered to the model,
a built-in that cannot run failing validation, config_override warnings, and what LangSwarm itself
cannot run being rejected with a fix."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from llm_server import LLMServer
from workflow_executor.api import Executor
from workflow_executor.errors import SpecError
from workflow_executor.mcp import tools
from workflow_executor.mcp.app import app_for
from workflow_executor.mcp.auth import OPEN_CALLER
from workflow_executor.models import StepStatus
from workflow_executor.settings import Settings

TOOL_FOLDERS = Path(__file__).parent / "tool_folders"
# Tool types being built on other branches (issue 16). Remove a name once its ToolKind is in
# builtin_kinds(): the folders that use it must then validate and run like the others.
# LangSwarm's folders that LangSwarm itself cannot run as written (its workflows name agents its
# agents.yaml does not define, or read variables no step sets): rejected, naming each problem.
LANGSWARM_CANNOT_RUN = {
    "codebase_indexer": {"unknown agent 'input_normalizer'"},
    "dynamic_forms": {"unknown agent 'config_loader'", "'${form_definition}': unknown reference root"},
    "filesystem": {"'${normalized_input}': unknown reference root"},
    "gcp_environment": {"unknown agent 'input_normalizer'"},
    "mcpgithubtool": {"unknown step 'useer'"},
    "message_queue_consumer": {"unknown agent 'input_normalizer'"},
    "message_queue_publisher": {"unknown agent 'message_intent_classifier'"},
    "sql_database": {"unknown agent 'input_normalizer'"},
    "tasklist": {"unknown agent 'task_action_classifier'"},
    "workflow_executor": {"unknown agent 'input_normalizer'"},
}
# folder -> the tool type it declares or calls (local://<tool>)
USES = {"bigquery_vector_search": "bigquery_vector_search", "gcp_environment_2025_09": "gcp_environment"}


def _settings(tmp: Path, **extra: str) -> Settings:
    return replace(Settings.from_env({"WFX_HOME": str(tmp / "home"), **extra}), store="memory")


def test_every_langswarm_tool_folder_is_classified() -> None:
    names = {p.name for p in TOOL_FOLDERS.iterdir() if p.is_dir()}
    assert names == set(LANGSWARM_CANNOT_RUN) | set(USES)


@pytest.mark.parametrize("name", sorted(LANGSWARM_CANNOT_RUN))
def test_a_langswarm_tool_folder_that_langswarm_cannot_run_is_rejected_naming_each_problem(
        name: str, wfx: Executor) -> None:
    with pytest.raises(SpecError) as err:
        wfx.check(TOOL_FOLDERS / name)
    issues = err.value.issues
    assert all(i.fix and i.file and i.file.startswith(str(TOOL_FOLDERS / name)) for i in issues)
    for fragment in LANGSWARM_CANNOT_RUN[name]:
        assert any(fragment in i.message for i in issues), [i.message for i in issues]


def test_the_gcp_environment_folder_validates_and_runs(wfx: Executor, llm: LLMServer) -> None:
    doc, _ = wfx.check(TOOL_FOLDERS / "gcp_environment_2025_09")
    wfx.register(TOOL_FOLDERS / "gcp_environment_2025_09")
    run = wfx.run(doc.workflow().id, {"user_input": "where do I run?"})
    assert run.finished and run.status.value in ("completed", "failed"), run.error


def test_the_bigquery_tool_folder_validates_and_runs_to_its_end(wfx: Executor, llm: LLMServer) -> None:
    _, report = wfx.check(TOOL_FOLDERS / "bigquery_vector_search")
    assert not [w.path for w in report.warnings if "local://bigquery_vector_search" in w.message]
    llm.script({"json": {"operation": "similarity_search", "query": "refund policy"}},
               {"json": {"query": "refund policy", "limit": 3}})
    wfx.register(TOOL_FOLDERS / "bigquery_vector_search")
    run = wfx.run("bigquery_search_workflow", {"user_input": "find the refund policy", "user_query": ""})
    assert run.status.value == "completed", run.error
    ran = {s for s, r in run.steps.items() if r.status == StepStatus.COMPLETED}
    assert {"parse_and_extract", "enhance_and_finalize", "execute_search"} <= ran
    # this server's operator opened no dataset: the call answers success: false with the refusal's
    # code, and the workflow takes LangSwarm's own error branch
    searched = run.steps["execute_search"].output
    assert searched["success"] is False and searched["error"]["code"] == "table_not_allowed", searched
    assert "handle_error" in ran and "format_response" not in ran


def test_an_undeclared_built_in_tool_is_offered_to_the_model_with_its_operations(
        wfx: Executor, llm: LLMServer) -> None:
    wfx.register({"agents": [{"id": "a", "model": "m", "tools": ["mcpfilesystem", "web_search"]}],
                  "workflows": {"w": {"steps": [{"id": "s", "agent": "a"}]}}})
    run = wfx.run("w", "hi")
    assert run.status.value == "completed", run.error
    offered = sorted(t["function"]["name"] for t in llm.requests[0]["tools"])
    assert offered and all(n.startswith("mcpfilesystem__") for n in offered)
    assert "mcpfilesystem__read_file" in offered


def test_a_tool_step_may_name_a_built_in_without_declaring_it(tmp_path: Path) -> None:
    files = tmp_path / "files"
    (files / "notes").mkdir(parents=True)
    (files / "notes" / "a.txt").write_text("alpha")
    with Executor.local(settings=_settings(tmp_path, WFX_FS_ROOTS=f"files={files}"), memory=True) as ex:
        ex.register({"workflows": {"w": {"steps": [
            {"id": "read", "tool": "filesystem", "params": {"method": "read_file", "path": "notes/a.txt"}}]}}})
        run = ex.run("w")
        assert run.status.value == "completed", run.error
        assert "alpha" in str(run.result)
        with pytest.raises(SpecError) as err:
            ex.check({"workflows": {"w": {"steps": [{"id": "t", "tool": "hammer", "params": {}}]}}})
        assert [(i.path, i.severity) for i in err.value.issues] == [("workflows.w.steps[0].tool", "error")]


def test_an_undeclared_built_in_that_cannot_run_here_fails_validation_not_the_run(wfx: Executor) -> None:
    # mcpremote needs the MCP server's URL, which a bare name cannot give
    with pytest.raises(SpecError) as err:
        wfx.check({"agents": [{"id": "a", "model": "m", "tools": ["mcpremote"]}],
                   "workflows": {"w": {"steps": [{"id": "s", "agent": "a"}]}}})
    [issue] = err.value.issues
    assert issue.path == "agents.a.tools[0]" and "cannot run" in issue.message and issue.fix


def test_a_step_written_as_an_arrow_chain_inside_steps_is_rejected_with_the_fix(wfx: Executor) -> None:
    with pytest.raises(SpecError) as err:
        wfx.check({"agents": {"a": {}, "b": {}}, "workflows": {"w": {"steps": ["a -> b"]}}})
    [issue] = err.value.issues
    assert issue.path == "workflows.w.steps[0]" and "simple:" in (issue.fix or "")


def test_config_override_of_a_missing_agent_or_an_unread_section_answers_with_warnings(
        tmp_path: Path, llm: LLMServer) -> None:
    env = {"OPENAI_API_KEY": "k", "OPENAI_BASE_URL": llm.base_url, "WFX_MODEL": "test-model"}
    with Executor.local(settings=_settings(tmp_path, **env), memory=True) as ex:
        ex.register({"agents": [{"id": "writer", "model": "m"}],
                     "workflows": {"w": {"steps": [{"id": "s", "agent": "writer"}]}}})
        app = app_for(ex.services)
        res = tools.call(app, OPEN_CALLER, "execute_workflow", {
            "workflow_name": "w", "input_data": {"user_input": "hi"},
            "config_override": {"agents.analyzer.model": "gpt-4o", "memory": {"backend": "redis"},
                                "agents": {"writer": {"temperature": 0.2}}}}, False).structured
        assert res["status"] == "completed"
        assert sorted(w["path"] for w in res["warnings"]) == ["config_override.agents.analyzer.model",
                                                             "config_override.memory"]
        assert all(w["severity"] == "warning" and w["fix"] for w in res["warnings"])
        plain = tools.call(app, OPEN_CALLER, "execute_workflow", {
            "workflow_name": "w", "input_data": {"user_input": "hi"}, "config_override": {"agents.writer.model": "m2"}},
            False).structured
        assert plain["status"] == "completed" and "warnings" not in plain
