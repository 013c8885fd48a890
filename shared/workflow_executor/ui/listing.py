"""The executions list: filters the store answers over every stored run (status, workflow,
caller, time range, id prefix, error text: ExecutionQuery), the mode filtered over the pages read,
an error column, sortable columns (app.js sorts by each cell's data-v), and checkboxes for a bulk
cancel (sent as MCP cancel_execution calls, which check the scope again). An exact id opens just
that run."""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import urlencode

from ..access import Caller
from ..errors import WfxError
from ..mcp.app import McpApp
from ..mcp.run_tools import owned
from ..models import Execution, ExecutionMode, ExecutionStatus
from ..timeparse import point
from .html import badge, cost, esc, seconds, tokens, when

PAGE_SIZE = 50
SCAN_PAGES = 20  # pages of PAGE_SIZE read at most when filtering by mode
ERROR_CHARS = 120


def _select(name: str, options: list[str], current: str) -> str:
    opts = "".join(f'<option value="{esc(o)}"{" selected" if o == current else ""}>{esc(o or "any")}</option>'
                   for o in ["", *options])
    return f'<label>{esc(name)} <select name="{esc(name)}">{opts}</select></label>'


def _short_id(ex: Execution) -> str:
    """The first 12 characters of the id; a child's own suffix (``.step.0``) stays visible."""
    if ex.parent_id and ex.id.startswith(ex.parent_id + "."):
        return f"↳ {ex.parent_id[:8]}…{ex.id[len(ex.parent_id):]}"
    return ex.id[:12]


def _error(ex: Execution) -> str:
    return f"{ex.error.code}: {ex.error.message}" if ex.error else ""


def executions(app: McpApp, caller: Caller, query: Mapping[str, str], prefix: str) -> str:
    """The caller's executions (everyone's for admin), newest first, filtered and paginated.
    Errors: InvalidArgument (a bad status, time or cursor)."""
    status, workflow = query.get("status", ""), query.get("workflow", "").strip()
    mode, who = query.get("mode", ""), query.get("caller", "").strip()
    ident, text = query.get("id", "").strip(), query.get("q", "").strip()
    since, until = point(query.get("since"), "since"), point(query.get("until"), "until")
    principal = (who or None) if caller.admin else caller.principal
    exact: Execution | None = None
    if ident:
        try:
            exact = owned(app, caller, ident)
        except WfxError:
            exact = None
    search = {"created_from_s": since, "created_to_s": until, "id_prefix": ident or None, "error_text": text or None}
    items: list[Execution] = []
    cursor, scanned, nxt = query.get("cursor") or None, 0, None
    for _ in range(SCAN_PAGES if mode else 1):  # the mode is not a store filter: read pages for it
        if exact is not None:
            break
        page = app.executor.executions(status=status or None, workflow_name=workflow or None, principal=principal,
                                       limit=PAGE_SIZE, cursor=cursor, **search)
        scanned += len(page.items)
        items += [e for e in page.items if not mode or e.mode.value == mode]
        cursor = nxt = page.next_cursor
        if not cursor or len(items) >= PAGE_SIZE:
            break
    if exact is not None:
        items, nxt = [exact], None
    now = app.now()
    form = (f'<form class="filters" method="get" action="{esc(prefix)}/ui/executions">'
            + _select("status", [s.value for s in ExecutionStatus], status)
            + f' <label>workflow <input name="workflow" value="{esc(workflow)}" size="14"></label> '
            + _select("mode", [m.value for m in ExecutionMode], mode)
            + (f' <label>caller <input name="caller" value="{esc(who)}" size="10"></label>' if caller.admin else "")
            + f' <label>id <input name="id" value="{esc(ident)}" size="12" placeholder="id or prefix"></label>'
            + f' <label>error text <input name="q" value="{esc(query.get("q", ""))}" size="14"></label>'
            + f' <label>from <input type="datetime-local" name="since" value="{esc(query.get("since", ""))}"></label>'
            + f' <label>to <input type="datetime-local" name="until" value="{esc(query.get("until", ""))}"></label>'
            + ' <span class="muted">(UTC)</span> <button type="submit">Filter</button></form>')
    cancel = caller.has("cancel")
    rows = []
    for e in items:
        started = e.started_at_s or e.created_at_s
        took = (e.ended_at_s or now) - started
        u = e.usage
        box = (f'<input type="checkbox" class="pick" value="{esc(e.id)}" aria-label="select {esc(e.id)}">'
               if cancel and not e.finished else "")
        err = _error(e)
        rows.append(
            f'<tr data-id="{esc(e.id)}" data-status="{esc(e.status.value)}"><td>{box}</td>'
            f'<td class="mono" data-v="{esc(e.id)}"><a href="{esc(prefix)}/ui/executions/{esc(e.id)}">'
            f"{esc(_short_id(e))}</a></td>"
            f'<td data-v="{esc(e.workflow_name)}"><a href="{esc(prefix)}/ui/workflows/{esc(e.workflow_name)}">'
            f"{esc(e.workflow_name)}</a></td>"
            f'<td data-v="{esc(e.status.value)}">{badge(e.status.value)}</td><td>{esc(e.mode.value)}</td>'
            f"<td>{esc(e.principal)}</td><td data-v=\"{started:.3f}\">{esc(when(started))}</td>"
            f'<td data-v="{took:.6f}">{esc(seconds(took))}</td>'
            f"<td>{esc(e.progress.completed)}/{esc(e.progress.total)}</td>"
            f'<td data-v="{u.prompt_tokens + u.completion_tokens}">{esc(tokens(u).split(" ")[0])}</td>'
            f'<td data-v="{u.cost_usd:.8f}">{esc(cost(u))}</td>'
            f'<td class="err" title="{esc(err)}">{esc(err[:ERROR_CHARS])}</td></tr>')
    keep = {k: v for k, v in {"status": status, "workflow": workflow, "mode": mode,
                              "caller": who if caller.admin else "", "id": ident, "q": query.get("q", ""),
                              "since": query.get("since", ""), "until": query.get("until", "")}.items() if v}
    nav = []
    if query.get("cursor"):
        nav.append(f'<a href="{esc(prefix)}/ui/executions?{esc(urlencode(keep))}">First page</a>')
    if nxt:
        nav.append(f'<a class="next" href="{esc(prefix)}/ui/executions?{esc(urlencode({**keep, "cursor": nxt}))}">'
                   "Next page</a>")
    note = (f'<p class="muted">Mode {esc(mode)} among {scanned:,} executions read; Next page reads on.</p>'
            if mode and nxt else "")
    live = ' data-refresh="1"' if any(not e.finished for e in items) else ""
    bulk = ('<p class="bulk"><button type="button" class="danger" data-action="bulk-cancel">Cancel selected</button>'
            "</p>" if cancel and any(not e.finished for e in items) else "")
    head = "".join(f'<th{f" data-sort={chr(34)}{k}{chr(34)}" if k else ""}>{esc(t)}</th>' for t, k in (
        ("", ""), ("id", "text"), ("workflow", "text"), ("status", "text"), ("mode", ""), ("caller", ""),
        ("started", "num"), ("duration", "num"), ("steps", ""), ("tokens", "num"), ("cost", "num"), ("error", "")))
    return (f'<section class="executions" data-title="Executions"{live}><h1>Executions</h1>{form}{bulk}'
            f'<table class="list sortable"><thead><tr>{head}</tr></thead><tbody>'
            + ("".join(rows) or '<tr><td colspan="12" class="muted">No executions.</td></tr>')
            + f'</tbody></table>{note}<p class="pager">{" ".join(nav)}</p></section>')
