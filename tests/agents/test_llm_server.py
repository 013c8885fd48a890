"""The test LLM server speaks what the official openai client expects: text, tool calls, JSON
mode and json_schema, usage, OpenAI-shaped errors, slow answers, in a thread and as a process."""

from __future__ import annotations

import json
import os

import openai
import pytest
from llm_server import LLMServer, minimal_instance


def client(base_url: str, key: str = "sk-test", **kw: object) -> openai.OpenAI:
    return openai.OpenAI(base_url=base_url, api_key=key, max_retries=0, **kw)  # type: ignore[arg-type]


def ask(c: openai.OpenAI, text: str = "hello", **kw: object) -> object:
    return c.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": text}],
                                     **kw)  # type: ignore[call-overload]


def test_scripted_text_tool_calls_and_json_reach_the_openai_client_in_order() -> None:
    with LLMServer() as llm, client(llm.base_url) as c:
        llm.script("first", {"tool_calls": [{"name": "lookup", "arguments": {"q": "x"}}]}, {"json": {"a": 1}},
                   {"text": "custom", "usage": {"prompt_tokens": 7, "completion_tokens": 3}})
        r1 = ask(c)
        assert r1.choices[0].message.content == "first"  # type: ignore[attr-defined]
        assert r1.choices[0].finish_reason == "stop"  # type: ignore[attr-defined]
        r2 = ask(c)
        call = r2.choices[0].message.tool_calls[0]  # type: ignore[attr-defined]
        assert r2.choices[0].finish_reason == "tool_calls"  # type: ignore[attr-defined]
        assert (call.function.name, json.loads(call.function.arguments)) == ("lookup", {"q": "x"})
        assert call.id
        r3 = ask(c)
        assert json.loads(r3.choices[0].message.content) == {"a": 1}  # type: ignore[attr-defined]
        r4 = ask(c)
        assert (r4.usage.prompt_tokens, r4.usage.completion_tokens, r4.usage.total_tokens) == (7, 3, 10)  # type: ignore[attr-defined]
        assert len(llm.requests) == 4
        assert llm.requests[0]["messages"] == [{"role": "user", "content": "hello"}]


def test_without_a_script_it_answers_from_the_last_user_message_with_usage() -> None:
    with LLMServer() as llm, client(llm.base_url) as c:
        r = ask(c, "what is up")
        assert "what is up" in (r.choices[0].message.content or "")  # type: ignore[attr-defined]
        assert r.usage.prompt_tokens > 0 and r.usage.completion_tokens > 0  # type: ignore[attr-defined]
        longer = ask(c, "what is up" * 50)
        assert longer.usage.prompt_tokens > r.usage.prompt_tokens  # type: ignore[attr-defined]


def test_json_schema_requests_get_an_object_that_satisfies_the_schema() -> None:
    schema = {"type": "object", "properties": {
        "name": {"type": "string", "minLength": 2}, "n": {"type": "integer", "minimum": 3},
        "tags": {"type": "array", "items": {"$ref": "#/$defs/Tag"}, "minItems": 1},
        "kind": {"enum": ["a", "b"]}, "opt": {"type": "string"}},
        "required": ["name", "n", "tags", "kind"], "$defs": {"Tag": {"type": "object", "properties": {
            "v": {"type": "boolean"}}, "required": ["v"]}}}
    with LLMServer() as llm, client(llm.base_url) as c:
        r = ask(c, response_format={"type": "json_schema", "json_schema": {"name": "x", "schema": schema}})
        got = json.loads(r.choices[0].message.content)  # type: ignore[attr-defined]
        assert got == {"name": "xx", "n": 3, "tags": [{"v": False}], "kind": "a"}
        r = ask(c, "hi", response_format={"type": "json_object"})
        assert isinstance(json.loads(r.choices[0].message.content), dict)  # type: ignore[attr-defined]


def test_responder_decides_once_the_script_is_empty() -> None:
    with LLMServer() as llm, client(llm.base_url) as c:
        llm.script("scripted")
        llm.responder = lambda body: f"{len(body['messages'])} messages"
        assert ask(c).choices[0].message.content == "scripted"  # type: ignore[attr-defined]
        assert ask(c).choices[0].message.content == "1 messages"  # type: ignore[attr-defined]


@pytest.mark.parametrize(("status", "exc", "code"), [
    (401, openai.AuthenticationError, "invalid_api_key"),
    (404, openai.NotFoundError, "model_not_found"),
    (429, openai.RateLimitError, "rate_limit_exceeded"),
    (500, openai.InternalServerError, None),
])
def test_error_answers_are_shaped_like_openais(status: int, exc: type[openai.APIStatusError], code: str | None) -> None:
    with LLMServer() as llm, client(llm.base_url) as c:
        llm.script({"status": status})
        with pytest.raises(exc) as info:
            ask(c)
        assert info.value.status_code == status
        assert info.value.code == code
        assert info.value.message


def test_context_length_and_content_filter_answers() -> None:
    with LLMServer() as llm, client(llm.base_url) as c:
        llm.script({"status": 400, "code": "context_length_exceeded"}, {"text": "", "finish_reason": "content_filter"})
        with pytest.raises(openai.BadRequestError) as info:
            ask(c)
        assert info.value.code == "context_length_exceeded"
        assert ask(c).choices[0].finish_reason == "content_filter"  # type: ignore[attr-defined]


def test_a_slow_answer_times_the_client_out_and_a_known_model_list_refuses_others() -> None:
    with LLMServer(models=["only-this"], api_key="sk-right") as llm:
        with client(llm.base_url, "sk-wrong") as c, pytest.raises(openai.AuthenticationError):
            ask(c)
        with client(llm.base_url, "sk-right", timeout=0.2) as c:
            with pytest.raises(openai.NotFoundError):
                ask(c)
            llm.script({"text": "late", "delay_s": 5})
            with pytest.raises(openai.APITimeoutError):
                c.chat.completions.create(model="only-this", messages=[{"role": "user", "content": "x"}])
            assert [m.id for m in c.models.list()] == ["only-this"]
        assert llm.request_headers[0]["authorization"] == "Bearer sk-wrong"


def test_minimal_instance_handles_nullable_and_exclusive_bounds() -> None:
    assert minimal_instance({"type": ["null", "number"], "exclusiveMinimum": 0}) == 1
    assert minimal_instance({"anyOf": [{"type": "null"}, {"type": "string"}]}) == ""
    assert minimal_instance({"const": 5}) == 5


def test_the_child_process_is_scripted_over_http_and_stops_by_its_group() -> None:
    with LLMServer.process() as llm:
        llm.script("from a process", {"status": 429})
        with client(llm.base_url) as c:
            assert ask(c).choices[0].message.content == "from a process"  # type: ignore[attr-defined]
            with pytest.raises(openai.RateLimitError):
                ask(c)
        assert [r["messages"][0]["content"] for r in llm.requests] == ["hello", "hello"]
        llm.reset()
        assert llm.requests == []
        pid = llm.pid
        assert os.getpgid(pid) == pid  # its own process group
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)  # reaped: no such process
