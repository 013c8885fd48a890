"""Tool types the operator serves from MCP servers (``WFX_TOOL_SERVERS=type=https://host/mcp``):
a workflow's ``type: X`` gets that server's tools through the mcpremote machinery. The URL is the
operator's (a document's own ``mcp_url`` is ignored) and must also pass the WFX_MCP_ALLOW check.
"""

from __future__ import annotations

from ...errors import WfxError
from ...spec.model import Tool
from .allow import check_mcp_url, resolve_headers
from .base import ToolEnv, tool_setting
from .mcpremote import RemoteTool


class ServerKind:
    """The tool type ``name``, served by the MCP server at ``url``."""

    aliases: tuple[str, ...] = ()

    def __init__(self, name: str, url: str) -> None:
        self.name = name
        self.url = url
        self.summary = f"the tools of the operator's MCP server for '{name}' (WFX_TOOL_SERVERS)"

    def check(self, tool: Tool, env: ToolEnv) -> str | None:
        try:
            check_mcp_url(self.url, env.settings)
            resolve_headers(tool_setting(tool, "headers"), env.settings, tool.id)
        except WfxError as exc:
            return (f"tool '{tool.id}' of type '{self.name}': the server WFX_TOOL_SERVERS names for it is not "
                    f"allowed: {exc}")
        return None

    def build(self, tool: Tool, env: ToolEnv) -> RemoteTool:
        served = Tool.model_validate({**tool.model_dump(exclude_none=True), "mcp_url": self.url})
        return RemoteTool(served, env)  # checks the URL against WFX_MCP_ALLOW again, on each call too
