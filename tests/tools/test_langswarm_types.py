"""LangSwarm's tool ``type`` names (its ``langswarm/tools/mcp/*`` folders and docs) map onto the
built-ins; its generic ``type: mcp`` picks a built-in by id (or mcpremote by ``mcp_url``); a type
nobody knows is a validation error naming it and the known ones."""

from __future__ import annotations

from pathlib import Path

import pytest
from tools_support import executor
from workflow_executor.agents.tools.base import ToolEnv
from workflow_executor.agents.tools.registry import ToolRegistry
from workflow_executor.errors import SpecError
from workflow_executor.models import ExecutionStatus
from workflow_executor.spec.model import Tool


@pytest.mark.parametrize(("declared", "kind"), [
    ({"type": "mcpfilesystem"}, "filesystem"),
    ({"type": "filesystem"}, "filesystem"),
    ({"type": "mcpcodebase_indexer", "root_path": "./src"}, "codebase_indexer"),
    ({"type": "mcpremote", "mcp_url": "https://x.example/mcp"}, "mcpremote"),
    ({"type": "mcpworkflow_executor"}, "workflow_executor"),
    ({"type": "http_request"}, "http_request"),
    ({"type": "function", "function": "builtins.echo"}, "function"),
    ({"type": "mcp", "local_mode": True}, "filesystem"),            # LangSwarm's smart defaults: id says which
    ({"type": "mcp", "mcp_url": "https://x.example/mcp"}, "mcpremote"),
])
def test_langswarm_type_names_map_onto_the_built_ins(declared: dict[str, object], kind: str) -> None:
    reg = ToolRegistry.from_env(ToolEnv())
    assert reg.kind_of(Tool.model_validate({"id": "filesystem", **declared})).name == kind


def test_the_generic_type_also_finds_a_built_in_by_an_mcp_prefixed_id() -> None:
    reg = ToolRegistry.from_env(ToolEnv())
    assert reg.kind_of(Tool(id="mcpcodebase_indexer", type="mcp")).name == "codebase_indexer"
    assert reg.kind_of(Tool(id="workflow-executor", type="builtin")).name == "workflow_executor"


@pytest.mark.parametrize("type_", ["mcpdaytona_environment", "mcprealtime_voice", "teleporter"])
def test_a_type_this_server_cannot_run_is_an_error_naming_it_and_the_known_ones(tmp_path: Path, type_: str) -> None:
    wf = f"""
tools: [{{id: t, type: {type_}}}]
agents: [{{id: a, tools: [t]}}]
workflows: {{w: {{steps: [{{id: s, agent: a, input: x}}]}}}}
"""
    with executor(tmp_path) as wfx, pytest.raises(SpecError) as err:
        wfx.check(wf)
    issue = err.value.issues[0]
    assert issue.path == "tools.t.type"
    for name in (type_, "filesystem", "codebase_indexer", "http_request", "mcpremote", "workflow_executor"):
        assert name in issue.message
    assert "mcpfilesystem" in issue.message  # the LangSwarm names are listed too
    assert f"WFX_TOOL_SERVERS={type_}=" in issue.message and "WFX_TOOL_MODULES" in issue.message  # how to add it


def test_a_langswarm_codebase_tool_with_root_path_runs_inside_the_roots(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    (repo / "src").mkdir(parents=True)
    (repo / "src" / "a.py").write_text("def handler():\n    pass\n")
    (repo / "b.py").write_text("def other():\n    pass\n")
    wf = """
tools:
  - id: codebase_analyzer
    type: mcpcodebase_indexer
    description: "Enhanced codebase analysis"
    root_path: "./src"
workflows:
  w:
    steps:
      - {id: s, tool: codebase_analyzer, params: {method: find_symbols, name: "*"}, output: {to: user}}
"""
    with executor(tmp_path, {"WFX_FS_ROOTS": f"repo={repo}"}) as wfx:
        done = wfx.run(workflow=wf)
    assert done.status == ExecutionStatus.COMPLETED, done.error
    assert [s["path"] for s in done.result["symbols"]] == ["repo/src/a.py"]
