"""Helpers of the agent tests (import as ``agent_support``): settings that point at the test LLM
server, a real ToolBox over Python functions, and a one-agent workflow document."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from llm_server import LLMServer
from workflow_executor.agents.toolbox import ToolCall, ToolSpec
from workflow_executor.errors import NotFound
from workflow_executor.settings import Settings


def agent_settings(tmp: Path, llm: LLMServer, store: str = "memory", **over: Any) -> Settings:
    s = Settings.from_env({"WFX_HOME": str(tmp / "home"), "OPENAI_BASE_URL": llm.base_url,
                           "OPENAI_API_KEY": "sk-test", "WFX_MODEL": "gpt-4o-mini"})
    return replace(s, store=store, agent_backoff_s=0.01, **over)



class Box:
    """A real ToolBox over plain Python functions (the tools engineer's registry plugs in the
    same way through ``engine.tools``)."""

    def __init__(self, fns: Mapping[str, Callable[..., Any]]) -> None:
        self.fns = fns
        self.calls: list[tuple[str, dict[str, Any], ToolCall]] = []

    def specs(self) -> Sequence[ToolSpec]:
        return [ToolSpec(name, f"the {name} tool", {"type": "object", "properties": {}}) for name in self.fns]

    def call(self, name: str, arguments: Mapping[str, Any], ctx: ToolCall) -> Any:
        self.calls.append((name, dict(arguments), ctx))
        return self.fns[name](**arguments)


class Host:
    def __init__(self, box: Box) -> None:
        self.box = box

    def toolbox(self, tool_ids: Sequence[str], document: Any) -> Box:
        unknown = [t for t in tool_ids if t not in self.box.fns]
        if unknown:
            raise NotFound(f"tool '{unknown[0]}' is not known", fix="declare it")
        return self.box


def doc(agent: Mapping[str, Any] | None = None, step: Mapping[str, Any] | None = None,
        workflow: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """A one-agent, one-step workflow document."""
    return {"agents": [{"id": "a", "agent_type": "openai", **(agent or {})}],
            "workflows": {"w": {"steps": [{"id": "ask", "agent": "a", "input": "${user_input}", **(step or {}),
                                           "output": {"to": "user"}}], **(workflow or {})}}}
