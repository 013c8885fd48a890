"""Agent steps through the real openai client against the local test server: text and JSON
replies, structured output with one repair turn, the tool loop, and every error class."""

from __future__ import annotations

import json
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from agent_support import Box, Host, agent_settings, doc
from llm_server import LLMServer
from workflow_executor.api import Executor
from workflow_executor.errors import SpecError
from workflow_executor.models import ExecutionStatus
from workflow_executor.ports import Event
from workflow_executor.settings import Settings


def failed_code(ex: Any) -> str:
    assert ex.status == ExecutionStatus.FAILED, ex
    assert ex.error is not None
    return str(ex.error.code)


def test_an_agent_step_answers_with_the_models_text_and_the_rendered_input(wfx: Executor, llm: LLMServer) -> None:
    llm.script("Paris.")
    ex = wfx.run(workflow=doc({"system_prompt": "Be brief.", "temperature": 0.2, "max_tokens": 50}),
                 input="Capital of France?")
    assert ex.status == ExecutionStatus.COMPLETED, ex.error
    assert ex.result == "Paris."
    body = llm.requests[0]
    assert body["model"] == "gpt-4o-mini" and body["temperature"] == 0.2 and body["max_tokens"] == 50
    assert body["messages"] == [{"role": "system", "content": "Be brief."},
                                {"role": "user", "content": "Capital of France?"}]
    assert ex.usage.prompt_tokens > 0 and ex.usage.completion_tokens > 0
    assert ex.usage.cost_usd > 0  # gpt-4o-mini is in the default price table
    assert ex.steps["ask"].usage is not None and ex.steps["ask"].usage.prompt_tokens == ex.usage.prompt_tokens


def test_output_schema_asks_for_structured_output_and_one_repair_turn_fixes_a_bad_reply(
        wfx: Executor, llm: LLMServer) -> None:
    schema = {"type": "object", "properties": {"score": {"type": "integer"}}, "required": ["score"]}
    llm.script("not json at all", {"json": {"score": 7}})
    ex = wfx.run(workflow=doc(step={"output_schema": schema}), input="rate it")
    assert ex.status == ExecutionStatus.COMPLETED, ex.error
    assert ex.result == {"score": 7}
    first, second = llm.requests
    assert first["response_format"]["json_schema"]["schema"] == schema
    repair = second["messages"][-1]
    assert repair["role"] == "user" and "not valid JSON" in repair["content"]
    assert second["messages"][-2] == {"role": "assistant", "content": "not json at all"}


def test_a_reply_still_wrong_after_the_repair_turn_fails_with_invalid_model_output(
        wfx: Executor, llm: LLMServer) -> None:
    schema = {"type": "object", "properties": {"score": {"type": "integer"}}, "required": ["score"]}
    llm.script({"json": {"score": "high"}}, {"json": {"other": 1}})
    ex = wfx.run(workflow=doc({"response_format": {"type": "json_schema", "json_schema": {"schema": schema}}}),
                 input="rate it")
    assert failed_code(ex) == "invalid_model_output"
    assert len(llm.requests) == 2


def test_json_object_format_parses_fenced_json_and_text_agents_keep_text(wfx: Executor, llm: LLMServer) -> None:
    llm.script('```json\n{"a": [1, 2]}\n```')
    ex = wfx.run(workflow=doc({"response_format": "json_object"}), input="x")
    assert ex.result == {"a": [1, 2]}
    assert llm.requests[0]["response_format"] == {"type": "json_object"}
    assert "JSON" in llm.requests[0]["messages"][0]["content"]


