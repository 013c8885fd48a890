"""The /ui routes of the HTTP handler: the shell page and static assets (no data, no key
needed), and under /ui/api the caller's views (HTML fragments), behind the MCP endpoint's own
authentication, scopes and per-caller visibility. Reached lazily from ``mcp.http``."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from importlib import resources
from urllib.parse import parse_qsl, unquote

from ..access import Caller
from ..errors import NotFound, WfxError
from ..http_response import Response
from ..mcp.app import McpApp
from ..mcp.run_tools import owned
from . import execution, listing, live, pages, schedules
from .html import HTML_HEADERS, esc, shell

_UI = re.compile(r"^(?P<prefix>.*?)/ui(?P<rest>/.*)?$")
STATIC = {"app.js": "text/javascript; charset=utf-8", "app.css": "text/css; charset=utf-8"}
_STATIC_HEADERS = {"Cache-Control": "public, max-age=300", "X-Content-Type-Options": "nosniff"}


def match(path: str) -> tuple[str, str] | None:
    """(prefix, rest) when ``path`` is under /ui, else None."""
    m = _UI.match(path)
    if m is None:
        return None
    return m.group("prefix"), (m.group("rest") or "/").rstrip("/") or "/"


def _fragment(status: int, body: str) -> Response:
    return Response(status, body.encode("utf-8"), dict(HTML_HEADERS))


def _problem(status: int, code: str, message: str, fix: str | None = None) -> Response:
    return _fragment(status, f'<section class="problem" data-title="{esc(code)}" data-code="{esc(code)}">'
                             f"<h1>{esc(message)}</h1>" + (f'<p class="fix">Fix: {esc(fix)}</p>' if fix else "")
                     + "</section>")


def handle(app: McpApp, method: str, path: str, query: str, authenticate: Callable[[], Caller | Response]) -> Response:
    """Answer one /ui request (``path`` must satisfy ``match``)."""
    prefix, rest = match(path) or ("", "/")
    if rest.startswith("/static/"):
        name = rest[len("/static/"):]
        if method != "GET" or name not in STATIC:
            return _problem(404, "not_found", "no such asset")
        data = resources.files(__package__).joinpath("static", name).read_bytes()
        return Response(200, data, {**_STATIC_HEADERS, "Content-Type": STATIC[name]})
    if not rest.startswith("/api"):
        if method != "GET":
            return _problem(405, "method_not_allowed", "the web view is read with GET")
        return _fragment(200, shell(prefix))
    caller = authenticate()
    if not isinstance(caller, Caller):
        return caller
    parts = [unquote(p) for p in rest[len("/api"):].split("/") if p]
    if method == "POST" and len(parts) == 3 and parts[0] == "schedules":
        try:  # the one write of the web view: pause / resume (admin); everything else is an MCP call
            schedules.set_paused(app, caller, parts[1], parts[2])
        except WfxError as exc:
            return _problem(403 if exc.code == "forbidden" else 400, exc.code, exc.message, exc.fix)
        return _fragment(200, f'<p data-paused="{int(parts[2] == "pause")}">{esc(parts[2])}d</p>')
    if method != "GET":
        return _problem(405, "method_not_allowed", "the web view is read with GET",
                        "act through the MCP endpoint (POST tools/call)")
    if not caller.has("read"):
        return _problem(403, "forbidden", "this key lacks the 'read' scope the web view needs",
                        "use a key created with --scopes read")
    params = dict(parse_qsl(query, keep_blank_values=True))
    try:
        resp = _route(app, caller, parts, params, prefix)
    except WfxError as exc:
        status = {"not_found": 404, "forbidden": 403}.get(exc.code, 400)
        resp = _problem(status, exc.code, exc.message, exc.fix)
    # who the page speaks for; a key from WFX_API_KEYS may carry any name: keep it header-safe
    name = re.sub(r"[^A-Za-z0-9_.@:-]", "?", caller.principal)[:64]
    who = f"{name} ({', '.join(sorted(caller.scopes))})"
    return Response(resp.status, resp.body, {**resp.headers, "X-Wfx-Caller": who}, resp.stream)


def _route(app: McpApp, caller: Caller, parts: list[str], params: Mapping[str, str], prefix: str) -> Response:
    if parts in ([], ["executions"]):
        return _fragment(200, listing.executions(app, caller, params, prefix))
    if parts[0] == "executions" and len(parts) in (2, 3):
        ex = owned(app, caller, parts[1])
        if len(parts) == 3:
            if parts[2] != "events":
                raise NotFound("no such view", fix="open /ui/executions")
            return Response(200, b"", {"Content-Type": "text/event-stream", "Cache-Control": "no-store",
                                       "X-Accel-Buffering": "no"},
                            stream=live.execution_stream(app.services, ex.id))
        return _fragment(200, execution.page(app, caller, ex, prefix))
    if parts == ["workflows"]:
        return _fragment(200, pages.workflows(app, caller, params, prefix))
    if parts == ["schedules"]:
        return _fragment(200, schedules.page(app, caller, prefix))
    if parts[0] == "workflows" and len(parts) == 2:
        return _fragment(200, pages.workflow(app, caller, parts[1], prefix))
    raise NotFound("no such view", fix="open /ui/executions, /ui/workflows or /ui/schedules")
