"""HTML building blocks of the web view: escaping, the page shell, the security headers, and
small formatters (times, durations, usage, JSON previews). Every value from a store, a caller
or a workflow passes through ``esc``."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from html import escape
from typing import Any

from ..models import Usage
from ..usage_view import dollars

# No inline script or style anywhere: a string that slipped through escaping still cannot run.
CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
       "base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
HTML_HEADERS = {"Content-Type": "text/html; charset=utf-8", "Cache-Control": "no-store",
                "Content-Security-Policy": CSP, "X-Content-Type-Options": "nosniff",
                "Referrer-Policy": "no-referrer", "X-Frame-Options": "DENY"}
PREVIEW_BYTES = 4000


def esc(value: object) -> str:
    """Text for HTML content or a quoted attribute."""
    return escape("" if value is None else str(value), quote=True)


def when(ts: float | None) -> str:
    """UTC time with milliseconds, or an empty string."""
    if ts is None:
        return ""
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]


def seconds(value: float | None) -> str:
    """A duration for people: 850 ms, 3.21 s, 4 min 05 s."""
    if value is None:
        return ""
    if value < 0.01:
        return f"{value * 1000:.2f} ms"
    if value < 1:
        return f"{value * 1000:.0f} ms"
    if value < 120:
        return f"{value:.2f} s"
    return f"{int(value // 60)} min {int(value % 60):02d} s"


def tokens(u: Usage | None) -> str:
    """'1,234 (1,000 in / 234 out)' or empty when no tokens were used."""
    if u is None or not (u.prompt_tokens or u.completion_tokens):
        return ""
    return f"{u.prompt_tokens + u.completion_tokens:,} ({u.prompt_tokens:,} in / {u.completion_tokens:,} out)"


def cost(u: Usage | None) -> str:
    return dollars(u.cost_usd) if u is not None and u.cost_usd else ""


def memory(kb: int | None) -> str:
    return f"{kb / 1024:.1f} MiB" if kb else ""


def preview(value: Any) -> str:
    """Pretty JSON of ``value`` cut at PREVIEW_BYTES (escaped, for a <pre>)."""
    try:
        text = json.dumps(value, indent=2, ensure_ascii=False, default=str)
    except ValueError:
        text = repr(value)
    if len(text) > PREVIEW_BYTES:
        text = text[:PREVIEW_BYTES] + f"\n… ({len(text):,} characters, cut)"
    return esc(text)


def badge(status: str) -> str:
    return f'<span class="badge st-{esc(status)}">{esc(status)}</span>'


def shell(prefix: str) -> str:
    """The one page every /ui address serves: no data in it; app.js fetches the caller's view
    with the API key kept in this browser session."""
    p = esc(prefix)
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Workflow Executor</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="{p}/ui/static/app.css">
<script src="{p}/ui/static/app.js" defer></script>
</head><body>
<header><a class="brand" href="{p}/ui/executions">Workflow Executor</a>
<nav><a href="{p}/ui/executions">Executions</a> <a href="{p}/ui/workflows">Workflows</a>
 <a href="{p}/ui/schedules">Schedules</a></nav>
<span id="who"></span><button id="forget" type="button" hidden>Forget key</button></header>
<form id="keyform" hidden><label>API key <input id="keyinput" type="password" autocomplete="off"
 placeholder="wfx_..."></label> <button type="submit">Use key</button>
<p id="keymsg" class="muted">This server needs an API key. It is kept in this browser tab's session only.</p></form>
<p id="flash" role="status"></p>
<main id="main"><p class="muted">Loading…</p></main>
<noscript>This view needs JavaScript (no external scripts are loaded).</noscript>
</body></html>
"""
