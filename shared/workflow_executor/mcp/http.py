"""The HTTP edge of the MCP endpoint, shared by the Cloud Function and ``wfx serve``:
(method, path, headers, body) -> (status, headers, body). Routes, body limit, auth, and the
one outermost handler that turns any unexpected error into a generic -32603."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from ..access import OPEN_CALLER, Caller
from ..http_response import JSON_HEADERS, Response
from ..services import Services
from . import jsonrpc, protocol, tools
from .app import McpApp, app_for
from .auth import KEY_HELP, is_loopback_host, is_loopback_origin

log = logging.getLogger(__name__)
__all__ = ["JSON_HEADERS", "Response", "handle", "health", "json_response", "too_large"]


def json_response(status: int, payload: Any, extra: Mapping[str, str] | None = None) -> Response:
    """A JSON response with the no-store headers (plus ``extra``)."""
    return Response(status, jsonrpc.dumps(payload), {**JSON_HEADERS, **(extra or {})})


def too_large(limit: int, size: int | None = None) -> Response:
    """413 for a body over ``limit`` bytes (``wfx serve`` answers it before reading the body)."""
    got = f"{size:,} bytes, " if size is not None else ""
    return json_response(413, jsonrpc.error(None, jsonrpc.INVALID_REQUEST,
                                            f"Request body too large ({got}limit {limit:,} bytes)",
                                            {"code": "payload_too_large", "fix": "send a smaller request"}))


def handle(services: Services, method: str, path: str, headers: Mapping[str, str], body: bytes,
           query: str = "") -> Response:
    """Answer one HTTP request (``query``: the raw query string, read by /ui only). Never raises
    and never answers 5xx: an unexpected error is logged with a reference and answered as
    JSON-RPC -32603 without details."""
    try:
        if services.executor is None:  # the entry point did not build one (a test, a bench): build it here
            from ..api import Executor

            Executor(services)
        return _handle(app_for(services), method.upper(), path, {k.lower(): v for k, v in headers.items()}, body,
                       query)
    except Exception:  # the outermost handler: log the traceback, answer without internals
        ref = uuid.uuid4().hex[:12]
        log.exception("MCP request failed (ref %s)", ref)
        return json_response(200, jsonrpc.error(_safe_id(body), jsonrpc.INTERNAL_ERROR,
                                                f"Internal error (ref {ref}); the server logged the details"))


def _safe_id(body: bytes) -> jsonrpc.Id | None:
    try:
        return jsonrpc.parse(body).id
    except jsonrpc.ProtocolError as exc:
        return exc.request_id


def _handle(app: McpApp, method: str, path: str, headers: dict[str, str], body: bytes, query: str) -> Response:
    route = path.rstrip("/") or "/"
    if method == "GET" and (route == "/healthz" or route.endswith("/healthz")):
        return json_response(200, health(app))
    limit = app.services.settings.max_body_bytes
    if len(body) > limit:
        return too_large(limit, len(body))
    if "/ui/" in route + "/":
        from ..ui import routes  # lazily: the function's cold start does not pay for the web view

        if routes.match(route) is not None:
            return routes.handle(app, method, route, query, lambda: _authenticate(app, headers))
    if not _origin_ok(headers):
        # MCP 2025-11-25 transport: a server MUST validate Origin; an invalid one gets 403,
        # with a valid key too (a page on another site must not drive a caller's key).
        return json_response(403, jsonrpc.error(_safe_id(body), jsonrpc.INVALID_REQUEST, "Forbidden: foreign Origin",
                                                {"code": "forbidden", "fix": "call from the same origin, a "
                                                 "loopback page, or a client that sends no Origin"}))
    caller = _authenticate(app, headers, body)
    if not isinstance(caller, Caller):
        return caller
    if method == "GET" and route.endswith("/schema"):
        return _schema(route)
    if method != "POST":
        return json_response(405, jsonrpc.error(None, jsonrpc.INVALID_REQUEST,
                                                f"Method {method[:10]} not allowed: POST JSON-RPC to this URL",
                                                {"fix": "use POST; this server keeps no streams or sessions"}),
                             {"Allow": "POST"})
    try:
        msg = jsonrpc.parse(body)
    except jsonrpc.ProtocolError as exc:
        modern = headers.get("mcp-protocol-version") in protocol.MODERN_VERSIONS
        status = exc.http_status or (protocol.MODERN_HTTP_STATUS.get(exc.code, 200) if modern else 200)
        return json_response(status, jsonrpc.error(exc.request_id, exc.code, exc.message, exc.data))
    if msg.method == "tools/call" and "text/event-stream" in headers.get("accept", "").lower():
        from . import progress  # lazily: only a client that asked for progress pays for it

        if progress.wanted(msg, headers):
            return Response(200, b"", dict(progress.SSE_HEADERS), stream=progress.stream(app, caller, msg, headers))
    ans = protocol.answer(app, caller, msg, headers)
    if ans.payload is None:
        return Response(202, b"", {"Cache-Control": "no-store"})
    return json_response(ans.status, ans.payload)


def health(app: McpApp) -> dict[str, Any]:
    """What ``GET /healthz`` answers: up, and the threads of timed-out steps still running."""
    strays = app.executor.engine.strays
    return {"status": "ok", "service": protocol.SERVER_INFO["name"], "version": protocol.SERVER_INFO["version"],
            "stray_step_threads": strays.count(), "stray_step_threads_limit": strays.limit}


def _origin_ok(headers: Mapping[str, str]) -> bool:
    """No Origin (not a browser), a loopback page, or this very host (our own /ui)."""
    origin = headers.get("origin")
    if origin is None or is_loopback_origin(origin):
        return True
    return urlsplit(origin.strip()).netloc.lower() == headers.get("host", "").strip().lower() != ""


def _authenticate(app: McpApp, headers: Mapping[str, str], body: bytes = b"") -> Caller | Response:
    """The caller of a request, or the 401 answer (with the request's JSON-RPC id, so that a
    client can match it to what it sent)."""
    caller = app.keys.authenticate(headers)
    if caller is not None:
        return caller
    if not app.keys.configured:
        # Open mode only for loopback requests (wfx serve refuses a non-loopback bind without keys).
        if (is_loopback_host(headers.get("host")) and "x-forwarded-for" not in headers
                and is_loopback_origin(headers.get("origin"))):
            return OPEN_CALLER
        message = ("this server has no API keys, so it answers only on loopback; create a key with "
                   "`wfx keys create --scopes run,read` (or set WFX_API_KEYS)")
    else:
        message = "missing or invalid API key"
    return json_response(401, jsonrpc.error(_safe_id(body) if body else None, jsonrpc.UNAUTHORIZED,
                                            f"Unauthorized: {message}",
                                            {"code": "unauthorized", "fix": KEY_HELP}),
                         {"WWW-Authenticate": 'Bearer realm="workflow-executor"'})


def _schema(route: str) -> Response:
    """Older LangSwarm clients: ``GET <url>/schema`` and ``GET <url>/<tool>/schema``."""
    listed = tools.listing(legacy_tasks=False)
    parent = route[: -len("/schema")].rsplit("/", 1)[-1]
    for entry in listed:
        if entry["name"] == parent:
            return json_response(200, {"name": parent, "description": entry["description"],
                                       "input_schema": entry["inputSchema"]})
    return json_response(200, {
        "tool": "workflow_executor", "description": protocol.INSTRUCTIONS,
        "tasks": [{"name": t["name"], "description": t["description"], "path": f"/{t['name']}",
                   "schema_path": f"/{t['name']}/schema"} for t in listed],
        "tools": listed})