def test_the_tool_loop_calls_tools_shows_errors_to_the_model_and_ends_with_text(
        wfx: Executor, llm: LLMServer) -> None:
    def boom() -> str:
        raise RuntimeError("disk on fire")

    box = Box({"lookup": lambda q: {"found": q.upper()}, "boom": boom})
    wfx.engine.tools = Host(box)  # type: ignore[attr-defined]
    llm.script({"tool_calls": [{"name": "lookup", "arguments": {"q": "abc"}}, {"name": "boom", "arguments": {}}]},
               {"tool_calls": [{"name": "nope", "arguments": {}}, {"name": "lookup", "arguments": "{bad"}]},
               "done")
    ex = wfx.run(workflow=doc({"tools": ["lookup", "boom"]}), input="go")
    assert ex.status == ExecutionStatus.COMPLETED, ex.error
    assert ex.result == "done"
    assert [c[:2] for c in box.calls] == [("lookup", {"q": "abc"}), ("boom", {})]
    assert box.calls[0][2].execution_id == ex.id and box.calls[0][2].step_id == "ask"
    second = llm.requests[1]
    assert [t["function"]["name"] for t in second["tools"]] == ["lookup", "boom"]
    tool_msgs = [m for m in second["messages"] if m["role"] == "tool"]
    assert json.loads(tool_msgs[0]["content"]) == {"found": "ABC"}
    assert json.loads(tool_msgs[1]["content"])["error"]["code"] == "tool_failed"
    third = [m for m in llm.requests[2]["messages"] if m["role"] == "tool"][2:]
    assert [json.loads(m["content"])["error"]["code"] for m in third] == ["unknown_tool", "invalid_arguments"]
    assert "not instructions" in second["messages"][0]["content"]


def test_the_tool_loop_is_bounded_by_max_tool_turns(wfx: Executor, llm: LLMServer) -> None:
    wfx.engine.tools = Host(Box({"again": lambda: "more"}))  # type: ignore[attr-defined]
    llm.responder = lambda body: {"tool_calls": [{"name": "again", "arguments": {}}]}
    ex = wfx.run(workflow=doc({"tools": ["again"], "max_tool_turns": 3}), input="loop")
    assert failed_code(ex) == "limit_exceeded"
    assert len(llm.requests) == 4


def test_tool_results_are_cut_to_the_size_limit_and_slow_tools_time_out(
        tmp_path: Path, llm: LLMServer) -> None:
    base = agent_settings(tmp_path, llm)
    s = replace(base, tools=replace(base.tools, max_result_bytes=100, timeout_s=0.1))
    with Executor.local(settings=s) as wfx:
        wfx.engine.tools = Host(Box({"big": lambda: "x" * 5000,  # type: ignore[attr-defined]
                                     "slow": lambda: time.sleep(3) or "late"}))
        llm.script({"tool_calls": [{"name": "big", "arguments": {}}, {"name": "slow", "arguments": {}}]}, "ok")
        ex = wfx.run(workflow=doc({"tools": ["big", "slow"]}), input="x")
    assert ex.status == ExecutionStatus.COMPLETED, ex.error
    big, slow = [m["content"] for m in llm.requests[1]["messages"] if m["role"] == "tool"]
    assert len(big) < 200 and "truncated" in big
    assert json.loads(slow)["error"]["code"] == "tool_timeout"


def test_an_agent_with_tools_and_no_tool_registry_is_a_clear_error(wfx: Executor, llm: LLMServer) -> None:
    wfx.engine.tools = None  # type: ignore[attr-defined]
    ex = wfx.run(workflow=doc({"tools": ["lookup"]}), input="x")
    assert failed_code(ex) == "invalid_argument"
    assert llm.requests == []


@pytest.mark.parametrize(("reply", "code", "calls"), [
    ({"status": 401}, "model_auth_failed", 1),
    ({"status": 404}, "model_not_found", 1),
    ({"status": 400, "code": "context_length_exceeded"}, "context_too_long", 1),
    ({"status": 400, "code": "content_filter"}, "content_filtered", 1),
    ({"text": "", "finish_reason": "content_filter"}, "content_filtered", 1),
    ({"status": 400, "message": "bad temperature"}, "model_request_rejected", 1),
    ({"status": 429}, "model_rate_limited", 3),
    ({"status": 500}, "model_unavailable", 3),
    ({"status": 429, "code": "insufficient_quota"}, "model_rate_limited", 1),
])
def test_each_error_class_has_its_code_and_only_transient_ones_are_retried(
        wfx: Executor, llm: LLMServer, reply: dict[str, Any], code: str, calls: int) -> None:
    llm.responder = lambda body: reply
    ex = wfx.run(workflow=doc({"retries": 2}), input="x")
    assert failed_code(ex) == code
    assert len(llm.requests) == calls


