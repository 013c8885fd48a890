"""Helpers of the tools suite: an executor with chosen tool settings."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

from workflow_executor.api import Executor
from workflow_executor.settings import Settings
from workflow_executor.settings_tools import ToolSettings

MINI_KEY = "mini-key-123"  # the key the test's own MCP server (mini_mcp_server.py) wants


def executor(tmp: Path, env: dict[str, str] | None = None, memory: bool = True, **tool_over: Any) -> Executor:
    """An executor (in memory, or SQLite under ``tmp``) whose tool settings come from ``env``
    (``WFX_*``) and ``tool_over``."""
    s = Settings.from_env({"WFX_HOME": str(tmp / "home"), **(env or {})})
    tools: ToolSettings = replace(s.tools, **tool_over)
    return Executor.local(settings=replace(s, tools=tools), memory=memory)
