"""``mcpremote``: the tools of a remote MCP server (``mcp_url``, ``headers``, ``timeout``,
``retry_count`` as in LangSwarm), listed with ``tools/list`` and offered to the model as
functions. Only URLs on the operator's ``WFX_MCP_ALLOW`` are reached; header values may name
``${VAR}`` from ``WFX_MCP_HEADER_ENV``.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping, Sequence
from typing import Any

from ...errors import InvalidArgument, NotFound, Transient, WfxError
from ...spec.model import Tool
from ..toolbox import ToolCall, ToolSpec
from .allow import check_mcp_url, resolve_headers
from .base import ToolEnv, tool_setting
from .mcp_client import McpHttpClient

LIST_TTL_S = 300.0
MAX_RETRIES = 3


class RemoteTool:
    """One remote server. Its tool list is fetched on first use and kept ``LIST_TTL_S``."""

    def __init__(self, tool: Tool, env: ToolEnv) -> None:
        self.tool_id = tool.id
        url = tool_setting(tool, "mcp_url")
        if not isinstance(url, str) or not url.strip():
            raise InvalidArgument(f"tool '{tool.id}' of type mcpremote has no mcp_url",
                                  fix="add mcp_url: https://host/mcp (an URL the operator allows)")
        self.url = check_mcp_url(url, env.settings).text  # headers go only where the check looked
        self.settings = env.settings
        timeout = float(tool_setting(tool, "timeout", env.settings.timeout_s) or env.settings.timeout_s)
        self.retries = max(0, min(int(tool_setting(tool, "retry_count", 1) or 0), MAX_RETRIES))
        headers = resolve_headers(tool_setting(tool, "headers"), env.settings, tool.id)
        self.client = McpHttpClient(self.url, headers, timeout_s=max(min(timeout, 600.0), 0.1),
                                    max_bytes=max(env.settings.max_result_bytes * 4, 65536))
        self._tools: dict[str, dict[str, Any]] = {}
        self._listed_at = -LIST_TTL_S
        self._lock = threading.Lock()

    def remote_tools(self, deadline_s: float | None = None) -> dict[str, dict[str, Any]]:
        with self._lock:
            if time.monotonic() - self._listed_at < LIST_TTL_S:
                return self._tools
        listed = self._retry(lambda: self.client.list_tools(deadline_s), deadline_s)
        with self._lock:
            self._tools = {t["name"]: t for t in listed}
            self._listed_at = time.monotonic()
            return self._tools

    def specs(self, deadline_s: float | None = None) -> Sequence[ToolSpec]:
        out = []
        for name, t in self.remote_tools(deadline_s).items():
            schema = t.get("inputSchema")
            params = dict(schema) if isinstance(schema, Mapping) else {}
            params.setdefault("type", "object")
            if params.get("type") == "object":
                params.setdefault("properties", {})
            desc = t.get("description") if isinstance(t.get("description"), str) else None
            out.append(ToolSpec(name, desc or f"{name} (remote MCP tool of {self.tool_id})", params))
        return out

    def call(self, operation: str, arguments: Mapping[str, Any], ctx: ToolCall) -> Any:
        check_mcp_url(self.url, self.settings)  # the allow-list may be stricter than when it was built
        known = self.remote_tools(ctx.deadline_s)
        if operation not in known:
            raise NotFound(f"MCP server of tool '{self.tool_id}' has no tool '{operation[:100]}'",
                           fix=f"use one of: {', '.join(list(known)[:30]) or '(none)'}")
        if not isinstance(arguments, Mapping):
            raise InvalidArgument(f"the arguments of {self.tool_id}.{operation} must be an object",
                                  fix="pass the arguments as a JSON object")
        return self._retry(lambda: self.client.call_tool(operation, arguments, ctx.deadline_s), ctx.deadline_s)

    def _retry(self, fn: Any, deadline_s: float | None) -> Any:
        """``fn()``, again after a Transient error (429, 5xx, a lost connection) up to
        ``retry_count`` times, as LangSwarm's mcpremote does, within the deadline."""
        attempt = 0
        while True:
            try:
                return fn()
            except Transient:
                attempt += 1
                pause = 0.2 * 2 ** (attempt - 1)
                late = deadline_s is not None and time.monotonic() + pause >= deadline_s
                if attempt > self.retries or late:
                    raise
                time.sleep(pause)  # backoff between attempts, not synchronisation


class RemoteKind:
    name = "mcpremote"
    aliases: tuple[str, ...] = ("remote", "mcp_remote", "remote_mcp")
    summary = "the tools of a remote MCP server (mcp_url on the operator's WFX_MCP_ALLOW)"

    def check(self, tool: Tool, env: ToolEnv) -> str | None:
        url = tool_setting(tool, "mcp_url")
        if not isinstance(url, str) or not url.strip():
            return f"tool '{tool.id}' of type mcpremote has no mcp_url"
        try:
            check_mcp_url(url, env.settings)
            resolve_headers(tool_setting(tool, "headers"), env.settings, tool.id)
        except WfxError as exc:
            return str(exc)
        return None

    def build(self, tool: Tool, env: ToolEnv) -> RemoteTool:
        return RemoteTool(tool, env)


KIND = RemoteKind()
