"""Usage, cost and budgets: per turn, step and execution; a budget on a workflow, a request or an
API key stops a runaway agent loop before the model call that would cross it; children count
against parents. (Parallel calls and the daily key limit: test_budget_ledger.py.)"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import requests
from agent_support import Box, Host, agent_settings, doc
from llm_server import LLMServer
from werkzeug.serving import make_server
from workflow_executor.api import Executor
from workflow_executor.cli import main as wfx_main
from workflow_executor.mcp.auth import create_key
from workflow_executor.mcp.serve import wsgi_app
from workflow_executor.models import Budget, ExecutionStatus
from workflow_executor.services import build

USAGE = {"prompt_tokens": 100, "completion_tokens": 10}  # $0.0000210 a turn on gpt-4o-mini
TEN = {"completion_tokens": 10}  # the server counts the prompt itself (about 4 characters a token)


def looping(llm: LLMServer) -> None:
    """The model asks for a tool forever: only a limit stops it."""
    llm.responder = lambda body: {"tool_calls": [{"name": "again", "arguments": {}}], "usage": TEN}


def spent(llm: LLMServer) -> tuple[int, float]:
    """Tokens and gpt-4o-mini dollars the model server counted over all its answers."""
    tokens = sum(u["prompt_tokens"] + u["completion_tokens"] for u in llm.usages)
    cost = sum(u["prompt_tokens"] * 0.15 + u["completion_tokens"] * 0.6 for u in llm.usages) / 1e6
    return tokens, cost


def test_a_workflow_token_budget_stops_a_runaway_loop_before_the_call_that_would_cross_it(
        wfx: Executor, llm: LLMServer) -> None:
    wfx.engine.tools = Host(Box({"again": lambda: "more"}))  # type: ignore[attr-defined]
    looping(llm)
    ex = wfx.run(workflow=doc({"tools": ["again"], "max_tool_turns": 50}, workflow={"max_tokens": 2000}), input="x")
    assert ex.status == ExecutionStatus.FAILED and ex.error is not None
    assert ex.error.code == "budget_exceeded"
    tokens, _ = spent(llm)
    assert len(llm.requests) >= 3 and tokens <= 2000  # several turns, never past the budget
    assert ex.usage.prompt_tokens + ex.usage.completion_tokens == tokens  # what it spent still counts
    assert ex.steps["ask"].usage is not None and ex.steps["ask"].usage.prompt_tokens == ex.usage.prompt_tokens


def test_a_request_cost_budget_and_the_stricter_limit_wins(wfx: Executor, llm: LLMServer) -> None:
    wfx.engine.tools = Host(Box({"again": lambda: "more"}))  # type: ignore[attr-defined]
    looping(llm)
    ex = wfx.submit(workflow=doc({"tools": ["again"], "max_tool_turns": 50}, workflow={"max_tokens": 100_000}),
                    input="x", budget=Budget(max_cost_usd=0.0002))
    assert ex.error is not None and ex.error.code == "budget_exceeded"
    tokens, cost = spent(llm)
    assert len(llm.requests) >= 2 and cost <= 0.0002 and tokens < 100_000
    assert ex.usage.cost_usd == pytest.approx(cost)


def test_children_count_against_their_parents_budget(wfx: Executor, llm: LLMServer) -> None:
    llm.responder = lambda body: {"text": "ok", "usage": TEN}  # 5 prompt tokens ("p": 1 + 4 framing) + 10
    parent = {"agents": [{"id": "a", "agent_type": "openai"}], "workflows": {
        "parent": {"max_tokens": 65, "steps": [
            {"id": "first", "agent": "a", "input": "p"},
            {"id": "kid", "invoke_workflow": "child", "input": "c"}]},
        "child": {"steps": [{"id": "c1", "agent": "a", "input": "c1"}, {"id": "c2", "agent": "a", "input": "c2"},
                            {"id": "c3", "agent": "a", "input": "c3"}]}}}
    ex = wfx.run("parent", workflow=parent, input="x")
    assert ex.status == ExecutionStatus.FAILED
    child = wfx.status(f"{ex.id}.kid")
    assert child.error is not None and child.error.code == "budget_exceeded"
    assert "parent execution" in child.error.message
    # the parent's turn and two of the child's (45 tokens); a third could need 9 + 16 of the 20 left
    assert len(llm.requests) == 3 and spent(llm)[0] == 45
    assert set(child.steps) == {"c1", "c2", "c3"} and child.steps["c3"].status.value == "failed"
    assert ex.usage.prompt_tokens + ex.usage.completion_tokens == 45


def test_status_and_the_cli_show_usage_and_cost(tmp_path: Path, llm: LLMServer,
                                                capsys: pytest.CaptureFixture[str],
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    s = agent_settings(tmp_path, llm, store="sqlite")
    llm.script({"text": "hello", "usage": {"prompt_tokens": 1200, "completion_tokens": 34}})
    with Executor.local(settings=s) as wfx:
        ex = wfx.run(workflow=doc(), input="x")
    for key, value in {"WFX_HOME": str(s.home), "OPENAI_BASE_URL": llm.base_url}.items():
        monkeypatch.setenv(key, value)
    assert wfx_main(["status", ex.id]) == 0
    assert "usage: 1,200 prompt + 34 completion tokens, $0.0002" in capsys.readouterr().out


@pytest.fixture
def keyed(tmp_path: Path, llm: LLMServer) -> Iterator[tuple[str, str, str]]:
    """A real HTTP MCP endpoint with two keys: one with a token budget, one without."""
    s = replace(agent_settings(tmp_path, llm), api_keys_file=tmp_path / "keys.json")
    limited = create_key(s, ["run", "read"], None, "limited", Budget(max_tokens=150))
    free = create_key(s, ["run", "read"], None, "free")
    services = build(s)
    server = make_server("127.0.0.1", 0, wsgi_app(services), threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/", limited, free
    finally:
        server.shutdown()
        server.server_close()
        thread.join(10)
        services.close()


def call(url: str, key: str, name: str, **arguments: Any) -> dict[str, Any]:
    body = {"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": name, "arguments": arguments}}
    resp = requests.post(url, json=body, headers={"Authorization": f"Bearer {key}"}, timeout=30)
    assert resp.status_code == 200, resp.text
    result: dict[str, Any] = resp.json()["result"]
    return result


def test_an_api_key_budget_and_a_request_budget_apply_over_mcp(keyed: tuple[str, str, str], llm: LLMServer) -> None:
    url, limited, free = keyed
    # 65 tokens a call; a third call would need 8 prompt tokens + 16 for the reply, and 20 are left
    llm.responder = lambda body: {"text": "ok", "usage": {"prompt_tokens": 5, "completion_tokens": 60}}
    three = {"agents": [{"id": "a", "agent_type": "openai"}], "workflows": {"w": {"steps": [
        {"id": f"s{i}", "agent": "a", "input": "x"} for i in range(3)]}}}
    capped = call(url, limited, "execute_workflow", workflow=three, input_data={})
    assert capped["isError"] and capped["structuredContent"]["code"] == "budget_exceeded"
    assert len(llm.requests) == 2
    requested = call(url, free, "execute_workflow", workflow=three, input_data={}, max_tokens=150)
    assert requested["structuredContent"]["code"] == "budget_exceeded"
    assert len(llm.requests) == 4
    fine = call(url, free, "execute_workflow", workflow=three, input_data={})
    assert not fine["isError"]
    status = call(url, free, "check_execution_status", execution_id=fine["structuredContent"]["execution_id"])
    view = status["structuredContent"]
    assert view["usage"]["prompt_tokens"] == 15 and view["usage"]["cost_usd"] > 0
    assert [s["usage"]["completion_tokens"] for s in view["steps"]] == [60, 60, 60]


def test_a_cost_budget_on_a_model_without_a_price_fails_before_any_call(wfx: Executor, llm: LLMServer) -> None:
    ex = wfx.run(workflow=doc({"model": "my-local-model"}, workflow={"max_cost_usd": 1.0}), input="x")
    assert ex.error is not None and ex.error.code == "budget_exceeded"
    assert "WFX_PRICES" in str(ex.error.details)
    assert llm.requests == []
    tokens_only = wfx.run(workflow=doc({"model": "my-local-model"}, workflow={"max_tokens": 10_000}), input="x")
    assert tokens_only.status == ExecutionStatus.COMPLETED


def test_a_loop_that_fails_later_still_counts_what_its_earlier_iterations_spent(
        wfx: Executor, llm: LLMServer) -> None:
    llm.script({"text": "one", "usage": USAGE}, {"status": 401})
    ex = wfx.run(workflow=doc(step={"loop": {"for_each": ["a", "b", "c"]}, "input": "${item}"}), input="x")
    assert ex.error is not None and ex.error.code == "model_auth_failed"
    assert (ex.usage.prompt_tokens, ex.usage.completion_tokens) == (100, 10)
