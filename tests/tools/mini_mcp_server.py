"""A small MCP server written for the tests, on the official SDK (streamable HTTP with
sessions and SSE answers, as most MCP servers in the wild run): ``python mini_mcp_server.py PORT``.

Its ``secret_report`` tool needs the header ``X-API-Key`` to equal ``MINI_EXPECTED_KEY`` (it
never echoes the key); ``text.upper`` has a name that is not a valid OpenAI function name.
"""

from __future__ import annotations

import os
import sys

from mcp.server.mcpserver import Context, MCPServer

server = MCPServer("mini")


@server.tool(description="Add two whole numbers.")
def add(a: int, b: int) -> int:
    return a + b


@server.tool(name="text.upper", description="Upper-case a text.")
def upper(text: str) -> str:
    return text.upper()


@server.tool(description="A report only for callers with the right X-API-Key.")
def secret_report(ctx: Context) -> dict[str, object]:
    headers = {k.lower(): v for k, v in (ctx.headers or {}).items()}
    if headers.get("x-api-key") != os.environ["MINI_EXPECTED_KEY"]:
        raise ValueError("unauthorized: wrong or missing X-API-Key")
    return {"report": "all systems nominal", "authorized": True}


if __name__ == "__main__":
    server.run("streamable-http", host="127.0.0.1", port=int(sys.argv[1]), streamable_http_path="/mcp")
