"""MCP resources: ``workflow://{name}`` (the stored document) and ``execution://{id}`` (the
status view), listed, templated and read with the tools' own visibility (a caller reads only
the workflows its key may use and its own executions; admin reads all)."""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from ..access import Caller
from .app import McpApp
from .jsonrpc import INVALID_PARAMS, ProtocolError
from .tools import call

RESOURCE_NOT_FOUND = -32002  # the MCP specification's code for an unknown resource
RECENT = 20  # executions listed by resources/list (older ones are read by their URI)
PAGE = 50  # resources per resources/list answer
TEMPLATES = [
    {"uriTemplate": "workflow://{name}", "name": "workflow", "title": "Workflow definition",
     "description": "The stored, normalised workflow document", "mimeType": "application/json"},
    {"uriTemplate": "execution://{id}", "name": "execution", "title": "Execution status",
     "description": "Status, progress, steps (with wall time and usage), result or error of one execution",
     "mimeType": "application/json"},
]


def _tool(app: McpApp, caller: Caller, name: str, args: dict[str, Any], uri: str) -> dict[str, Any]:
    res = call(app, caller, name, args, False)
    if res.is_error:
        code = res.structured.get("code")
        data: dict[str, Any] = {k: res.structured[k] for k in ("code", "fix") if k in res.structured}
        if code == "not_found":
            raise ProtocolError(RESOURCE_NOT_FOUND, f"Resource not found: {uri[:200]}", {"uri": uri[:200], **data})
        raise ProtocolError(INVALID_PARAMS, f"{res.structured.get('message', 'cannot read')} ({uri[:200]})", data)
    return res.structured


def listing(app: McpApp, caller: Caller, params: dict[str, Any] | None = None) -> dict[str, Any]:
    """resources/list: the caller's workflows and its RECENT most recent executions (older ones
    are read by their URI, see the templates), PAGE at a time; ``nextCursor`` while more follow.
    Errors: ProtocolError -32602 for a cursor this server did not give."""
    start = _offset((params or {}).get("cursor"))
    out: list[dict[str, Any]] = []
    if caller.has("read"):  # the recent runs first: the first page holds them however many workflows
        for e in _tool(app, caller, "list_executions", {"limit": RECENT}, "execution://")["executions"]:
            out.append({"uri": f"execution://{e['execution_id']}", "name": f"{e['workflow_name']} "
                        f"{e['execution_id'][:12]}", "mimeType": "application/json",
                        "description": f"{e['status']}: {e['progress']}"})
        for w in _tool(app, caller, "list_workflows", {}, "workflow://")["available_workflows"]:
            out.append({"uri": f"workflow://{w['name']}", "name": w["name"], "mimeType": "application/json",
                        "description": w["description"] or f"workflow with {w['steps']} steps"})
    page: dict[str, Any] = {"resources": out[start:start + PAGE]}
    if start + PAGE < len(out):
        page["nextCursor"] = base64.urlsafe_b64encode(f"r{start + PAGE}".encode()).decode()
    return page


def _offset(cursor: Any) -> int:
    """The position a resources/list cursor stands for (0 without one)."""
    if cursor is None:
        return 0
    try:
        text = base64.urlsafe_b64decode(str(cursor).encode()).decode()
        if text.startswith("r") and text[1:].isdigit():
            return int(text[1:])
    except (ValueError, binascii.Error, UnicodeDecodeError):
        pass
    raise ProtocolError(INVALID_PARAMS, "Invalid params: cursor is not one this server gave",
                        {"code": "invalid_argument", "fix": "pass nextCursor of the previous page, or no cursor"})


def templates() -> dict[str, Any]:
    """resources/templates/list."""
    return {"resourceTemplates": TEMPLATES}


def read(app: McpApp, caller: Caller, params: dict[str, Any]) -> dict[str, Any]:
    """resources/read. Errors: ProtocolError -32602 (bad URI, missing scope), -32002 (unknown)."""
    uri = params.get("uri")
    if not isinstance(uri, str) or "://" not in uri:
        raise ProtocolError(INVALID_PARAMS, "Invalid params: uri must be workflow://{name} or execution://{id}",
                            {"fix": "call resources/templates/list"})
    scheme, _, rest = uri.partition("://")
    if scheme == "workflow" and rest:
        view = _tool(app, caller, "get_workflow", {"workflow_name": rest}, uri)
    elif scheme == "execution" and rest:
        view = _tool(app, caller, "check_execution_status", {"execution_id": rest}, uri)
    else:
        raise ProtocolError(INVALID_PARAMS, f"Invalid params: no resource scheme '{scheme[:40]}'",
                            {"fix": "use workflow://{name} or execution://{id}"})
    return {"contents": [{"uri": uri, "mimeType": "application/json",
                          "text": json.dumps(view, ensure_ascii=False, default=str)}]}
