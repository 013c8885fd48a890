"""Budgets under parallelism: every model call reserves the most it can cost (prompt estimate +
the completion cap it is sent with) before it is made, so parallel branches and children of a run
with a 100-token key never spend more than 100 tokens as the model server counts them, the calls
that would cross it fail with budget_exceeded, and the stored usage is exactly what the server
reported. A daily limit per principal holds across runs and restarts."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import requests
from agent_support import agent_settings
from llm_server import LLMServer
from support import eventually
from werkzeug.serving import make_server
from workflow_executor.api import Executor
from workflow_executor.errors import InvalidArgument
from workflow_executor.mcp.auth import create_key
from workflow_executor.mcp.serve import wsgi_app
from workflow_executor.models import Budget, Execution, ExecutionStatus
from workflow_executor.services import build
from workflow_executor.settings import Settings

SIXTY = {"text": "ok", "usage": {"prompt_tokens": 10, "completion_tokens": 50}}  # a 60-token call
AGENTS = [{"id": "a", "agent_type": "openai"}]


def spent_by_server(llm: LLMServer) -> int:
    """Tokens the model server counted, over every completion it answered."""
    assert len(llm.usages) == len(llm.requests)  # every request was answered with its usage
    return sum(int(u["prompt_tokens"]) + int(u["completion_tokens"]) for u in llm.usages)


def fan_out(n: int) -> dict[str, Any]:
    """A first step fans out to ``n`` parallel agent branches, joined by a fan-in."""
    branches = [{"id": f"b{i}", "agent": "a", "input": f"summarise part {i} of the report", "fan_key": "k",
                 "output": {"to": "join"}} for i in range(n)]
    return {"agents": AGENTS, "workflows": {"w": {"steps": [
        {"id": "start", "function": "builtins.noop", "output": {"to": [f"b{i}" for i in range(n)]}},
        *branches,
        {"id": "join", "function": "builtins.echo", "args": {"value": "${branches}"}, "fan_key": "k",
         "is_fan_in": True, "output": {"to": "user"}}]}}}


def children(n: int) -> dict[str, Any]:
    """A first step fans out to ``n`` parallel child workflows of one agent step each."""
    kids = [{"id": f"c{i}", "invoke_workflow": "child", "input": f"part {i}", "fan_key": "k",
             "output": {"to": "join"}} for i in range(n)]
    return {"agents": AGENTS, "workflows": {
        "w": {"steps": [
            {"id": "start", "function": "builtins.noop", "output": {"to": [f"c{i}" for i in range(n)]}},
            *kids,
            {"id": "join", "function": "builtins.echo", "args": {"value": "${branches}"}, "fan_key": "k",
             "is_fan_in": True, "output": {"to": "user"}}]},
        "child": {"steps": [{"id": "ask", "agent": "a", "input": "summarise ${user_input} of the report"}]}}}


@pytest.fixture
def endpoint(tmp_path: Path, llm: LLMServer) -> Iterator[tuple[str, str, Executor]]:
    """A real HTTP MCP endpoint with a key created as `wfx keys create --max-tokens 100` would."""
    s = replace(agent_settings(tmp_path, llm), api_keys_file=tmp_path / "keys.json", max_parallel=8)
    key = create_key(s, ["run", "read"], None, "small", Budget(max_tokens=100))
    services = build(s)
    server = make_server("127.0.0.1", 0, wsgi_app(services), threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/", key, Executor(services)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(10)
        services.close()


def execute(url: str, key: str, wfx: Executor, workflow: dict[str, Any]) -> Execution:
    """Run ``workflow`` with ``key`` over MCP; the stored execution it made."""
    body = {"jsonrpc": "2.0", "id": 1, "method": "tools/call",
            "params": {"name": "execute_workflow", "arguments": {"workflow": workflow, "input_data": {}}}}
    resp = requests.post(url, json=body, headers={"Authorization": f"Bearer {key}"}, timeout=60)
    assert resp.status_code == 200, resp.text
    return wfx.status(resp.json()["result"]["structuredContent"]["execution_id"])


@pytest.mark.parametrize("n", [8, 32])
def test_parallel_branches_of_a_100_token_key_spend_at_most_100_tokens(
        endpoint: tuple[str, str, Executor], llm: LLMServer, n: int) -> None:
    url, key, wfx = endpoint
    llm.responder = lambda body: dict(SIXTY)
    ex = execute(url, key, wfx, fan_out(n))
    assert ex.status == ExecutionStatus.FAILED and ex.error is not None
    assert ex.error.code == "budget_exceeded"
    spent = spent_by_server(llm)
    assert 60 <= spent <= 100
    assert ex.usage.prompt_tokens + ex.usage.completion_tokens == spent  # stored exactly what was spent
    failed = [r for r in ex.steps.values() if r.status.value == "failed"]
    assert failed and all(r.error is not None and r.error.code == "budget_exceeded" for r in failed)
    # each call was sent a completion cap that kept the whole run inside its 100 tokens
    assert all(0 < int(body["max_tokens"]) <= 100 for body in llm.requests)


def test_parallel_children_of_a_100_token_key_spend_at_most_100_tokens(
        endpoint: tuple[str, str, Executor], llm: LLMServer) -> None:
    url, key, wfx = endpoint
    llm.responder = lambda body: dict(SIXTY)
    ex = execute(url, key, wfx, children(8))
    assert ex.status == ExecutionStatus.FAILED
    spent = spent_by_server(llm)
    assert 60 <= spent <= 100
    assert ex.usage.prompt_tokens + ex.usage.completion_tokens == spent
    # the parent fails as soon as a child does; a sibling being cancelled may still be settling
    def ended() -> list[Execution] | None:
        got = [wfx.status(f"{ex.id}.c{i}") for i in range(8)]
        return got if all(k.finished for k in got) else None

    kids = eventually(ended, timeout=30, what="every child to end")
    codes = {k.error.code for k in kids if k is not None and k.error is not None}
    assert "budget_exceeded" in codes and codes <= {"budget_exceeded", "cancelled"}
    # what the children stored adds up to what the parent stored: nothing counted twice or lost
    assert sum(k.usage.prompt_tokens + k.usage.completion_tokens for k in kids if k is not None) == spent


def test_a_call_that_does_not_fit_waits_for_a_parallel_call_to_settle_then_gets_what_is_left(
        wfx: Executor, llm: LLMServer) -> None:
    """Two branches under 200 tokens: the second waits while the first holds its reservation,
    then runs with the cap that is left instead of being refused or overshooting."""
    llm.responder = lambda body: {"text": "ok", "usage": {"prompt_tokens": 10, "completion_tokens": 50},
                                  "delay_s": 0.2}
    doc = fan_out(2)
    doc["workflows"]["w"]["max_tokens"] = 150
    started = time.monotonic()
    ex = wfx.run(workflow=doc, input="x")
    assert ex.status == ExecutionStatus.COMPLETED, ex.error
    assert len(llm.requests) == 2 and time.monotonic() - started >= 0.4  # one after the other
    estimate = len("summarise part 0 of the report") + 4 + 3  # one token a byte, + framing
    caps = [int(b["max_tokens"]) for b in llm.requests]
    assert caps == [150 - estimate, 150 - 60 - estimate]  # the second call got what the first left
    assert ex.usage.prompt_tokens + ex.usage.completion_tokens == spent_by_server(llm) <= 150


def test_a_daily_key_limit_holds_across_runs_and_restarts(tmp_path: Path, llm: LLMServer) -> None:
    s = replace(agent_settings(tmp_path, llm, store="sqlite"), key_daily_max_tokens=100)
    llm.responder = lambda body: dict(SIXTY)
    one = {"agents": AGENTS, "workflows": {"w": {"steps": [
        {"id": "ask", "agent": "a", "input": "summarise the report", "output": {"to": "user"}}]}}}
    with Executor.local(settings=s) as wfx:
        first = wfx.run(workflow=one, input="x", principal="alice")
        assert first.status == ExecutionStatus.COMPLETED, first.error
        second = wfx.run(workflow=one, input="x", principal="alice")  # 60 spent, 40 left: too little
        assert second.error is not None and second.error.code == "budget_exceeded"
        assert second.error.details.get("window") == "day" or "today" in second.error.message
        other = wfx.run(workflow=one, input="x", principal="bob")  # a limit per principal
        assert other.status == ExecutionStatus.COMPLETED
    with Executor.local(settings=s) as again:  # a new process reads the same totals
        third = again.run(workflow=one, input="x", principal="alice")
        assert third.error is not None and third.error.code == "budget_exceeded"
        day = again.store.key_usage("alice", datetime.now(UTC).strftime("%Y-%m-%d"))  # a UTC calendar day
        assert day is not None and day.tokens == 60 and not day.holds
    assert len(llm.requests) == 2 and spent_by_server(llm) == 120


def test_a_model_call_still_running_when_its_run_fails_is_in_the_stored_usage(
        wfx: Executor, llm: LLMServer) -> None:
    llm.responder = lambda body: {**SIXTY, "delay_s": 0.3}
    doc = fan_out(1)
    steps = doc["workflows"]["w"]["steps"]
    steps[0]["output"]["to"] = ["b0", "pause"]  # b0's call is in flight when "boom" fails the run
    steps[2:2] = [{"id": "pause", "function": "builtins.sleep", "args": {"seconds": 0.1}, "output": {"to": "boom"}},
                  {"id": "boom", "function": "builtins.fail", "fan_key": "k", "output": {"to": "join"}}]
    ex = wfx.run(workflow=doc, input="x")
    assert ex.status == ExecutionStatus.FAILED and ex.error is not None and ex.error.code != "budget_exceeded"
    assert "b0" not in ex.steps  # the run failed while b0 waited for its reply
    assert spent_by_server(llm) == 60 and ex.usage.prompt_tokens + ex.usage.completion_tokens == 60


def test_the_daily_limits_are_read_from_the_environment_and_a_bad_one_is_named() -> None:
    base = {"WFX_HOME": "/tmp/unused"}
    s = Settings.from_env({**base, "WFX_KEY_DAILY_MAX_TOKENS": "50000", "WFX_KEY_DAILY_MAX_COST_USD": "2.5"})
    assert (s.key_daily_max_tokens, s.key_daily_max_cost_usd) == (50000, 2.5)
    assert Settings.from_env(base).key_daily_max_tokens is None
    for bad in ("-1", "lots"):
        with pytest.raises(InvalidArgument) as err:
            Settings.from_env({**base, "WFX_KEY_DAILY_MAX_TOKENS": bad})
        assert err.value.code == "invalid_argument" and "WFX_KEY_DAILY_MAX_TOKENS" in err.value.message
