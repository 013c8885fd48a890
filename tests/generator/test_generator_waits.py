"""The generator knows wait steps: "wait for the manager's approval before paying" becomes a wait
for the event 'approval' whose rejection (or timeout) ends the run and whose approval goes on to
the payment; "wait N hours" a sleep; "wait until X" a wait for an event named after X."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from llm_server import LLMServer
from support import eventually
from workflow_executor.api import Executor
from workflow_executor.generator.llm import describe
from workflow_executor.generator.plan import Plan, to_document
from workflow_executor.generator.planner import WAIT, read
from workflow_executor.generator.template import generate
from workflow_executor.generator.tooling import catalogue
from workflow_executor.models import ExecutionStatus
from workflow_executor.settings import Settings

PAY = "Draft the invoice for the customer and wait for the manager's approval before paying it"


def steps(description: str, complexity: str = "simple") -> tuple[str, dict[str, Any], list[dict[str, Any]]]:
    name, doc = generate(description, complexity=complexity)
    return name, doc, doc["workflows"][name]["steps"]


@pytest.mark.parametrize("complexity", ["simple", "medium", "complex"])
@pytest.mark.parametrize("description", [PAY, "Summarise the report. Once the manager approves, publish it",
                                         "Prepare the release notes and publish them after approval"])
def test_an_approval_in_a_description_becomes_a_wait_step_with_an_approval_route(
        description: str, complexity: str) -> None:
    name, doc, got = steps(description, complexity)
    Executor.local(settings=replace(Settings.from_env({}), store="memory")).check(doc, name=name)
    waits = [s for s in got if "wait_for" in s]
    assert len(waits) == 1
    wait = waits[0]
    assert wait["wait_for"]["event"] == "approval"
    assert wait["wait_for"]["payload_schema"]["required"] == ["approved"]
    cond = wait["output"]["to"]["condition"]
    assert "${wait.timed_out}" in cond["if"] and f"${{{wait['id']}.output.approved}}" in cond["if"]
    assert cond["then"] == ["user"] and cond["else"] and cond["else"] != ["user"]
    assert got.index(wait) > 0  # the work before the approval comes first


def test_a_time_and_an_outside_event_become_a_sleep_and_a_named_wait() -> None:
    _, _, slept = steps("Write the newsletter, wait 2 hours, then send it")
    assert [s.get("sleep") for s in slept if "sleep" in s] == [7200.0]
    _, _, waited = steps("Collect the feedback, wait until the survey closes, then write a summary")
    assert [s["wait_for"]["event"] for s in waited if "wait_for" in s] == ["survey_closes"]


def test_the_llm_generator_is_told_of_the_wait_and_its_answer_becomes_a_wait_step() -> None:
    plan = read(PAY)
    assert [st.kind for st in plan.stages].count(WAIT) == 1
    assert "wait for the event 'approval'" in describe(plan)
    answer = Plan.model_validate({"agents": [{"id": "clerk", "system_prompt": "You draft.", "tools": []}], "steps": [
        {"id": "draft", "agent": "clerk", "task": "Draft", "input": "${user_input}", "next": ["approval"]},
        {"id": "approval", "agent": None, "task": "Wait", "input": "", "wait_for_event": "approval",
         "route": {"condition": "${approval.output.approved}", "then": ["pay"], "otherwise": ["user"]}},
        {"id": "pay", "agent": "clerk", "task": "Pay", "input": "${draft.output}", "next": ["user"]}]})
    doc, issues = to_document(answer, "pay", PAY, "simple", {}, {}, catalogue(None, {}))
    assert issues == []
    wait = doc["workflows"]["pay"]["steps"][1]
    assert wait["wait_for"]["event"] == "approval" and "agent" not in wait
    Executor.local(settings=replace(Settings.from_env({}), store="memory")).check(doc, name="pay")


@pytest.fixture
def llm() -> Iterator[LLMServer]:
    with LLMServer() as server:
        yield server


@pytest.mark.parametrize("approved", [True, False])
def test_a_generated_approval_pays_only_when_approved(tmp_path: Path, llm: LLMServer, approved: bool) -> None:
    s = Settings.from_env({"WFX_HOME": str(tmp_path / "home"), "OPENAI_BASE_URL": llm.base_url,
                           "OPENAI_API_KEY": "sk-test", "WFX_MODEL": "gpt-4o-mini"})
    name, doc, _ = steps(PAY)
    llm.script("invoice drafted", "invoice paid")
    with Executor.local(settings=replace(s, store="sqlite")) as wfx:
        wfx.register(doc, name=name)
        ex = wfx.run(name, "order 7")
        assert ex.status == ExecutionStatus.WAITING and ex.wait is not None and ex.wait.event == "approval"
        wfx.send_event(ex.id, "approval", {"approved": approved})
        done = eventually(lambda: (cur := wfx.status(ex.id)).finished and cur, timeout=5.0, what="the run to end")
    assert done.status == ExecutionStatus.COMPLETED, done.error
    assert done.result == ("invoice paid" if approved else {"approved": False})
    assert len(llm.requests) == (2 if approved else 1)