def test_a_transient_failure_then_success_completes_after_backoff(wfx: Executor, llm: LLMServer) -> None:
    llm.script({"status": 429, "headers": {"retry-after-ms": "5"}}, {"status": 503}, "recovered")
    ex = wfx.run(workflow=doc(), input="x")
    assert ex.result == "recovered"
    assert len(llm.requests) == 3


def test_a_slow_model_times_out_per_call_and_is_retried_within_bounds(wfx: Executor, llm: LLMServer) -> None:
    llm.script({"text": "late", "delay_s": 3}, "in time")
    ex = wfx.run(workflow=doc({"timeout": 0.3, "retries": 1}), input="x")
    assert ex.status == ExecutionStatus.COMPLETED, ex.error
    assert ex.result == "in time"


def test_the_servers_key_never_appears_in_an_auth_error(wfx: Executor, llm: LLMServer) -> None:
    llm.script({"status": 401, "message": "Incorrect API key provided: sk-test."})
    ex = wfx.run(workflow=doc(), input="x")
    assert "sk-test" not in json.dumps(ex.model_dump(mode="json"))


def test_without_any_endpoint_agent_steps_fail_with_no_model_configured(tmp_path: Path) -> None:
    s = Settings.from_env({"WFX_HOME": str(tmp_path / "home"), "WFX_STORE": "memory"})
    with Executor.local(settings=s) as wfx:
        ex = wfx.run(workflow=doc(), input="x")
    assert failed_code(ex) == "no_model_configured"


def test_an_unknown_provider_name_fails_naming_the_configured_ones(wfx: Executor, llm: LLMServer) -> None:
    ex = wfx.run(workflow=doc({"provider": "elsewhere"}), input="x")
    assert failed_code(ex) == "not_found"
    assert llm.requests == []
    ok = wfx.run(workflow=doc({"provider": "openai"}), input="x")  # LangSwarm's vendor name: the default
    assert ok.status == ExecutionStatus.COMPLETED


@pytest.mark.parametrize("key", ["base_url", "api_key_env", "api_key"])
def test_a_document_can_never_set_an_endpoint_or_a_key(wfx: Executor, key: str) -> None:
    with pytest.raises(SpecError) as info:
        wfx.check(doc({key: "http://attacker.example/v1"}))
    issue = info.value.issues[0]
    assert issue.path == f"agents.a.{key}" and "provider" in (issue.fix or "")


@pytest.mark.parametrize("agent_type", ["openai", "langchain-openai", "llm", "generic", "ollama", "vllm"])
def test_openai_compatible_agent_types_are_accepted(wfx: Executor, agent_type: str) -> None:
    wfx.check(doc({"agent_type": agent_type}))


def test_other_agent_types_and_bad_formats_are_refused_at_validation(wfx: Executor) -> None:
    with pytest.raises(SpecError) as info:
        wfx.check(doc({"agent_type": "langchain-anthropic", "response_format": "yaml"},
                      step={"output_schema": {"type": "nonsense"}}))
    assert {i.path for i in info.value.issues} == {
        "agents.a.agent_type", "agents.a.response_format", "workflows.w.steps[0].output_schema"}
    by_path = {i.path: i for i in info.value.issues}
    assert "unsupported agent_type" in by_path["agents.a.agent_type"].message


def test_each_model_turn_is_an_event_with_its_usage(wfx: Executor, llm: LLMServer) -> None:
    seen: list[Event] = []
    wfx.services.events.subscribe(seen.append)  # type: ignore[attr-defined]
    llm.script({"text": "hi", "usage": {"prompt_tokens": 1000, "completion_tokens": 500}})
    ex = wfx.run(workflow=doc(), input="x")
    turns = [e for e in seen if e.type == "agent.turn" and e.execution_id == ex.id]
    assert len(turns) == 1
    data = turns[0].data
    assert (data["step"], data["prompt_tokens"], data["completion_tokens"]) == ("ask", 1000, 500)
    assert data["cost_usd"] == pytest.approx((1000 * 0.15 + 500 * 0.60) / 1e6)
    step_done = next(e for e in seen if e.type == "step.completed" and e.execution_id == ex.id)
    assert step_done.data["usage"]["prompt_tokens"] == 1000
    finished = next(e for e in seen if e.type == "execution.completed" and e.execution_id == ex.id)
    assert finished.data["usage"]["cost_usd"] == pytest.approx(data["cost_usd"])
