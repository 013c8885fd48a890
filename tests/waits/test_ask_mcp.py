"""An agent's ask_human through MCP on a real ``wfx serve``: a 2026-07-28 client that declares
elicitation is asked through it (``input_required`` with a form, answered on the retry, the run
going on in that request); a client that cannot, or a person who declines, leaves the run waiting
for ``send_event``. The client is the official ``mcp`` SDK."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import anyio
import mcp.types as types
import pytest
import requests
from llm_server import LLMServer
from mcp import Client
from support import eventually
from wfx_procs import ROOT, free_port, stop_group

WORKFLOWS = """
agents:
  - id: clerk
    agent_type: openai
    tools: [ask_human]
workflows:
  pay:
    steps:
      - id: decide
        agent: clerk
        input: "${user_input}"
        output: {to: user}
"""
ASK = {"tool_calls": [{"name": "ask_human", "arguments": {"question": "Pay invoice 7?",
                                                          "choices": ["pay", "hold"]}}]}
CALL = {"workflow_name": "pay", "input_data": {"invoice": 7}, "execution_mode": "sync", "timeout": 30}


@dataclass
class Serve:
    url: str
    proc: subprocess.Popen[bytes]


@pytest.fixture(scope="module")
def llm() -> Iterator[LLMServer]:
    with LLMServer() as server:
        yield server


@pytest.fixture(scope="module")
def serve(tmp_path_factory: pytest.TempPathFactory, llm: LLMServer) -> Iterator[Serve]:
    home = tmp_path_factory.mktemp("ask")
    (home / "wf").mkdir()
    (home / "wf" / "pay.yaml").write_text(WORKFLOWS)
    port = free_port()
    env = {**os.environ, "WFX_HOME": str(home), "WFX_WORKFLOW_ROOTS": str(home / "wf"),
           "OPENAI_BASE_URL": llm.base_url, "OPENAI_API_KEY": "sk-test", "WFX_MODEL": "gpt-4o-mini"}
    env.pop("WFX_API_KEYS", None)
    with (home / "serve.log").open("ab") as log:
        proc = subprocess.Popen([sys.executable, "-m", "workflow_executor.cli", "serve", "--port", str(port)],
                                cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    srv = Serve(f"http://127.0.0.1:{port}/", proc)

    def up() -> bool:
        assert proc.poll() is None, (home / "serve.log").read_text()[-2000:]
        try:
            return requests.get(srv.url + "healthz", timeout=5).status_code == 200
        except requests.RequestException:
            return False

    eventually(up, timeout=30, interval=0.05, what="wfx serve to answer")
    yield srv
    stop_group(proc)


def call(url: str, answer: Any = None, **client: Any) -> tuple[types.CallToolResult, list[Any]]:
    """execute_workflow through the SDK; ``answer``: what the person does with each form."""
    asked: list[Any] = []

    async def elicit(ctx: Any, params: types.ElicitRequestParams) -> types.ElicitResult:
        asked.append(params)
        if answer is None:
            return types.ElicitResult(action="decline")
        given = answer[len(asked) - 1] if isinstance(answer, list) else answer
        return types.ElicitResult(action="accept", content={"answer": given})

    async def go() -> types.CallToolResult:
        extra = {"elicitation_callback": elicit} if "no_elicitation" not in client else {}
        async with Client(url, **extra) as c:
            return await c.call_tool("execute_workflow", CALL)

    return anyio.run(go), asked


def tool(url: str, name: str, **arguments: Any) -> dict[str, Any]:
    body = {"jsonrpc": "2.0", "id": "1", "method": "tools/call", "params": {"name": name, "arguments": arguments}}
    result: dict[str, Any] = requests.post(url, json=body, timeout=30).json()["result"]
    return result


def test_a_client_that_can_elicit_is_asked_and_the_run_completes_within_the_call(
        serve: Serve, llm: LLMServer) -> None:
    llm.reset()
    llm.script(ASK, "paid invoice 7")
    result, asked = call(serve.url, answer="pay")
    assert len(asked) == 1, result
    form = asked[0]
    assert form.message == "Pay invoice 7?"
    assert form.requested_schema["properties"]["answer"]["enum"] == ["pay", "hold"]
    assert result.is_error is False, result
    assert result.structured_content is not None
    assert result.structured_content["status"] == "completed"
    assert result.structured_content["result"] == "paid invoice 7"
    assert len(llm.requests) == 2  # the asking turn was replayed, not sent again
    assert llm.requests[1]["messages"][-1]["content"] == "pay"


def test_a_second_ask_in_the_resumed_run_is_asked_in_the_next_round(serve: Serve, llm: LLMServer) -> None:
    llm.reset()
    llm.script(ASK, {"tool_calls": [{"name": "ask_human", "arguments": {"question": "Which account?"}}]}, "done")
    result, asked = call(serve.url, answer=["pay", "ACME-1"])
    assert [a.message for a in asked] == ["Pay invoice 7?", "Which account?"]
    assert "enum" not in asked[1].requested_schema["properties"]["answer"]
    assert result.structured_content is not None and result.structured_content["result"] == "done"
    assert [m["content"] for m in llm.requests[2]["messages"] if m["role"] == "tool"] == ["pay", "ACME-1"]


def test_a_declined_form_leaves_the_run_waiting_for_send_event(serve: Serve, llm: LLMServer) -> None:
    llm.reset()
    llm.script(ASK, "held invoice 7")
    result, asked = call(serve.url, answer=None)
    assert len(asked) == 1
    sc = result.structured_content
    assert sc is not None and sc["status"] == "waiting" and sc["waiting"]["for"] == "answer"
    assert sc["waiting"]["question"] == "Pay invoice 7?"
    sent = tool(serve.url, "send_event", execution_id=sc["execution_id"], event="answer", payload="hold")
    assert sent["isError"] is False, sent
    done = eventually(lambda: (s := tool(serve.url, "check_execution_status", execution_id=sc["execution_id"])
                               ["structuredContent"])["status"] == "completed" and s, timeout=10,
                      what="the run to complete")
    assert done["result"] == "held invoice 7"


def test_a_client_without_elicitation_gets_the_waiting_run(serve: Serve, llm: LLMServer) -> None:
    llm.reset()
    llm.script(ASK)
    result, asked = call(serve.url, no_elicitation=True)
    assert asked == []
    assert result.structured_content is not None and result.structured_content["status"] == "waiting"
    tool(serve.url, "cancel_execution", execution_id=result.structured_content["execution_id"])


def test_a_request_state_naming_no_run_of_the_caller_is_refused(serve: Serve) -> None:
    headers = {"MCP-Protocol-Version": "2026-07-28", "Mcp-Method": "tools/call", "Mcp-Name": "execute_workflow"}
    meta = {"io.modelcontextprotocol/protocolVersion": "2026-07-28",
            "io.modelcontextprotocol/clientCapabilities": {"elicitation": {}}}
    body = {"jsonrpc": "2.0", "id": "1", "method": "tools/call",
            "params": {"name": "execute_workflow", "arguments": CALL, "_meta": meta,
                       "requestState": "wfx-ask:nope:1",
                       "inputResponses": {"ask": {"action": "accept", "content": {"answer": "pay"}}}}}
    result = requests.post(serve.url, json=body, headers=headers, timeout=30).json()["result"]
    assert result["isError"] is True and result["structuredContent"]["code"] == "not_found"


def modern(url: str, method: str, params: dict[str, Any]) -> dict[str, Any]:
    """A raw 2026-07-28 request declaring elicitation and the tasks extension."""
    name = params.get("name") or params.get("taskId")
    headers = {"MCP-Protocol-Version": "2026-07-28", "Mcp-Method": method, **({"Mcp-Name": name} if name else {})}
    meta = {"io.modelcontextprotocol/protocolVersion": "2026-07-28",
            "io.modelcontextprotocol/clientCapabilities": {"elicitation": {"form": {}},
                                                           "extensions": {"io.modelcontextprotocol/tasks": {}}}}
    body = {"jsonrpc": "2.0", "id": "1", "method": method, "params": {**params, "_meta": meta}}
    reply: dict[str, Any] = requests.post(url, json=body, headers=headers, timeout=30).json()
    assert "result" in reply, reply
    result: dict[str, Any] = reply["result"]
    return result


def test_an_asking_task_shows_its_form_and_tasks_update_answers_it(serve: Serve, llm: LLMServer) -> None:
    llm.reset()
    llm.script(ASK, "paid by task")
    task = modern(serve.url, "tools/call", {"name": "execute_workflow", "arguments": {**CALL,
                                                                                     "execution_mode": "async"}})
    assert task["resultType"] == "task"
    tid = task["taskId"]
    got = eventually(lambda: (t := modern(serve.url, "tasks/get", {"taskId": tid}))["status"] == "input_required"
                     and t, timeout=10, what="the task to ask")
    form = got["inputRequests"]["ask"]
    assert form["method"] == "elicitation/create" and form["params"]["message"] == "Pay invoice 7?"
    refused = requests.post(serve.url, timeout=30, headers={
        "MCP-Protocol-Version": "2026-07-28", "Mcp-Method": "tasks/update", "Mcp-Name": tid}, json={
        "jsonrpc": "2.0", "id": "2", "method": "tasks/update", "params": {
            "taskId": tid, "inputResponses": {"ask": {"action": "accept", "content": {"answer": "maybe"}}},
            "_meta": {"io.modelcontextprotocol/protocolVersion": "2026-07-28",
                      "io.modelcontextprotocol/clientCapabilities": {
                          "extensions": {"io.modelcontextprotocol/tasks": {}}}}}}).json()
    assert refused["error"]["data"]["code"] == "invalid_argument"  # not one of the choices
    modern(serve.url, "tasks/update", {"taskId": tid, "inputResponses": {
        "ask": {"action": "accept", "content": {"answer": "pay"}}}})
    done = eventually(lambda: (t := modern(serve.url, "tasks/get", {"taskId": tid}))["status"] == "completed"
                      and t, timeout=10, what="the task to complete")
    assert done["result"]["structuredContent"]["result"] == "paid by task"
