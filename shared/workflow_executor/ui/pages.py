"""The list pages: executions (filters, pagination), workflows, and one workflow drawn as a
graph with its validation warnings. Visibility is the MCP tools' own: these pages call them."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode

from ..access import Caller
from ..errors import WfxError
from ..mcp import tools
from ..mcp.app import McpApp
from ..models import Execution, ExecutionMode, ExecutionStatus
from ..spec.model import WorkflowDocument
from .html import badge, cost, esc, preview, seconds, tokens, when
from .pictures import picture

PAGE_SIZE = 50


def _select(name: str, options: list[str], current: str) -> str:
    opts = "".join(f'<option value="{esc(o)}"{" selected" if o == current else ""}>{esc(o or "any")}</option>'
                   for o in ["", *options])
    return f'<label>{esc(name)} <select name="{esc(name)}">{opts}</select></label>'


def _short_id(ex: Execution) -> str:
    """The first 12 characters of the id; a child's own suffix (``.step.0``) stays visible."""
    if ex.parent_id and ex.id.startswith(ex.parent_id + "."):
        return f"↳ {ex.parent_id[:8]}…{ex.id[len(ex.parent_id):]}"
    return ex.id[:12]


def executions(app: McpApp, caller: Caller, query: Mapping[str, str], prefix: str) -> str:
    """The caller's executions (everyone's for admin), newest first, filtered and paginated.
    Errors: InvalidArgument (a bad status or cursor)."""
    status, workflow = query.get("status", ""), query.get("workflow", "").strip()
    mode, who = query.get("mode", ""), query.get("caller", "").strip()
    principal = (who or None) if caller.admin else caller.principal
    page = app.executor.executions(status=status or None, workflow_name=workflow or None, principal=principal,
                                   limit=PAGE_SIZE, cursor=query.get("cursor") or None)
    items = [e for e in page.items if not mode or e.mode.value == mode]
    now = app.now()
    form = (f'<form class="filters" method="get" action="{esc(prefix)}/ui/executions">'
            + _select("status", [s.value for s in ExecutionStatus], status)
            + f' <label>workflow <input name="workflow" value="{esc(workflow)}" size="16"></label> '
            + _select("mode", [m.value for m in ExecutionMode], mode)
            + (f' <label>caller <input name="caller" value="{esc(who)}" size="10"></label>' if caller.admin else "")
            + ' <button type="submit">Filter</button></form>')
    rows = []
    for e in items:
        took = (e.ended_at_s or now) - (e.started_at_s or e.created_at_s)
        rows.append(f'<tr data-id="{esc(e.id)}" data-status="{esc(e.status.value)}">'
                    f'<td class="mono"><a href="{esc(prefix)}/ui/executions/{esc(e.id)}">{esc(_short_id(e))}</a></td>'
                    f'<td><a href="{esc(prefix)}/ui/workflows/{esc(e.workflow_name)}">{esc(e.workflow_name)}</a></td>'
                    f"<td>{badge(e.status.value)}</td><td>{esc(e.mode.value)}</td><td>{esc(e.principal)}</td>"
                    f"<td>{esc(when(e.started_at_s or e.created_at_s))}</td><td>{esc(seconds(took))}</td>"
                    f"<td>{esc(e.progress.completed)}/{esc(e.progress.total)}</td>"
                    f"<td>{esc(tokens(e.usage).split(' ')[0])}</td><td>{esc(cost(e.usage))}</td></tr>")
    keep = {k: v for k, v in {"status": status, "workflow": workflow, "mode": mode,
                              "caller": who if caller.admin else ""}.items() if v}
    nav = []
    if query.get("cursor"):
        nav.append(f'<a href="{esc(prefix)}/ui/executions?{esc(urlencode(keep))}">First page</a>')
    if page.next_cursor:
        nav.append(f'<a class="next" href="{esc(prefix)}/ui/executions?'
                   f'{esc(urlencode({**keep, "cursor": page.next_cursor}))}">Next page</a>')
    live = ' data-refresh="1"' if any(not e.finished for e in items) else ""
    return (f'<section class="executions" data-title="Executions"{live}><h1>Executions</h1>{form}'
            '<table class="list"><thead><tr><th>id</th><th>workflow</th><th>status</th><th>mode</th>'
            "<th>caller</th><th>started</th><th>duration</th><th>steps</th><th>tokens</th><th>cost</th>"
            "</tr></thead><tbody>" + ("".join(rows) or '<tr><td colspan="10" class="muted">No executions.</td></tr>')
            + f'</tbody></table><p class="pager">{" ".join(nav)}</p></section>')


