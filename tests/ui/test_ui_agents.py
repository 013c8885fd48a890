"""An agent step on the execution page, with the real openai client against the test LLM
server: its conversation (model turns with tokens and cost, tool calls and results), the token
columns filled from the reported usage, and model text shown as text."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from llm_server import LLMServer
from ui_support import UiKeys, get, make_keys, text
from workflow_executor.agents.toolbox import ToolCall, ToolSpec
from workflow_executor.api import Executor
from workflow_executor.models import ExecutionStatus
from workflow_executor.settings import Settings


class Box:
    """A real ToolBox over Python functions (what the tool registry provides in production)."""

    def __init__(self, fns: Mapping[str, Callable[..., Any]]) -> None:
        self.fns = fns

    def specs(self) -> Sequence[ToolSpec]:
        return [ToolSpec(name, f"the {name} tool", {"type": "object", "properties": {}}) for name in self.fns]

    def call(self, name: str, arguments: Mapping[str, Any], ctx: ToolCall) -> Any:
        return self.fns[name](**arguments)


class Host:
    def __init__(self, box: Box) -> None:
        self.box = box

    def toolbox(self, tool_ids: Sequence[str], document: Any) -> Box:
        return self.box


@pytest.fixture
def agent_site(tmp_path: Path) -> Iterator[tuple[Executor, UiKeys, LLMServer]]:
    with LLMServer() as llm:
        s = Settings.from_env({"WFX_HOME": str(tmp_path), "OPENAI_BASE_URL": llm.base_url,
                               "OPENAI_API_KEY": "sk-test", "WFX_MODEL": "gpt-4o-mini"})
        keys = make_keys(s)
        with Executor.local(settings=replace(s, store="memory")) as ex:
            ex.engine.tools = Host(Box({"lookup": lambda q="": f"<b>{q}</b> found"}))  # type: ignore[attr-defined]
            yield ex, keys, llm


def test_an_agent_steps_conversation_tokens_and_tool_calls_are_on_its_page(
        agent_site: tuple[Executor, UiKeys, LLMServer]) -> None:
    ex, keys, llm = agent_site
    llm.script({"tool_calls": [{"name": "lookup", "arguments": {"q": "otters"}}],
                "usage": {"prompt_tokens": 100, "completion_tokens": 20}},
               {"text": "<script>alert(1)</script>Otters hold hands.",
                "usage": {"prompt_tokens": 150, "completion_tokens": 30}})
    run = ex.run(workflow={"agents": [{"id": "a", "agent_type": "openai", "tools": ["lookup"]}],
                           "workflows": {"w": {"steps": [{"id": "ask", "agent": "a", "input": "${user_input}",
                                                          "output": {"to": "user"}}]}}},
                 input="tell me about otters", principal="alice")
    assert run.status == ExecutionStatus.COMPLETED, run.error
    assert run.usage.prompt_tokens == 250 and run.usage.completion_tokens == 50
    page = text(get(ex.services, f"/ui/api/executions/{run.id}", keys.alice))
    talk = page.split('data-key="ask"', 1)[1]
    assert "Conversation (3 turns)" in talk  # model, tool, model
    assert "100 in / 20 out" in talk and "150 in / 30 out" in talk
    assert "calls <b>lookup</b>" in talk and "otters" in talk
    assert "&lt;b&gt;otters&lt;/b&gt; found" in talk  # the tool's result, as text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;Otters hold hands." in talk
    assert "<script>" not in page
    assert "300 (250 in / 50 out)" in page  # the execution's and the step's token facts
    listing = text(get(ex.services, "/ui/api/executions", keys.alice))
    assert '<td data-v="300">300</td>' in listing
