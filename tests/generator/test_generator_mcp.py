"""generate_workflow / execute_generated_workflow over real HTTP on `wfx serve` configured with a
model (the test LLM server): what the answers say (generator, validation_status, errors,
version), the repair and fallback paths counted from the server's request log, and generated
workflows that run to completion through the agents."""

from __future__ import annotations

import copy
import itertools
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from gen_data import GOOD_MEDIUM
from llm_server import LLMServer
from support import eventually
from wfx_procs import serving
from workflow_executor.generator.llm import MAX_REPAIRS

_ids = itertools.count(1)


@pytest.fixture(scope="module")
def llm() -> Iterator[LLMServer]:
    with LLMServer() as server:
        yield server


@pytest.fixture(scope="module")
def url(llm: LLMServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    home: Path = tmp_path_factory.mktemp("genmcp")
    with serving(home, OPENAI_BASE_URL=llm.base_url, WFX_MODEL="test-model", WFX_STORE="memory") as u:
        yield u
    assert "Traceback" not in (home / "serve.log").read_text()


@pytest.fixture
def fresh(llm: LLMServer) -> LLMServer:
    llm.reset()
    return llm


def tool(url: str, name: str, **arguments: Any) -> tuple[bool, dict[str, Any]]:
    body = {"jsonrpc": "2.0", "id": next(_ids), "method": "tools/call",
            "params": {"name": name, "arguments": arguments}}
    with requests.post(url, json=body, timeout=120) as resp:
        assert resp.status_code == 200
        result = resp.json()["result"]
    return bool(result["isError"]), result["structuredContent"]


def test_an_llm_answer_is_stored_and_the_answer_says_so(url: str, fresh: LLMServer) -> None:
    fresh.script({"json": GOOD_MEDIUM})
    is_error, out = tool(url, "generate_workflow", workflow_description="Assess the plan", workflow_name="g_llm")
    assert not is_error, out
    assert (out["generator"], out["validation_status"], out["errors"], out["version"]) == ("llm", "valid", [], 1)
    assert out["generation"]["llm_calls"] == 1 == len(fresh.requests)
    assert set(out["workflow_config"]["agents"]) == {"reader", "risk", "upside", "editor"}
    fresh.script({"json": GOOD_MEDIUM})
    again = tool(url, "generate_workflow", workflow_description="Assess it again", workflow_name="g_llm")[1]
    assert again["version"] == 2  # the same name, a new version


def test_a_broken_answer_is_repaired_once(url: str, fresh: LLMServer) -> None:
    broken = copy.deepcopy(GOOD_MEDIUM)
    broken["steps"][0]["next"] = ["risks", "nowhere"]
    fresh.script({"json": broken}, {"json": GOOD_MEDIUM})
    is_error, out = tool(url, "generate_workflow", workflow_description="Assess the plan", complexity="medium")
    assert not is_error and out["generator"] == "llm"
    assert out["generation"]["llm_calls"] == 2 == len(fresh.requests)
    assert "unknown step 'nowhere'" in fresh.requests[1]["messages"][-1]["content"]


def test_an_unrepairable_answer_falls_back_to_the_template_and_says_why(url: str, fresh: LLMServer) -> None:
    fresh.responder = lambda body: "not json at all"
    try:
        is_error, out = tool(url, "generate_workflow", workflow_description="Summarise the incident reports",
                             complexity="simple")
    finally:
        fresh.responder = None
    assert not is_error, out
    assert (out["generator"], out["validation_status"]) == ("template", "valid")
    assert len(fresh.requests) == 1 + MAX_REPAIRS == out["generation"]["llm_calls"]
    assert "repair" in out["generation"]["fallback_reason"]
    assert out["generation"]["llm_errors"][0]["message"].startswith("the answer is not JSON")


def test_a_bad_agents_config_is_a_clear_error_and_nothing_is_asked(url: str, fresh: LLMServer) -> None:
    is_error, out = tool(url, "generate_workflow", workflow_description="Summarise the notes",
                         agents_config={"writer": {"base_url": "http://elsewhere.example/v1"}})
    assert is_error and (out["code"], out["field"]) == ("invalid_argument", "agents_config")
    assert fresh.requests == []


def test_execute_generated_workflow_says_how_it_was_generated_and_runs_through_the_agents(
        url: str, fresh: LLMServer) -> None:
    fresh.script({"json": GOOD_MEDIUM})
    is_error, out = tool(url, "execute_generated_workflow", workflow_description="Assess the plan",
                         input_data={"user_input": "a plan"})
    assert not is_error, out
    assert (out["generator"], out["validation_status"], out["errors"], out["status"]) == (
        "llm", "valid", [], "completed")
    assert out["version"] >= 1
    # one call designed the workflow, then one per agent step: read, two branches, the report
    assert len(fresh.requests) == 1 + 4
    assert out["result"].startswith("reply to:")


def test_a_complex_template_workflow_runs_through_the_agents_over_mcp(url: str, fresh: LLMServer) -> None:
    fresh.responder = lambda body: ("not json" if body.get("response_format") else
                                    "APPROVED" if "APPROVED" in body["messages"][-1]["content"] else "work")
    try:
        is_error, out = tool(url, "execute_generated_workflow", complexity="complex",
                             workflow_description="Audit the Terraform files for security and cost; write a report",
                             input_data={"user_input": "resource x {}"})
    finally:
        fresh.responder = None
    assert not is_error, out
    assert (out["generator"], out["status"]) == ("template", "completed")
    assert out["generation"]["llm_calls"] == 1 + MAX_REPAIRS
    assert out["result"] == {"draft": "work", "review": "APPROVED"}
    top = [s for s in out["workflow_config"]["workflows"][out["workflow_name"]]["steps"] if s.get("agent")]
    assert len(fresh.requests) == 1 + MAX_REPAIRS + len(top) + 2  # + one draft/review round


# -- the seed's three examples through execute_generated_workflow, with the agents and tools it lists -----

@pytest.fixture(scope="module")
def seed_url(llm: LLMServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    home: Path = tmp_path_factory.mktemp("genseed")
    (home / "docs").mkdir()
    (home / "docs" / "report.txt").write_text("Q3 report: revenue 1.2M\n")
    with serving(home, OPENAI_BASE_URL=llm.base_url, WFX_MODEL="test-model", WFX_STORE="memory",
                 WFX_FS_ROOTS=f"docs={home / 'docs'}") as u:
        yield u


@pytest.fixture
def no_design(fresh: LLMServer) -> Iterator[LLMServer]:
    """The model cannot design workflows (the template builds them) but its agents answer."""
    fresh.responder = lambda body: "not json" if body.get("response_format") else "done"
    yield fresh
    fresh.responder = None


def _tools_of(config: dict[str, Any]) -> dict[str, set[str]]:
    return {aid: {config["tools"][t]["type"] for t in a.get("tools") or ()} for aid, a in config["agents"].items()}


def test_seed_example_1_the_document_pipeline_completes(seed_url: str, no_design: LLMServer) -> None:
    is_error, out = tool(seed_url, "execute_generated_workflow", complexity="medium",
                         workflow_description="Create a workflow that processes documents, extracts key "
                                              "information, and creates summaries",
                         input_data={"file_path": "docs/report.txt"})
    assert not is_error and out["status"] == "completed", out
    tools = _tools_of(out["workflow_config"])
    assert "filesystem" in tools["document_processor"]
    assert any("extractor" in a for a in tools) and any("summar" in a for a in tools)


def test_seed_example_2_the_code_analysis_completes(seed_url: str, no_design: LLMServer) -> None:
    is_error, out = tool(seed_url, "execute_generated_workflow", complexity="complex",
                         workflow_description="Analyze codebase for security vulnerabilities and performance issues",
                         input_data={"repository": "docs"})
    assert not is_error and out["status"] == "completed", out
    tools = _tools_of(out["workflow_config"])
    assert {"security_analyzer", "performance_analyzer", "code_reviewer", "report_generator"} <= set(tools)
    assert "codebase_indexer" in tools["security_analyzer"] and "codebase_indexer" in tools["performance_analyzer"]


def test_seed_example_3_an_async_run_is_monitored_to_completion(seed_url: str, no_design: LLMServer) -> None:
    is_error, out = tool(seed_url, "execute_generated_workflow", execution_mode="async",
                         workflow_description="Process sales data and create performance dashboard",
                         input_data={"data_source": "docs/report.txt"})
    assert not is_error and out["execution_id"], out
    done = eventually(lambda: (lambda s: s if s["status"] == "completed" else None)(
        tool(seed_url, "check_execution_status", execution_id=out["execution_id"])[1]), timeout=60,
        what="the async run to complete")
    assert done["progress"] and done["result"]


def test_the_complexity_help_that_callers_read_says_what_each_level_gives() -> None:
    """The tools/list description of ``complexity`` states the generator's own bounds and tool
    suites (each level's text, with the levels before it, names every tool of its suite)."""
    from workflow_executor.generator.shape import AGENT_BOUNDS
    from workflow_executor.generator.tooling import SUITES
    from workflow_executor.mcp.schemas import COMPLEXITY_HELP

    for level, (low, high) in AGENT_BOUNDS.items():
        start = COMPLEXITY_HELP.index(f"{level}: ")
        end = COMPLEXITY_HELP.find(";", start)
        upto = COMPLEXITY_HELP[:end if end > 0 else len(COMPLEXITY_HELP)]
        assert COMPLEXITY_HELP[start:].startswith(f"{level}: {low}-{high} agents")
        assert [t for t in SUITES[level] if t not in upto] == []