def _tool(app: McpApp, caller: Caller, name: str, args: dict[str, Any]) -> dict[str, Any]:
    """Call an MCP tool for the page; its isError result becomes a WfxError-like message."""
    res = tools.call(app, caller, name, args, False)
    if res.is_error:
        raise PageError(res.structured.get("code", "error"), res.structured.get("message", ""),
                        res.structured.get("fix"))
    return res.structured


class PageError(WfxError):
    """A tool refused the page (not found, forbidden); shown with its fix."""

    def __init__(self, code: str, message: str, fix: str | None) -> None:
        super().__init__(message, fix=fix)
        self.code = code


def workflows(app: McpApp, caller: Caller, prefix: str) -> str:
    """The workflows this caller may use."""
    listed = _tool(app, caller, "list_workflows", {})
    rows = "".join(
        f'<tr><td><a href="{esc(prefix)}/ui/workflows/{esc(w["name"])}">{esc(w["name"])}</a></td>'
        f'<td>{esc(w["steps"])}</td><td>{esc(w.get("file") or "")}</td><td>{esc(w["description"])}</td></tr>'
        for w in listed["available_workflows"])
    skipped = "".join(f"<li>{esc(s['file'])}: {esc(s['message'])}</li>" for s in listed.get("skipped", []))
    return ('<section class="workflows" data-title="Workflows"><h1>Workflows</h1><table class="list"><thead><tr>'
            "<th>name</th><th>steps</th><th>file</th><th>description</th></tr></thead><tbody>"
            + (rows or '<tr><td colspan="4" class="muted">No workflows.</td></tr>') + "</tbody></table>"
            + (f"<h2>Files that could not be loaded</h2><ul>{skipped}</ul>" if skipped else "") + "</section>")


def workflow(app: McpApp, caller: Caller, name: str, prefix: str) -> str:
    """One workflow: its graph with warnings on the nodes, its steps and the normalised document."""
    view = _tool(app, caller, "get_workflow", {"workflow_name": name})
    doc = WorkflowDocument.model_validate(view["document"])
    try:
        _, report = app.executor.check(view["document"], name=name)
        warnings = report.warnings
    except WfxError:
        warnings = []
    wf = doc.workflow(view["workflow_name"])
    mine = [w for w in warnings if w.path.startswith(f"workflows.{wf.id}.")]
    warn = "".join(f"<li><span class=\"mono\">{esc(w.path)}</span>: {esc(w.message)}</li>" for w in mine)
    return (f'<section class="workflow" data-title="{esc(wf.id)}"><h1>{esc(wf.id)} '
            f'<span class="muted">v{esc(view["version"])}</span></h1>'
            f'<p>{esc(view.get("description") or "")}</p>'
            f'<p><a href="{esc(prefix)}/ui/executions?{esc(urlencode({"workflow": wf.id}))}">Its executions</a></p>'
            + (f'<h2>Warnings</h2><ul class="warnings">{warn}</ul>' if warn else "")
            + '<h2>Graph</h2><div class="scroll">'
            + picture(doc, warnings, wf.id, link=f"{prefix}/ui/workflows/") + "</div>"
            + f"<h2>Document</h2><pre>{preview(view['document'])}</pre></section>")
