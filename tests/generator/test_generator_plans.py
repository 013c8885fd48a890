"""Generated workflows do what the description asks: at each complexity, every described case gets
its tools, a conditional route per "if", a branch or iteration per listed item, its loops, named
specialists and child workflows; validates, stays within bounds, covers its plan and runs to
completion against the OpenAI-compatible test server. The LLM generator is repaired when a
scripted model makes the mistakes real models make."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from gen_data import plans_executor
from llm_server import LLMServer
from plan_cases import CASES
from workflow_executor.api import Executor
from workflow_executor.generator import service
from workflow_executor.generator.coverage import check_coverage
from workflow_executor.generator.fit import fit
from workflow_executor.generator.planner import read
from workflow_executor.generator.shape import AGENT_BOUNDS, agents_used, all_steps, check_shape
from workflow_executor.generator.tooling import catalogue
from workflow_executor.models import ExecutionStatus
from workflow_executor.settings import Settings


@pytest.fixture(scope="module")
def llm() -> Iterator[LLMServer]:
    with LLMServer() as server:
        yield server


@pytest.fixture(scope="module")
def wfx(llm: LLMServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Executor]:
    home = tmp_path_factory.mktemp("genplans")
    with plans_executor(home, llm.base_url) as ex:
        yield ex


def _known(ex: Executor) -> Any:
    return lambda n: ex.registry.get(n) is not None


def _generate(ex: Executor, description: str, complexity: str, **kw: Any) -> service.Generation:
    return service.generate(description, validate=lambda d: ex.check(d, name="gen"), name="gen",
                            complexity=complexity, tool_registry=ex.engine.tools, known_workflow=_known(ex), **kw)


def test_there_are_at_least_forty_described_cases() -> None:
    assert len(CASES) >= 40 and len({d for d, _ in CASES}) == len(CASES)


@pytest.mark.parametrize("complexity", ["simple", "medium", "complex"])
def test_each_description_gets_what_it_asks_for_and_runs(wfx: Executor, llm: LLMServer, complexity: str) -> None:
    low, high = AGENT_BOUNDS[complexity]
    for description, want in CASES:
        gen = _generate(wfx, description, complexity)
        assert gen.generator == "template"
        loaded, _ = wfx.check(gen.document, name="gen")
        wf = loaded.workflow("gen")
        steps = list(all_steps(wf.steps))
        agents = agents_used(wf)
        assert low <= len(agents) <= high, (description, agents)
        assert check_shape(loaded, complexity) == [], description
        plan = fit(read(description), complexity, catalogue(wfx.engine.tools), _known(wfx))
        assert check_coverage(loaded, plan) == [], description
        types = {loaded.tools[t].type for a in agents for t in loaded.agents[a].tools}
        assert want.get("tools", set()) <= types, (description, types)
        assert sum(1 for s in steps if s.output and s.output.condition) >= want.get("ifs", 0), description
        assert sum(1 for s in steps if s.loop and s.loop.until) >= want.get("loops", 0), description
        for part in want.get("parts", []):  # one branch or one iteration per listed item
            assert any(part in f"{s.id} {s.input} {s.loop.for_each if s.loop else ''}".lower() for s in steps), (
                description, part)
        if complexity != "simple":
            for word in want.get("agents", []):
                assert any(word in a for a in agents), (description, word, agents)
        if "child" in want:
            assert any(s.invoke_workflow == want["child"] for s in steps), description
        warned = {w.path.rsplit(".", 1)[-1] for w in gen.warnings}
        assert set(want.get("lacks", [])) <= warned, (description, warned)
        llm.reset()
        ex = wfx.run("gen", {"user_input": f"material for: {description[:40]}"}, workflow=gen.document)
        assert ex.status == ExecutionStatus.COMPLETED, (description, complexity, ex.error)
        assert llm.requests, description


def test_a_condition_that_holds_takes_its_branch(wfx: Executor, llm: LLMServer) -> None:
    gen = _generate(wfx, "Summarise the incident report and notify the team if customers were affected", "simple")
    llm.reset()
    llm.responder = lambda body: "summary\nCUSTOMERS_WERE_AFFECTED: YES" if "Finally" in str(
        body["messages"][-1]["content"]) else "team notified"
    try:
        ex = wfx.run("gen", "report", workflow=gen.document)
    finally:
        llm.responder = None
    assert ex.status == ExecutionStatus.COMPLETED and ex.result == "team notified"
    assert len(llm.requests) == 2


def test_a_task_whose_tool_the_server_lacks_is_a_warning_in_the_answer(wfx: Executor) -> None:
    gen = _generate(wfx, "Summarise the logs and email the summary to the team", "medium")
    (warning,) = [w for w in gen.warnings if "email" in w.path]
    assert warning.severity == "warning" and "message_queue_publisher" in warning.message and warning.fix


def test_a_tool_type_an_operator_module_adds_is_offered_by_its_name(wfx: Executor) -> None:
    from workflow_executor.agents.tools.base import OperationsKind

    registry = copy.copy(wfx.engine.tools)
    registry.add(OperationsKind("tasklist", "the operator's own task tracker", lambda tool, env: []))  # type: ignore[attr-defined]
    gen = service.generate("Review the incident report, then create follow-up tasks for the team", name="gen",
                           complexity="medium", validate=lambda d: wfx.check(d, name="gen"), tool_registry=registry)
    assert not gen.warnings
    tracker = next(a for a, cfg in gen.document["agents"].items() if "tasklist" in (cfg.get("tools") or []))
    assert gen.document["tools"]["tasklist"]["type"] == "tasklist", (tracker, gen.document["tools"])


def test_the_publisher_is_offered_once_the_operator_allows_a_topic(wfx: Executor, tmp_path: Path) -> None:
    desc = "Summarise the logs and email the summary to the team"
    closed = service.generate(desc, name="gen", complexity="medium", validate=lambda d: wfx.check(d, name="gen"),
                              tool_registry=wfx.engine.tools)
    assert [w.path for w in closed.warnings] == ["plan.tasks.email_summary"]
    settings = Settings.from_env({"WFX_HOME": str(tmp_path), "WFX_STORE": "memory", "WFX_MQ_TOPICS": "team",
                                  "WFX_FS_ROOTS": f"data={tmp_path}"})
    with Executor.local(settings=settings, memory=True) as open_:
        gen = service.generate(desc, name="gen", complexity="medium", validate=lambda d: open_.check(d, name="gen"),
                               tool_registry=open_.engine.tools)
    assert not gen.warnings
    emailer = next(a for a in gen.document["agents"] if "email" in a)
    assert gen.document["agents"][emailer]["tools"] == ["message_queue_publisher"]


# -- the LLM generator: the plan in its prompt, repairs for what a real model gets wrong -----------------

DESC = "Fetch the orders from the API, then review them for fraud and duplicates in parallel"


def _answer() -> dict[str, Any]:
    step = {"fan_key": None, "is_fan_in": False, "review_loop": None, "route": None, "for_each": None,
            "workflow": None}
    return {
        "agents": [{"id": "order_fetcher", "system_prompt": "You fetch orders.", "tools": ["http_request"]},
                   {"id": "fraud_reviewer", "system_prompt": "You look for fraud.", "tools": []},
                   {"id": "duplicates_reviewer", "system_prompt": "You look for duplicates.", "tools": []}],
        "steps": [
            {**step, "id": "fetch_order", "agent": "order_fetcher", "task": "Fetch the orders",
             "input": "${user_input}", "next": ["review_fraud", "review_duplicates"]},
            {**step, "id": "review_fraud", "agent": "fraud_reviewer", "task": "Review for fraud",
             "input": "${fetch_order.output}", "next": ["collect"], "fan_key": "p"},
            {**step, "id": "review_duplicates", "agent": "duplicates_reviewer", "task": "Review for duplicates",
             "input": "${fetch_order.output}", "next": ["collect"], "fan_key": "p"},
            {**step, "id": "collect", "agent": "order_fetcher", "task": "Combine",
             "input": "${branches.review_fraud} ${branches.review_duplicates}", "next": ["user"], "fan_key": "p",
             "is_fan_in": True}]}


@pytest.fixture
def model(llm: LLMServer, wfx: Executor) -> Iterator[tuple[Any, str]]:
    llm.reset()
    found = service.model_for(wfx.services.settings)
    assert found is not None
    with found[0]:
        yield found


def test_the_plan_and_the_tool_catalogue_are_in_the_prompt(wfx: Executor, llm: LLMServer, model: Any) -> None:
    llm.script("Here is your workflow:\n```json\n" + json.dumps(_answer()) + "\n```\nHope it helps!")
    gen = _generate(wfx, DESC, "medium", model=model)
    assert (gen.generator, gen.llm_calls) == ("llm", 1)  # prose around the JSON is read, not repaired
    system = llm.requests[0]["messages"][0]["content"]
    assert "in parallel, one branch each" in system and "fraud_reviewer" in system
    assert "http_request (type http_request)" in system and "Example 1" in system


@pytest.mark.parametrize(("mistake", "expected"), [
    ("dropped_branch", "need a branch each"),
    ("dropped_tool", "has no http_request tool"),
    ("invented_tool", "unknown tools: web_browser"),
    ("missing_fields", "Field required"),
])
def test_a_model_mistake_is_repaired(wfx: Executor, llm: LLMServer, model: Any, mistake: str, expected: str) -> None:
    bad = _answer()
    if mistake == "dropped_branch":
        bad["steps"] = [dict(bad["steps"][0], next=["review_fraud"]), dict(bad["steps"][1], next=["user"],
                                                                            fan_key=None)]
        bad["agents"] = [*bad["agents"][:2], {"id": "extra", "system_prompt": "x", "tools": []}]
        bad["steps"].append({**bad["steps"][1], "id": "other", "agent": "extra", "task": "Other",
                             "next": [], "input": "${user_input}"})
    elif mistake == "dropped_tool":
        bad["agents"][0]["tools"] = []
    elif mistake == "invented_tool":
        bad["agents"][1]["tools"] = ["web_browser"]
    else:
        del bad["steps"][0]["agent"], bad["steps"][0]["input"]
    llm.script({"json": bad}, {"json": _answer()})
    gen = _generate(wfx, DESC, "medium", model=model)
    assert (gen.generator, gen.llm_calls) == ("llm", 2), gen.llm_errors
    assert expected in llm.requests[1]["messages"][-1]["content"]
    ex = wfx.run("gen", "orders", workflow=gen.document)
    assert ex.status == ExecutionStatus.COMPLETED, ex.error

