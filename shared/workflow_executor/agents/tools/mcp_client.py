"""A small MCP client over plain HTTP: JSON-RPC ``POST`` with ``requests``.

Speaks to our own endpoint, to LangSwarm-style servers and to servers built on the official SDK
(streamable HTTP: a JSON or a ``text/event-stream`` answer, an optional ``Mcp-Session-Id``).
Every call is bounded in time and size, never follows a redirect, and its errors never carry
the headers (they may hold keys) or the URL's query string.
"""

from __future__ import annotations

import itertools
import json
import threading
import time
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import requests

from ...errors import ToolFailed, Transient

PROTOCOL_VERSION = "2025-11-25"
MAX_LIST_PAGES = 20
METHOD_NOT_FOUND = -32601


def safe_url(url: str) -> str:
    """``url`` without credentials, query or fragment: fit for messages and logs."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    return urlunsplit((parts.scheme, host, parts.path, "", ""))


class McpHttpClient:
    """One remote MCP server. Thread-safe; initializes lazily on the first request.

    ``headers`` are sent with every request (never shown in errors). ``timeout_s`` bounds each
    request as a whole; ``max_bytes`` bounds each answer.
    """

    def __init__(self, url: str, headers: Mapping[str, str] | None = None, timeout_s: float = 30.0,
                 max_bytes: int = 4_194_304) -> None:
        self.url = url
        self.timeout_s = timeout_s
        self.max_bytes = max_bytes
        self._headers = dict(headers or {})
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        self._ready = False
        self._session_id: str | None = None
        self._protocol: str | None = None
        self._http = requests.Session()
        self._http.trust_env = False  # no proxies or netrc credentials picked up from the environment

    def close(self) -> None:
        self._http.close()

    # -- public calls ---------------------------------------------------------------------

    def initialize(self) -> dict[str, Any]:
        """The ``initialize`` handshake (done once; a server without it is used as it is)."""
        with self._lock:
            if self._ready:
                return {}
            try:
                result = self._request("initialize", {
                    "protocolVersion": PROTOCOL_VERSION, "capabilities": {},
                    "clientInfo": {"name": "workflow-executor", "version": "0.1"}}, handshake=True)
            except _RpcError as exc:
                if exc.code != METHOD_NOT_FOUND:
                    raise exc.as_tool_failed(self.url, "initialize") from None
                result = {}
            version = result.get("protocolVersion") if isinstance(result, dict) else None
            self._protocol = version if isinstance(version, str) else None
            self._ready = True
            if result:
                self._notify("notifications/initialized")
            return result if isinstance(result, dict) else {}

    def list_tools(self, deadline_s: float | None = None) -> list[dict[str, Any]]:
        """Every tool the server lists (``tools/list``, following ``nextCursor``)."""
        self.initialize()
        tools: list[dict[str, Any]] = []
        cursor: str | None = None
        for _ in range(MAX_LIST_PAGES):
            result = self._call("tools/list", {"cursor": cursor} if cursor else None, deadline_s)
            page = result.get("tools") if isinstance(result, dict) else None
            if not isinstance(page, list):
                raise ToolFailed(f"MCP server {safe_url(self.url)} answered tools/list without a tools list",
                                 fix="check that mcp_url points at an MCP endpoint")
            tools += [t for t in page if isinstance(t, dict) and isinstance(t.get("name"), str)]
            cursor = result.get("nextCursor")
            if not isinstance(cursor, str) or not cursor:
                break
        return tools

    def call_tool(self, name: str, arguments: Mapping[str, Any] | None = None,
                  deadline_s: float | None = None) -> Any:
        """Call one tool. Returns its ``structuredContent`` when there is one, else the text of
        its content (one string), else the content list. Errors: ToolFailed for an ``isError``
        result or a JSON-RPC error, Transient for 429/5xx, time-outs and lost connections."""
        self.initialize()
        result = self._call("tools/call", {"name": name, "arguments": dict(arguments or {})}, deadline_s)
        if not isinstance(result, dict):
            raise ToolFailed(f"MCP tool '{name}' answered with a {type(result).__name__}, not a result object")
        content = result.get("content")
        items = content if isinstance(content, list) else []
        texts = [i.get("text") for i in items if isinstance(i, dict) and i.get("type") == "text"]
        if result.get("isError"):
            detail = " ".join(t for t in texts if isinstance(t, str))[:1000] or "no details"
            raise ToolFailed(f"MCP tool '{name}' failed: {detail}", fix="check the arguments against the tool's schema",
                             tool=name)
        if "structuredContent" in result:
            return result["structuredContent"]
        if items and len(texts) == len(items) and all(isinstance(t, str) for t in texts):
            return "\n".join(t for t in texts if isinstance(t, str))
        return items

    # -- transport ------------------------------------------------------------------------

    def _call(self, method: str, params: dict[str, Any] | None, deadline_s: float | None) -> Any:
        try:
            return self._request(method, params, deadline_s=deadline_s)
        except _RpcError as exc:
            raise exc.as_tool_failed(self.url, method) from None

    def _headers_for(self, method: str) -> dict[str, str]:
        hdrs = {"Content-Type": "application/json", "Accept": "application/json, text/event-stream",
                **self._headers}
        if self._session_id:
            hdrs["Mcp-Session-Id"] = self._session_id
        if self._protocol:
            hdrs["MCP-Protocol-Version"] = self._protocol
        return hdrs

    def _notify(self, method: str) -> None:
        try:
            resp = self._post({"jsonrpc": "2.0", "method": method}, self._headers_for(method), None)
            resp.close()
        except (ToolFailed, Transient):
            pass  # a notification has no answer to wait for; the next request shows any real problem

    def _request(self, method: str, params: dict[str, Any] | None, *, handshake: bool = False,
                 deadline_s: float | None = None) -> Any:
        rid = next(self._ids)
        body: dict[str, Any] = {"jsonrpc": "2.0", "id": rid, "method": method}
        if params is not None:
            body["params"] = params
        resp = self._post(body, self._headers_for(method), deadline_s)
        with resp:
            if handshake and resp.headers.get("Mcp-Session-Id"):
                self._session_id = resp.headers["Mcp-Session-Id"]
            data = self._read(resp, rid, method, deadline_s)
        if not isinstance(data, dict):
            raise ToolFailed(f"MCP server {safe_url(self.url)} answered {method} with something other than "
                             "a JSON-RPC object", fix="check that mcp_url points at an MCP endpoint")
        err = data.get("error")
        if err is not None:
            code = err.get("code") if isinstance(err, dict) else None
            msg = err.get("message") if isinstance(err, dict) else str(err)
            raise _RpcError(code if isinstance(code, int) else None, str(msg)[:500])
        return data.get("result")

    def _post(self, body: dict[str, Any], headers: dict[str, str], deadline_s: float | None) -> requests.Response:
        timeout = self._timeout(deadline_s)
        where = safe_url(self.url)
        try:
            resp = self._http.post(self.url, data=json.dumps(body), headers=headers, timeout=timeout,
                                   stream=True, allow_redirects=False)
        except requests.Timeout:
            raise Transient(f"MCP server {where} did not answer {body.get('method')} within {timeout:g} s",
                            fix="try again later, or raise the tool's timeout") from None
        except requests.RequestException as exc:
            raise Transient(f"cannot reach MCP server {where}: {type(exc).__name__}",
                            fix="check that the server runs and mcp_url is right") from None
        status = resp.status_code
        if status in (200, 202):
            return resp
        resp.close()
        if status == 429 or status >= 500:
            raise Transient(f"MCP server {where} answered HTTP {status}", fix="try again later")
        if 300 <= status < 400:
            raise ToolFailed(f"MCP server {where} answered with a redirect (HTTP {status}), which is not followed",
                             fix="use the final URL as mcp_url")
        if status in (401, 403):
            raise ToolFailed(f"MCP server {where} refused the credentials (HTTP {status})",
                             fix="check the tool's headers and the key they name")
        raise ToolFailed(f"MCP server {where} answered HTTP {status}", fix="check mcp_url and the request")

    def _timeout(self, deadline_s: float | None) -> float:
        timeout = self.timeout_s
        if deadline_s is not None:
            timeout = min(timeout, max(deadline_s - time.monotonic(), 0.001))
        return timeout

    def _read(self, resp: requests.Response, rid: int, method: str, deadline_s: float | None) -> Any:
        """The JSON-RPC answer to ``rid``: the JSON body, or the matching SSE ``data:`` event."""
        end = time.monotonic() + self._timeout(deadline_s)
        sse = "text/event-stream" in resp.headers.get("Content-Type", "")
        raw = bytearray()
        try:
            for chunk in resp.iter_content(65536):
                raw += chunk
                if len(raw) > self.max_bytes:
                    raise ToolFailed(f"MCP server {safe_url(self.url)} answered {method} with more than "
                                     f"{self.max_bytes:,} bytes", fix="ask for less (narrower arguments)")
                if time.monotonic() > end:
                    raise Transient(f"MCP server {safe_url(self.url)} was too slow answering {method}",
                                    fix="try again later, or raise the tool's timeout")
                if sse and b"\n\n" in raw:  # an SSE stream may stay open after the answer
                    found = _sse_answer(bytes(raw), rid, final=False)
                    if found is not None:
                        return found
        except requests.RequestException:
            raise Transient(f"MCP server {safe_url(self.url)} broke off its answer to {method}",
                            fix="try again later") from None
        if resp.status_code == 202 or not raw.strip():
            return {}
        if sse:
            found = _sse_answer(bytes(raw), rid, final=True)
            if found is None:
                raise ToolFailed(f"MCP server {safe_url(self.url)} sent no answer to {method} in its event stream")
            return found
        try:
            return json.loads(raw)
        except ValueError:
            raise ToolFailed(f"MCP server {safe_url(self.url)} answered {method} with invalid JSON",
                             fix="check that mcp_url points at an MCP endpoint") from None


def _sse_answer(raw: bytes, rid: int, final: bool) -> Any:
    """The JSON-RPC response with id ``rid`` among the SSE events (only complete ones unless
    ``final``), else None."""
    events = raw.decode("utf-8", "replace").replace("\r\n", "\n").split("\n\n")
    if not final:
        events = events[:-1]  # the last piece may be cut off mid-event
    for event in events:
        data = "\n".join(line[5:].lstrip() for line in event.split("\n") if line.startswith("data:"))
        if not data:
            continue
        try:
            msg = json.loads(data)
        except ValueError:
            continue
        if isinstance(msg, dict) and msg.get("id") == rid and ("result" in msg or "error" in msg):
            return msg
    return None


class _RpcError(Exception):
    def __init__(self, code: int | None, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message

    def as_tool_failed(self, url: str, method: str) -> ToolFailed:
        return ToolFailed(f"MCP server {safe_url(url)} answered {method} with error {self.code}: {self.message}",
                          fix="check the tool name and arguments against tools/list", rpc_code=self.code)
