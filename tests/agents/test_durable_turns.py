"""Durable turns: every model reply and tool result of an agent step is journaled before the next
turn, so a resumed step replays them and calls the model only for the turns it never got."""

from __future__ import annotations

from pathlib import Path

from agent_support import Box, Host, agent_settings, doc
from llm_server import LLMServer
from workflow_executor.api import Executor
from workflow_executor.models import ExecutionStatus

TOOLS = {"lookup": lambda q: f"found {q}"}
SCRIPT = ({"tool_calls": [{"name": "lookup", "arguments": {"q": "a"}}]},
          {"tool_calls": [{"name": "lookup", "arguments": {"q": "b"}}]}, "final answer")


def test_a_resumed_agent_step_replays_its_journal_and_calls_the_model_only_for_new_turns(
        tmp_path: Path, llm: LLMServer) -> None:
    with Executor.local(settings=agent_settings(tmp_path, llm, store="sqlite")) as wfx:
        box = Box(TOOLS)
        wfx.engine.tools = Host(box)  # type: ignore[attr-defined]
        llm.script(*SCRIPT)
        first = wfx.run(workflow=doc({"tools": ["lookup"]}), input="go")
        assert first.status == ExecutionStatus.COMPLETED, first.error
        journal = wfx.store.load_turns(first.id, "ask@1")
        assert [t["kind"] for t in journal] == ["model", "tool", "model", "tool", "model"]
        # A second execution that died after its first four turns (both tool rounds) were journaled:
        second = wfx.submit(workflow=doc({"tools": ["lookup"]}), input="go", dispatch=False)
        for i, turn in enumerate(journal[:4]):
            wfx.store.record_turn(second.id, "ask@1", i, turn)
        llm.reset()
        box.calls.clear()
        llm.script("final answer")
        resumed = wfx.engine.run(second.id)
    assert resumed.status == ExecutionStatus.COMPLETED, resumed.error
    assert resumed.result == first.result == "final answer"
    assert len(llm.requests) == 1 and box.calls == []  # only the turn it never got
    # the one call sent the whole replayed conversation
    assert llm.requests[0]["messages"] == [
        *[m for m in llm.requests[0]["messages"][:2]],
        {"role": "assistant", "content": None, "tool_calls": journal[0]["message"]["tool_calls"]},
        {"role": "tool", "tool_call_id": journal[1]["tool_call_id"], "content": "found a"},
        {"role": "assistant", "content": None, "tool_calls": journal[2]["message"]["tool_calls"]},
        {"role": "tool", "tool_call_id": journal[3]["tool_call_id"], "content": "found b"},
    ]
    assert resumed.usage.prompt_tokens >= first.usage.prompt_tokens - 5  # replayed turns still count


def test_each_step_attempt_and_loop_iteration_has_its_own_journal(tmp_path: Path, llm: LLMServer) -> None:
    with Executor.local(settings=agent_settings(tmp_path, llm, store="sqlite")) as wfx:
        llm.script({"tool_calls": [{"name": "lookup", "arguments": {}}]}, {"status": 429}, "second attempt", "x", "y")
        wfx.engine.tools = Host(Box({"lookup": lambda: "ok"}))  # type: ignore[attr-defined]
        ex = wfx.run(workflow=doc({"retries": 0, "tools": ["lookup"]},
                                  step={"retry": {"max_attempts": 2, "backoff_s": 0}}), input="go")
        assert ex.result == "second attempt"
        assert [t["kind"] for t in wfx.store.load_turns(ex.id, "ask@1")] == ["model", "tool"]
        assert [t["message"]["content"] for t in wfx.store.load_turns(ex.id, "ask@2")] == ["second attempt"]
        looped = wfx.run(workflow=doc(step={"loop": {"for_each": ["p", "q"]}, "input": "${item}"}), input="-")
        assert looped.result == ["x", "y"]
        assert wfx.store.load_turns(looped.id, "ask.1@1")[0]["message"]["content"] == "y"
