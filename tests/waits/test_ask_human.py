"""An agent asks a person (the built-in ``ask_human`` tool): its run parks mid-step as ``waiting``
for an ``answer``, and the answer resumes it as the tool's result, with no model call repeated."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from llm_server import LLMServer
from support import eventually
from workflow_executor.api import Executor
from workflow_executor.errors import WfxError
from workflow_executor.models import ExecutionStatus
from workflow_executor.settings import Settings
from workflow_executor.wait_view import wait_line, wait_view

ASK = {"tool_calls": [{"name": "ask_human", "arguments": {"question": "Pay invoice 7 of 120 EUR?",
                                                          "choices": ["pay", "hold"]}}]}


def doc(steps: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return {"agents": [{"id": "clerk", "agent_type": "openai", "tools": ["ask_human"]}],
            "workflows": {"pay": {"steps": steps or [
                {"id": "decide", "agent": "clerk", "input": "${user_input}"},
                {"id": "after", "function": "builtins.echo", "args": {"value": "${decide.output}"},
                 "output": {"to": "user"}}]}}}


@pytest.fixture
def llm() -> Iterator[LLMServer]:
    with LLMServer() as server:
        yield server


@pytest.fixture(params=["memory", "sqlite"])
def wfx(request: pytest.FixtureRequest, tmp_path: Path, llm: LLMServer) -> Iterator[Executor]:
    s = Settings.from_env({"WFX_HOME": str(tmp_path / "home"), "OPENAI_BASE_URL": llm.base_url,
                           "OPENAI_API_KEY": "sk-test", "WFX_MODEL": "gpt-4o-mini"})
    ex = Executor.local(settings=replace(s, store=request.param, agent_backoff_s=0.01))
    ex.register(doc())
    yield ex
    ex.close()


def ended(wfx: Executor, execution_id: str) -> Any:
    return eventually(lambda: (cur := wfx.status(execution_id)).finished and cur, timeout=5.0,
                      what="the run to end")


def test_an_agent_that_asks_parks_and_resumes_with_the_answer_without_calling_the_model_again(
        wfx: Executor, llm: LLMServer) -> None:
    llm.script(ASK, "paid invoice 7")
    ex = wfx.run("pay", "invoice 7")
    assert ex.status == ExecutionStatus.WAITING
    assert ex.wait is not None and ex.wait.kind == "ask" and ex.wait.event == "answer"
    assert ex.wait.step == "decide" and ex.wait.question == "Pay invoice 7 of 120 EUR?"
    view = wait_view(ex)
    assert view is not None and view["for"] == "answer" and view["choices"] == ["pay", "hold"]
    assert "an answer to 'Pay invoice 7" in wait_line(ex)
    assert len(llm.requests) == 1 and "decide" not in ex.steps  # parked mid-step: nothing checkpointed
    wfx.send_event(ex.id, "answer", "pay", by="alice")
    done = ended(wfx, ex.id)
    assert done.status == ExecutionStatus.COMPLETED, done.error
    assert done.result == "paid invoice 7"
    assert len(llm.requests) == 2  # the asking turn was replayed from the journal, not asked again
    tool_message = llm.requests[1]["messages"][-1]
    assert tool_message["role"] == "tool" and tool_message["content"] == "pay"
    kinds = [t["kind"] for t in wfx.store.load_turns(ex.id, "decide@1")]
    assert kinds == ["model", "tool", "model"]


def test_an_answer_outside_the_choices_is_refused_and_a_second_answer_is_already_delivered(
        wfx: Executor, llm: LLMServer) -> None:
    llm.script(ASK, "held")
    ex = wfx.run("pay", "invoice 7")
    with pytest.raises(WfxError) as bad:
        wfx.send_event(ex.id, "answer", "maybe")
    assert bad.value.code == "invalid_argument"
    wfx.send_event(ex.id, "answer", {"answer": "hold"})
    with pytest.raises(WfxError) as again:
        wfx.send_event(ex.id, "answer", "pay")
    assert again.value.code in ("already_delivered", "not_waiting")
    assert ended(wfx, ex.id).result == "held"
    assert json.loads(json.dumps(llm.requests[1]["messages"][-1]))["content"] == "hold"


def test_two_asks_in_one_step_park_twice_and_each_answer_reaches_its_own_question(
        wfx: Executor, llm: LLMServer) -> None:
    second = {"tool_calls": [{"name": "ask_human", "arguments": {"question": "Which account?"}}]}
    llm.script(ASK, second, "done")
    ex = wfx.run("pay", "invoice 7")
    wfx.send_event(ex.id, "answer", "pay")
    again = eventually(lambda: (cur := wfx.status(ex.id)).status == ExecutionStatus.WAITING
                       and cur.wait is not None and cur.wait.number == 2 and cur, timeout=5.0,
                       what="the second ask")
    assert again.wait.question == "Which account?" and again.wait.choices is None
    wfx.send_event(ex.id, "answer", "ACME-1")
    assert ended(wfx, ex.id).status == ExecutionStatus.COMPLETED
    assert len(llm.requests) == 3
    assert [m["content"] for m in llm.requests[2]["messages"] if m["role"] == "tool"] == ["pay", "ACME-1"]


def test_a_cancelled_ask_ends_cancelled(wfx: Executor, llm: LLMServer) -> None:
    llm.script(ASK)
    ex = wfx.run("pay", "invoice 7")
    assert wfx.cancel(ex.id).status == ExecutionStatus.CANCELLED


def test_asking_inside_a_loop_fails_the_step_with_a_clear_error(wfx: Executor, llm: LLMServer) -> None:
    llm.script(ASK)
    looped = doc([{"id": "decide", "agent": "clerk", "input": "${item}", "loop": {"for_each": ["a"]}}])
    ex = wfx.run(workflow=looped, input="x")
    assert ex.status == ExecutionStatus.FAILED
    assert ex.error is not None and ex.error.code == "invalid_argument" and ex.error.step == "decide"


def test_a_tool_step_that_asks_parks_and_its_output_is_the_answer(wfx: Executor) -> None:
    asks = {"workflows": {"confirm": {"steps": [
        {"id": "confirm", "tool": "ask_human", "params": {"question": "Ship it?", "choices": ["yes", "no"]}},
        {"id": "after", "function": "builtins.echo", "args": {"value": "${confirm.output}"},
         "output": {"to": "user"}}]}}}
    ex = wfx.run(workflow=asks, input={})
    assert ex.status == ExecutionStatus.WAITING and ex.wait is not None and ex.wait.question == "Ship it?"
    wfx.send_event(ex.id, "answer", {"answer": "yes"})
    assert ended(wfx, ex.id).result == "yes"


def test_an_ask_with_a_timeout_that_passes_tells_the_agent_so_and_the_agent_goes_on(
        wfx: Executor, llm: LLMServer) -> None:
    timed = {"tool_calls": [{"name": "ask_human", "arguments": {"question": "Pay invoice 7?", "timeout": 0.3}}]}
    llm.script(timed, "held invoice 7: nobody answered")
    ex = wfx.run("pay", "invoice 7")
    assert ex.status == ExecutionStatus.WAITING and ex.wait is not None
    assert ex.wait.until_s is not None and ex.wait.until_s - ex.wait.since_s == pytest.approx(0.3)
    done = ended(wfx, ex.id)
    assert done.status == ExecutionStatus.COMPLETED and done.result == "held invoice 7: nobody answered"
    told = [json.loads(m["content"]) for m in llm.requests[1]["messages"] if m["role"] == "tool"]
    assert told[0]["error"]["code"] == "timeout" and "Pay invoice 7?" in told[0]["error"]["message"]
    with pytest.raises(WfxError) as late:
        wfx.send_event(ex.id, "answer", {"answer": "pay"})
    assert late.value.code in ("not_waiting", "already_delivered")


def test_a_tool_step_whose_ask_times_out_fails_with_timeout(wfx: Executor) -> None:
    asks = {"workflows": {"confirm": {"steps": [
        {"id": "confirm", "tool": "ask_human", "params": {"question": "Ship it?", "timeout": 0.2}}]}}}
    ex = wfx.run(workflow=asks, input={})
    assert ex.status == ExecutionStatus.WAITING
    done = ended(wfx, ex.id)
    assert done.status == ExecutionStatus.FAILED and done.error is not None
    assert (done.error.code, done.error.step) == ("timeout", "confirm")
