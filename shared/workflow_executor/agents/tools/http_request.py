"""``http_request``: one HTTP call to a host on the operator's allow-list (``WFX_HTTP_ALLOW``),
bounded in time and size; redirects are followed only on the same host (never to another)."""

from __future__ import annotations

import json
import time
from typing import Any, Literal
from urllib.parse import urljoin

import requests
from pydantic import BaseModel, ConfigDict, Field

from ...errors import HostNotAllowed, Transient, WfxError
from ...spec.model import Tool
from ...urls import parse
from ..toolbox import ToolCall
from .allow import check_host, origin, resolve_headers
from .base import Operation, OperationsKind, ToolEnv, tool_setting
from .mcp_client import safe_url

MAX_REDIRECTS = 5
_DROP = {"host", "content-length", "transfer-encoding", "connection", "cookie", "proxy-authorization"}


class RequestArgs(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: str = Field(..., description="http(s) URL on an allowed host")
    method: Literal["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD"] = "GET"
    headers: dict[str, str] = Field(default_factory=dict, description="extra request headers")
    params: dict[str, str] = Field(default_factory=dict, description="query parameters")
    json_body: Any = Field(None, alias="json", description="a JSON body")
    body: str | None = Field(None, description="a text body (when json is not given)")


def _check(tool: Tool, env: ToolEnv) -> str | None:
    hosts = tool_setting(tool, "allowed_hosts")
    if hosts is not None and not (isinstance(hosts, list) and all(isinstance(h, str) for h in hosts)):
        return f"tool '{tool.id}': allowed_hosts must be a list of host names"
    try:
        resolve_headers(tool_setting(tool, "headers"), env.settings, tool.id)
    except WfxError as exc:
        return str(exc)
    return None


def _operations(tool: Tool, env: ToolEnv) -> list[Operation]:
    settings = env.settings
    narrowed = tool_setting(tool, "allowed_hosts")
    limit = max(min(int(tool_setting(tool, "max_bytes", settings.max_result_bytes // 2)),
                    settings.max_result_bytes // 2), 1024)
    timeout_s = min(float(tool_setting(tool, "timeout", settings.timeout_s)), settings.timeout_s)

    def request(a: RequestArgs, ctx: ToolCall) -> Any:
        fixed = resolve_headers(tool_setting(tool, "headers"), settings, tool.id)
        headers = {k: v for k, v in a.headers.items() if k.lower() not in _DROP}
        headers.update(fixed)  # the tool's own headers win over the model's
        url = check_host(a.url, settings, narrowed).text  # what was checked is what is requested
        end = time.monotonic() + timeout_s
        if ctx.deadline_s is not None:
            end = min(end, ctx.deadline_s)
        with requests.Session() as http:
            http.trust_env = False
            method, data, js = a.method, a.body, a.json_body
            for _ in range(MAX_REDIRECTS + 1):
                left = max(end - time.monotonic(), 0.001)
                try:
                    resp = http.request(method, url, headers=headers, params=a.params or None, json=js,
                                        data=None if js is not None else data, timeout=left,
                                        allow_redirects=False, stream=True)
                except requests.Timeout:
                    raise Transient(f"{safe_url(url)} did not answer within {timeout_s:g} s",
                                    fix="try again later") from None
                except requests.RequestException as exc:
                    raise Transient(f"cannot reach {safe_url(url)}: {type(exc).__name__}",
                                    fix="check the URL; try again later") from None
                with resp:
                    location = resp.headers.get("Location")
                    if resp.is_redirect and location:
                        target = urljoin(url, location)
                        if origin(target) != origin(url):
                            raise HostNotAllowed(f"{safe_url(url)} redirects to another host "
                                                 f"({origin(target)[1]}), which is not followed",
                                                 fix="request the final URL directly if its host is allowed")
                        url = parse(target).text
                        if resp.status_code in (301, 302, 303):
                            method, data, js = ("GET" if method != "HEAD" else "HEAD"), None, None
                        continue
                    return _answer(resp, url, limit, end)
        raise HostNotAllowed(f"{safe_url(a.url)} redirected more than {MAX_REDIRECTS} times",
                             fix="request the final URL directly")

    return [Operation(tool.id, tool.description or "Make one HTTP request to an allowed host; returns status, "
                      "content type and body.", RequestArgs, request)]


def _answer(resp: requests.Response, url: str, limit: int, end: float) -> dict[str, Any]:
    raw = bytearray()
    truncated = False
    try:
        for chunk in resp.iter_content(65536):
            raw += chunk
            if len(raw) > limit:
                raw, truncated = raw[:limit], True
                break
            if time.monotonic() > end:
                raise Transient(f"{safe_url(url)} was too slow sending its answer", fix="try again later")
    except requests.RequestException:
        raise Transient(f"{safe_url(url)} broke off its answer", fix="try again later") from None
    ctype = resp.headers.get("Content-Type", "")
    text = raw.decode(resp.encoding or "utf-8", "replace")
    body: Any = text
    if "json" in ctype and not truncated:
        try:
            body = json.loads(text)
        except ValueError:
            body = text
    return {"status": resp.status_code, "url": safe_url(url), "content_type": ctype, "body": body,
            "truncated": truncated}


KIND = OperationsKind("http_request", "one HTTP request to a host on the operator's allow-list (WFX_HTTP_ALLOW)",
                      _operations, aliases=("mcphttp_request", "http", "mcphttp", "api_request"), check=_check)
