"""The operator's allow-lists for tools that leave the process: HTTP hosts, MCP URLs, and the
environment variables a tool's ``headers`` may name (``${VAR}``, whole values only, as
LangSwarm's ``mcpremote`` substitutes them)."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from ...errors import Forbidden, HostNotAllowed, InvalidArgument, McpUrlNotAllowed
from ...settings_tools import ToolSettings
from .mcp_client import safe_url

log = logging.getLogger(__name__)
DEFAULT_PORTS = {"http": 80, "https": 443}


def origin(url: str) -> tuple[str, str, int]:
    """(scheme, host, port) of an http(s) URL. Errors: InvalidArgument."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        raise InvalidArgument(f"'{safe_url(url)[:200]}' is not a valid URL", fix="write http(s)://host/path") from None
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS or not parts.hostname:
        raise InvalidArgument(f"'{safe_url(url)[:200]}' is not an http(s) URL", fix="write http(s)://host/path")
    return scheme, parts.hostname.lower().rstrip("."), port or DEFAULT_PORTS[scheme]


def host_allowed(url: str, allow: tuple[str, ...]) -> bool:
    """Whether ``url``'s host is on ``allow``: ``host`` (any port), ``host:port``, or
    ``*.domain`` (its subdomains)."""
    _, host, port = origin(url)
    for entry in allow:
        name, _, want_port = entry.lower().rpartition(":") if entry.count(":") == 1 else (entry.lower(), "", "")
        if want_port and (not want_port.isdigit() or int(want_port) != port):
            continue
        if name == host or (name.startswith("*.") and host.endswith(name[1:])):
            return True
    return False


def check_host(url: str, settings: ToolSettings, narrowed: list[str] | None = None) -> None:
    """Errors: HostNotAllowed unless ``url``'s host is on WFX_HTTP_ALLOW (and on the tool's
    own ``allowed_hosts`` when it narrows them)."""
    if not host_allowed(url, settings.http_allow) or (narrowed is not None and not host_allowed(url, tuple(narrowed))):
        _, host, port = origin(url)
        raise HostNotAllowed(f"host '{host}:{port}' is not on the allow-list for http_request",
                             fix="use an allowed host; the operator can allow it with WFX_HTTP_ALLOW=host[:port]",
                             host=host)


def check_mcp_url(url: str, settings: ToolSettings) -> None:
    """Errors: McpUrlNotAllowed unless ``url`` starts with an entry of WFX_MCP_ALLOW (same
    scheme, host and port, and the entry's path as a prefix)."""
    scheme, host, port = origin(url)
    path = urlsplit(url.strip()).path or "/"
    for entry in settings.mcp_allow:
        try:
            e_scheme, e_host, e_port = origin(entry)
        except InvalidArgument:
            continue
        e_path = urlsplit(entry.strip()).path or "/"
        if (e_scheme, e_host, e_port) == (scheme, host, port) and (
                path == e_path or path.startswith(e_path.rstrip("/") + "/") or e_path == "/"):
            return
    raise McpUrlNotAllowed(f"mcp_url '{safe_url(url)[:200]}' is not on the operator's allow-list",
                           fix="use an allowed MCP server; the operator can allow its URL with WFX_MCP_ALLOW")


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
