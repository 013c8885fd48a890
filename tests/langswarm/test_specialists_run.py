"""examples/langswarm_specialists runs end to end through our engine: each of its six workflows,
its agents answered by the test LLM server (the real ``openai`` client) with scripted replies
that call the ``workflow_executor`` tool, which reaches a live keyed `wfx serve` through
mcpremote over HTTP, as the folder configures it (only mcp_url points at this test's server)."""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from llm_server import LLMServer
from wfx_procs import serving
from workflow_executor.api import Executor
from workflow_executor.models import ExecutionStatus
from workflow_executor.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
FOLDER = ROOT / "examples" / "langswarm_specialists"
TOOL = "workflow_executor__"


def _call(name: str, **arguments: Any) -> dict[str, Any]:
    return {"tool_calls": [{"name": TOOL + name, "arguments": arguments}]}


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    """A keyed `wfx serve` that knows echo and fail; yields its URL and a key."""
    from workflow_executor.mcp.auth import create_key

    tmp = tmp_path_factory.mktemp("serve")
    home, flows = tmp / "server", tmp / "flows"
    flows.mkdir()
    for name in ("echo.yaml", "fail.yaml"):
        shutil.copy(ROOT / "tests" / "mcp" / "workflows" / name, flows / name)
    key = create_key(Settings.from_env({"WFX_HOME": str(home)}), ["run", "read", "generate"], None, "ls")
    with serving(home, WFX_WORKFLOW_ROOTS=str(flows)) as url:
        yield url, key


@pytest.fixture
def specialists(tmp_path: Path, served: tuple[str, str]) -> Iterator[tuple[Executor, LLMServer]]:
    """Our engine with the folder registered (mcp_url pointed at the live server), the operator
    allowing that URL and the key's variable, and its agents on the test LLM server."""
    url, key = served
    folder = tmp_path / "langswarm_specialists"
    shutil.copytree(FOLDER, folder)
    tools = yaml.safe_load((folder / "tools.yaml").read_text())
    tools["tools"][0]["mcp_url"] = url
    (folder / "tools.yaml").write_text(yaml.safe_dump(tools))
    with LLMServer() as llm:
        settings = Settings.from_env({"WFX_HOME": str(tmp_path / "client"), "OPENAI_BASE_URL": llm.base_url,
                                      "OPENAI_API_KEY": "sk-test", "WFX_MCP_ALLOW": url,
                                      "WFX_MCP_HEADER_ENV": "WFX_API_KEY", "WFX_API_KEY": key})
        with Executor.local(settings=settings, memory=True) as ex:
            _, report = ex.check(folder)
            assert report.ok and not report.warnings
            ex.register(folder)
            yield ex, llm


def _tool_results(llm: LLMServer) -> list[dict[str, Any]]:
    """What the workflow_executor tool answered, as the model saw it, in order."""
    seen: list[dict[str, Any]] = []
    for request in llm.requests:
        for message in request.get("messages", []):
            if message.get("role") == "tool":
                answer = json.loads(message["content"])
                if answer not in seen:
                    seen.append(answer)
    return seen


def _run(ex: Executor, llm: LLMServer, workflow: str, user_input: str, *replies: Any) -> list[dict[str, Any]]:
    llm.reset()
    llm.script(*replies)
    done = ex.run(workflow, user_input)
    assert done.status == ExecutionStatus.COMPLETED, done.error
    assert done.result == replies[-1]  # the last agent's answer goes to the user
    assert not llm.requests or all(r["model"] == "gpt-4o" for r in llm.requests)
    return _tool_results(llm)


def _structured(answer: dict[str, Any]) -> dict[str, Any]:
    """A successful call's structuredContent (mcpremote hands the model that object itself)."""
    assert set(answer) != {"error"}, answer  # a tool error is {"error": {code, message, fix}} alone
    return answer


def test_every_specialist_workflow_calls_the_live_server_and_completes(
        specialists: tuple[Executor, LLMServer]) -> None:
    ex, llm = specialists
    # orchestrate: list, then run a workflow that fails (the other specialists look at that run)
    listed, ran = _run(ex, llm, "orchestrate", "run the fail workflow",
                       _call("list_workflows"), _call("execute_workflow", workflow_name="fail", input_data={}),
                       "fail ended failed at step boom")
    assert {"echo", "fail"} <= {w["name"] for w in _structured(listed)["available_workflows"]}
    # a run that failed is an isError result: mcpremote shows the model the error with its text
    assert ran["error"]["code"] == "tool_failed" and "failed at step 'boom'" in ran["error"]["message"]
    found = re.search(r"Execution ([0-9a-f]{32}) of 'fail'", ran["error"]["message"])
    assert found, ran
    eid = found.group(1)

    [status] = _run(ex, llm, "monitor", eid, _call("check_execution_status", execution_id=eid), "it failed at boom")
    assert _structured(status)["status"] == "failed"

    # troubleshoot: the troubleshooter reads the run, then the advisor checks the workflow it names
    diagnosis, advice = _run(ex, llm, "troubleshoot", eid,
                             _call("check_execution_status", execution_id=eid), "boom failed on purpose",
                             _call("validate_workflow", workflow_name="fail"), "the workflow itself is valid")
    [boom] = [s for s in _structured(diagnosis)["steps"] if s["status"] == "failed"]
    assert boom["id"] == "boom" and "failed on purpose" in boom["input_preview"]
    assert _structured(advice)["valid"] is True

    checked, shown = _run(ex, llm, "advise", "echo", _call("validate_workflow", workflow_name="echo"),
                          _call("get_workflow", workflow_name="echo"), "echo is a one-step chain")
    assert _structured(checked)["valid"] is True and "echo" in json.dumps(shown)

    [made] = _run(ex, llm, "generate", "fetch the orders and summarise them",
                  _call("generate_workflow", workflow_description="fetch the orders and summarise them",
                        workflow_name="orders_summary", complexity="simple"), "orders_summary is stored")
    assert _structured(made)["validation_status"] == "valid"

    sketch, tried = _run(ex, llm, "integrate", "post each new order to our CRM",
                         _call("generate_workflow", workflow_description="post each new order to the CRM API",
                               workflow_name="crm_sync", complexity="simple"),
                         _call("execute_workflow", workflow_name="echo", input_data={"order": 1}),
                         "the operator must allow the CRM host")
    assert _structured(sketch)["validation_status"] == "valid"
    assert _structured(tried)["status"] == "completed" and _structured(tried)["result"] == {"order": 1}
