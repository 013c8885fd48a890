"""The workflows page: for each workflow the caller may use, its runs, success rate, p50/p95
duration, tokens and cost over the last 24 hours or 7 days, a small chart of runs over that
window (server-side SVG), and its last run. Read from the hourly aggregates kept as runs finish
(``ports.StatsStore``): the page costs the same with a hundred runs stored or a million."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode

from ..access import Caller
from ..mcp.app import McpApp
from ..ports import StatsStore
from ..usage_view import dollars
from ..workflow_stats import WINDOWS, Summary, hour_of, summarize
from .html import badge, esc, seconds

CHART_W, CHART_H = 120, 28


def chart(series: list[tuple[int, int]], label: str) -> str:
    """Runs per slice as bars (failed part on top in red), oldest on the left."""
    top = max((r for r, _ in series), default=0) or 1
    w = CHART_W / max(len(series), 1)
    bars = []
    for i, (runs, failed) in enumerate(series):
        if not runs:
            continue
        h = max(CHART_H * runs / top, 1.0)
        hf = CHART_H * failed / top
        x = i * w
        bars.append(f'<rect class="ok" x="{x:.1f}" y="{CHART_H - h:.1f}" width="{max(w - 1, 1):.1f}" '
                    f'height="{h:.1f}"><title>{runs} runs, {failed} not completed</title></rect>')
        if failed:
            bars.append(f'<rect class="bad" x="{x:.1f}" y="{CHART_H - h:.1f}" width="{max(w - 1, 1):.1f}" '
                        f'height="{hf:.1f}"></rect>')
    return (f'<svg class="wfx-spark" role="img" aria-label="{esc(label)}" width="{CHART_W}" height="{CHART_H}" '
            f'viewBox="0 0 {CHART_W} {CHART_H}" xmlns="http://www.w3.org/2000/svg">'
            f'<line class="axis" x1="0" y1="{CHART_H - 0.5}" x2="{CHART_W}" y2="{CHART_H - 0.5}"></line>'
            + "".join(bars) + "</svg>")


def summaries(app: McpApp, window: str) -> dict[str, Summary]:
    """Each workflow's summary over ``window`` (24h or 7d) from the store's aggregates."""
    store = app.services.store
    if not isinstance(store, StatsStore):
        return {}
    hours = WINDOWS[window]
    now = app.now()
    return summarize(store.stats(hour_of(now) - hours + 1), now, hours)


def _took(value: float | None) -> str:
    return esc(seconds(value)) if value is not None else ""


def _rate(s: Summary | None) -> str:
    return "" if s is None or s.success_rate is None else f"{s.success_rate * 100:.1f} %"


def workflows(app: McpApp, caller: Caller, query: Mapping[str, str], prefix: str,
              listed: dict[str, Any]) -> str:
    """The page over ``listed`` (list_workflows' answer for this caller)."""
    window = query.get("window", "24h")
    window = window if window in WINDOWS else "24h"
    stats = summaries(app, window)
    mine = None if caller.admin else caller.principal
    rows = []
    for w in listed["available_workflows"]:
        name = w["name"]
        s = stats.get(name)
        last = app.executor.executions(workflow_name=name, principal=mine, limit=1).items
        last_cell = (f'<a href="{esc(prefix)}/ui/executions/{esc(last[0].id)}">{badge(last[0].status.value)}</a>'
                     if last else "")
        rows.append(
            f'<tr data-workflow="{esc(name)}"><td><a href="{esc(prefix)}/ui/workflows/{esc(name)}">{esc(name)}</a>'
            f'</td><td class="runs">{s.runs if s else 0}</td><td class="rate">{_rate(s)}</td>'
            f'<td class="p50">{_took(s.p50_s if s else None)}</td><td class="p95">{_took(s.p95_s if s else None)}</td>'
            f'<td>{f"{s.tokens_in + s.tokens_out:,}" if s and s.tokens_in + s.tokens_out else ""}</td>'
            f'<td>{esc(dollars(s.cost_usd)) if s and s.cost_usd else ""}</td>'
            f'<td>{chart(s.series, f"runs of {name} over {window}") if s else ""}</td><td>{last_cell}</td>'
            f'<td>{esc(w["steps"])}</td><td>{esc(w["description"])}</td></tr>')
    on = ' class="on"'
    tabs = " ".join(f'<a href="{esc(prefix)}/ui/workflows?{esc(urlencode({"window": k}))}"'
                    f'{on if k == window else ""}>{esc(k)}</a>' for k in WINDOWS)
    skipped = "".join(f"<li>{esc(s['file'])}: {esc(s['message'])}</li>" for s in listed.get("skipped", []))
    return (f'<section class="workflows" data-title="Workflows" data-window="{esc(window)}"><h1>Workflows</h1>'
            f'<p class="tabs">Over the last {tabs}</p><table class="list"><thead><tr>'
            "<th>name</th><th>runs</th><th>success</th><th>p50</th><th>p95</th><th>tokens</th><th>cost</th>"
            "<th>runs over time</th><th>last run</th><th>steps</th><th>description</th></tr></thead><tbody>"
            + ("".join(rows) or '<tr><td colspan="11" class="muted">No workflows.</td></tr>') + "</tbody></table>"
            + (f"<h2>Files that could not be loaded</h2><ul>{skipped}</ul>" if skipped else "") + "</section>")
