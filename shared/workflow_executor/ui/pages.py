"""The workflow pages: the list (with metrics, ui.metrics), and one workflow drawn as a graph
with its validation warnings, its start-a-run form and its source. Visibility is the MCP tools'
own: these pages call them."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode

from ..access import Caller
from ..errors import WfxError
from ..mcp import tools
from ..mcp.app import McpApp
from ..spec.model import WorkflowDocument
from . import metrics, runform, source
from .html import esc, preview
from .pictures import picture


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


def workflows(app: McpApp, caller: Caller, query: Mapping[str, str], prefix: str) -> str:
    """The workflows this caller may use, with their metrics (ui.metrics)."""
    return metrics.workflows(app, caller, query, prefix, _tool(app, caller, "list_workflows", {}))


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
            + runform.form(caller, wf, wf.timeout) + _source(app, wf.id, view["document"]) + "</section>")


def _source(app: McpApp, name: str, document: dict[str, Any]) -> str:
    """The YAML: its file's text for a file-backed workflow, else the stored document as YAML."""
    stored = app.services.registry.get(name)
    text = source.text_of(stored, app.services.settings) if stored is not None else preview(document)
    body = esc(text) if stored is not None else text
    return (f'<h2>Source</h2><div class="payload"><button type="button" class="copy" data-action="copy">Copy'
            f'</button><pre class="raw source">{body}</pre></div>')
