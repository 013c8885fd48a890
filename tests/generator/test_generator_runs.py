"""Generated workflows really run: every description x complexity runs to completion through
the agent runner (the real openai client) against the test LLM server, one model call per
agent step that ran; and the seed's examples run against it too."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from gen_data import DESCRIPTIONS, flat_steps
from llm_server import LLMServer
from workflow_executor.api import Executor
from workflow_executor.generator import template
from workflow_executor.models import ExecutionStatus, StepStatus
from workflow_executor.settings import Settings

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def llm() -> Iterator[LLMServer]:
    with LLMServer() as server:
        yield server


def executor(llm: LLMServer, home: Path, **env: str) -> Executor:
    settings = Settings.from_env({"WFX_HOME": str(home), "WFX_STORE": "memory", "OPENAI_BASE_URL": llm.base_url,
                                  "WFX_MODEL": "test-model", **env})
    return Executor.local(settings=settings, memory=True)


@pytest.fixture(scope="module")
def wfx(llm: LLMServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Executor]:
    ex = executor(llm, tmp_path_factory.mktemp("genruns"))
    yield ex
    ex.close()


def _agent_steps(ex: Any) -> int:
    """Agent steps that ran, loop iterations counted (a loop's attempts count its body's steps)."""
    return sum(1 for r in ex.steps.values() if r.status == StepStatus.COMPLETED and r.step_id)


@pytest.mark.parametrize("complexity", ["simple", "medium", "complex"])
def test_every_generated_workflow_runs_to_completion_against_the_llm_server(
        wfx: Executor, llm: LLMServer, complexity: str) -> None:
    for description in DESCRIPTIONS:
        name, doc = template.generate(description, complexity=complexity)
        llm.reset()
        ex = wfx.run(name, {"user_input": f"material for: {description[:40]}"}, workflow=doc)
        assert ex.status == ExecutionStatus.COMPLETED, (description, ex.error)
        ran = [r for r in ex.steps.values() if r.status == StepStatus.COMPLETED]
        agent_ids = {s["id"] for s in flat_steps(doc["workflows"][name]["steps"]) if s.get("agent")}
        asked = {m["content"] for r in llm.requests for m in r["messages"] if m["role"] == "system"}
        used = {s["agent"] for s in flat_steps(doc["workflows"][name]["steps"]) if s.get("agent")}
        assert asked <= {doc["agents"][a]["system_prompt"] for a in used}  # only the document's agents answered
        assert len(llm.requests) >= sum(1 for r in ran if r.step_id in agent_ids) >= 1, description


def test_a_review_that_approves_ends_the_loop_early(wfx: Executor, llm: LLMServer) -> None:
    name, doc = template.generate("Research the market; then write a report", complexity="complex")
    llm.reset()
    llm.responder = lambda body: ("APPROVED - ready to send" if "APPROVED" in body["messages"][-1]["content"]
                                  else "draft text")
    try:
        ex = wfx.run(name, "notes", workflow=doc)
    finally:
        llm.responder = None
    assert ex.status == ExecutionStatus.COMPLETED, ex.error
    assert ex.result == {"draft": "draft text", "review": "APPROVED - ready to send"}
    loop = next(s for s in doc["workflows"][name]["steps"] if "loop" in s)
    reviews = [r for r in llm.requests if "APPROVED" in r["messages"][-1]["content"]]
    assert len(reviews) == 1  # one round: the first review approved
    assert ex.steps[loop["id"]].attempts == 1  # loop iterations are not retries


EXAMPLES: dict[str, Any] = {
    "document_pipeline": {"input_text": (ROOT / "examples/data/invoice.txt").read_text()},
    "code_analysis": {"input_text": (ROOT / "examples/data/sample_code.txt").read_text()},
    "feedback_actions": {"input_text": (ROOT / "examples/data/feedback.txt").read_text()},
    "sales_dashboard": {"input": {"file": "sales.csv"}},
}


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_each_scenario_example_runs_against_an_openai_compatible_endpoint(
        llm: LLMServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    given = EXAMPLES[name]
    llm.reset()
    monkeypatch.setenv("WFX_FILES_ROOT", str(ROOT / "examples" / "data"))  # the file built-ins read it
    with executor(llm, tmp_path) as wfx:
        ex = wfx.run(workflow=ROOT / "examples" / f"{name}.yaml",
                     input=given.get("input", given.get("input_text")))
    assert ex.status == ExecutionStatus.COMPLETED, ex.error
    assert llm.requests, "the agents asked the model"
    users = " ".join(str(m["content"]) for r in llm.requests for m in r["messages"] if m["role"] == "user")
    if "input_text" in given:  # the document itself reached the agents
        first_line = given["input_text"].splitlines()[0]
        assert first_line in users
    else:
        assert re.search(r"\b5 rows\b", users)  # the built-in's exact numbers reached the writer
