"""The operator's allow-lists for tools that leave the process: HTTP hosts, MCP URLs, and the
environment variables a tool's ``headers`` may name (``${VAR}``, whole values only, as
LangSwarm's ``mcpremote`` substitutes them)."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from ...errors import Forbidden, HostNotAllowed, InvalidArgument, McpUrlNotAllowed
from ...settings_tools import ToolSettings
from ...urls import Url, allowed_by, host_allowed, parse

log = logging.getLogger(__name__)


def origin(url: str) -> tuple[str, str, int]:
    """(scheme, host, port) of an http(s) URL. Errors: InvalidArgument (urls.parse)."""
    return parse(url).origin


def check_host(url: str, settings: ToolSettings, narrowed: list[str] | None = None) -> Url:
    """``url`` in normal form (the one to request). Errors: InvalidArgument (urls.parse),
    HostNotAllowed unless its host is on WFX_HTTP_ALLOW (and on the tool's own ``allowed_hosts``
    when it narrows them)."""
    u = parse(url)
    if not host_allowed(u, settings.http_allow) or (narrowed is not None and not host_allowed(u, tuple(narrowed))):
        raise HostNotAllowed(f"host '{u.host}:{u.port}' is not on the allow-list for http_request",
                             fix="use an allowed host; the operator can allow it with WFX_HTTP_ALLOW=host[:port]",
                             host=u.host)
    return u


def check_mcp_url(url: str, settings: ToolSettings) -> Url:
    """``url`` in normal form (the one to call). Errors: InvalidArgument (urls.parse: userinfo,
    encoded separators ...), McpUrlNotAllowed unless it lies under an entry of WFX_MCP_ALLOW (same
    scheme, host and port, and the entry's path segments as a prefix, after ``..`` is resolved)."""
    u = parse(url)
    if not allowed_by(u, settings.mcp_allow):
        raise McpUrlNotAllowed(f"mcp_url '{u.shown[:200]}' is not on the operator's allow-list",
                               fix="use an allowed MCP server; the operator can allow its URL with WFX_MCP_ALLOW")
    return u


def resolve_headers(raw: Any, settings: ToolSettings, tool_id: str) -> dict[str, str]:
    """The headers to send: a whole value ``"${VAR}"`` becomes the variable's value when the
    operator allows VAR (WFX_MCP_HEADER_ENV); an allowed but unset VAR is sent as written, as
    LangSwarm does; anything else is sent as written. Errors: InvalidArgument for a header that
    is not text, Forbidden for a variable the operator does not allow."""
    if raw is None:
        return {}
    if not isinstance(raw, Mapping):
        raise InvalidArgument(f"tool '{tool_id}': headers must be a mapping of names to text",
                              fix='write headers: {X-API-Key: "${MY_KEY}"}')
    out: dict[str, str] = {}
    for name, value in raw.items():
        if not isinstance(name, str) or not isinstance(value, str | int | float) or isinstance(value, bool):
            raise InvalidArgument(f"tool '{tool_id}': header '{name}' must be text",
                                  fix='quote the value, e.g. X-API-Key: "${MY_KEY}"')
        text = str(value)
        if text.startswith("${") and text.endswith("}"):
            var = text[2:-1]
            if var not in settings.header_env_allow:
                raise Forbidden(f"tool '{tool_id}': header '{name}' names ${{{var}}}, which the operator does not "
                                "allow tools to read", fix="the operator can allow it with WFX_MCP_HEADER_ENV",
                                field="headers")
            if settings.header_env.get(var):
                text = settings.header_env[var]
            else:
                log.warning("tool %s: environment variable %s is not set; header %s is sent as written",
                            tool_id, var, name)
        out[name] = text
    return out
