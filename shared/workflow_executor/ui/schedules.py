"""The triggers and schedules page: each schedule (cron, time zone, next firing, last firing and
its run) and each trigger (topic, filter, last run) of the workflows the caller may use, and for
an admin a Pause / Resume button (``ports.PauseStore``; the scheduler and the trigger router
skip a paused one). Pausing is the one write the web view makes itself (POST, admin only)."""

from __future__ import annotations

import json

from ..access import Caller
from ..cron import CronError
from ..errors import Forbidden, InvalidArgument
from ..mcp.app import McpApp
from ..ports import PauseStore
from ..schedules import PRINCIPAL, load_entries
from ..triggers import TRIGGER_PRINCIPAL, load_routes
from .html import badge, esc, when


def _last(app: McpApp, caller: Caller, workflow: str, principal: str, prefix: str) -> str:
    if not caller.admin and caller.principal != principal:
        return ""  # the scheduler's and the triggers' runs are not this caller's to see
    last = app.executor.executions(workflow_name=workflow, principal=principal, limit=1).items
    if not last:
        return '<span class="muted">never</span>'
    e = last[0]
    return (f'{esc(when(e.created_at_s))} <a href="{esc(prefix)}/ui/executions/{esc(e.id)}">'
            f"{badge(e.status.value)}</a>")


def _toggle(caller: Caller, key: str, paused: bool) -> str:
    if not caller.admin:
        return ""
    verb = "resume" if paused else "pause"
    return (f'<button type="button" data-action="pause" data-key="{esc(key)}" data-verb="{verb}">'
            f"{verb.capitalize()}</button>")


def page(app: McpApp, caller: Caller, prefix: str) -> str:
    """The page for ``caller``."""
    registry, store, now = app.services.registry, app.services.store, app.now()
    paused = store.paused() if isinstance(store, PauseStore) else set()
    rows = []
    for e in load_entries(registry, 0.0, now):
        if not caller.may_use(e.workflow):
            continue
        try:
            nxt = when(e.cron.next_after(now))
        except CronError:
            nxt = ""
        off = e.key in paused
        rows.append(f'<tr data-key="{esc(e.key)}" data-paused="{int(off)}"><td><a href="{esc(prefix)}/ui/workflows/'
                    f'{esc(e.workflow)}">{esc(e.workflow)}</a></td><td class="mono">{esc(e.expr)}</td>'
                    f"<td>{esc(e.cron.zone.key)}</td>"
                    f'<td class="next">{"paused" if off else esc(nxt)}</td>'
                    f"<td>{_last(app, caller, e.workflow, PRINCIPAL, prefix)}</td><td>{esc(e.overlap)}</td>"
                    f"<td>{_toggle(caller, e.key, off)}</td></tr>")
    trig = []
    for r in load_routes(registry):
        if not caller.may_use(r.workflow):
            continue
        off = r.key in paused
        trig.append(f'<tr data-key="{esc(r.key)}" data-paused="{int(off)}"><td><a href="{esc(prefix)}/ui/workflows/'
                    f'{esc(r.workflow)}">{esc(r.workflow)}</a></td><td class="mono">{esc(r.topic)}</td>'
                    f'<td class="mono">{esc(json.dumps(r.filter)) if r.filter else ""}</td>'
                    f'<td>{"paused" if off else "listening"}</td>'
                    f"<td>{_last(app, caller, r.workflow, TRIGGER_PRINCIPAL, prefix)}</td>"
                    f"<td>{_toggle(caller, r.key, off)}</td></tr>")
    empty = '<tr><td colspan="7" class="muted">None.</td></tr>'
    return ('<section class="schedules" data-title="Triggers and schedules"><h1>Schedules</h1>'
            '<table class="list"><thead><tr><th>workflow</th><th>cron</th><th>time zone</th><th>next firing (UTC)'
            "</th><th>last firing</th><th>overlap</th><th></th></tr></thead><tbody>" + ("".join(rows) or empty)
            + '</tbody></table><h1>Triggers</h1><table class="list"><thead><tr><th>workflow</th><th>topic</th>'
            "<th>filter</th><th>state</th><th>last run</th><th></th></tr></thead><tbody>"
            + ("".join(trig) or empty) + "</tbody></table></section>")


def set_paused(app: McpApp, caller: Caller, key: str, verb: str) -> None:
    """Pause or resume ``key`` (admin only). Errors: Forbidden, InvalidArgument."""
    if not caller.admin:
        raise Forbidden("pausing a schedule or trigger needs the 'admin' scope", fix="use an admin key")
    store = app.services.store
    if verb not in ("pause", "resume") or not key.startswith(("schedule:", "trigger:")):
        raise InvalidArgument("use /ui/api/schedules/<key>/pause or /resume", fix="use the page's buttons")
    if not isinstance(store, PauseStore):
        raise InvalidArgument("this store cannot keep paused schedules", fix="use the SQLite or Firestore store")
    store.set_paused(key, verb == "pause")
