"""The Gantt chart of one execution: a row per step record (and per running step), bars on a
shared time axis so parallel branches overlap visibly, child executions nested below the step
that started them. Server-side SVG with presentation attributes only."""

from __future__ import annotations

from dataclasses import dataclass

from .html import esc, seconds

COLORS = {"waiting": "#f9ab00", "completed": "#34a853", "failed": "#ea4335", "skipped": "#bdc1c6", "running": "#4285f4",
          "cancelled": "#fbbc04", "timeout": "#fbbc04"}
LABEL_W, BAR_W, ROW_H = 210, 640, 22


@dataclass(frozen=True)
class Row:
    """One bar. ``indent`` 1 for a child execution's steps; ``href`` where the label links."""

    label: str
    start: float
    end: float
    status: str
    indent: int = 0
    href: str | None = None
    note: str = ""


def render(rows: list[Row], t0: float, t1: float) -> str:
    """SVG of ``rows`` over the interval [t0, t1] (seconds since the epoch)."""
    span = max(t1 - t0, 1e-3)
    height = 28 + ROW_H * len(rows) + 8
    width = LABEL_W + BAR_W + 90
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" class="wfx-timeline" role="img" aria-label="timeline" '
           f'width="{width}" height="{height}" viewBox="0 0 {width} {height}" font-family="sans-serif" '
           f'font-size="12">']
    for k in range(6):  # the axis: six ticks
        x = LABEL_W + BAR_W * k / 5
        out.append(f'<line x1="{x:.1f}" y1="18" x2="{x:.1f}" y2="{height - 6}" stroke="#e8eaed"/>'
                   f'<text x="{x:.1f}" y="12" text-anchor="middle" fill="#5f6368" font-size="10">'
                   f"{esc(seconds(span * k / 5))}</text>")
    for i, r in enumerate(rows):
        y = 24 + ROW_H * i
        x = LABEL_W + BAR_W * (r.start - t0) / span
        w = max(BAR_W * (r.end - r.start) / span, 2.0)
        color = COLORS.get(r.status, "#9aa0a6")
        label = ("↳ " if r.indent else "") + r.label
        text = (f'<text x="{8 + 14 * r.indent}" y="{y + 14}" fill="#202124">{esc(label[:34])}</text>')
        if r.href:
            text = f'<a href="{esc(r.href)}">{text}</a>'
        dash = ' stroke="#1a73e8" stroke-dasharray="3,2" fill-opacity="0.45"' if r.status == "running" else ""
        tip = f"{r.label}: {r.status}, {seconds(r.end - r.start)}" + (f", {r.note}" if r.note else "")
        out.append(f'<g class="bar" data-step="{esc(r.label)}" data-status="{esc(r.status)}">'
                   f"<title>{esc(tip)}</title>{text}"
                   f'<rect x="{x:.1f}" y="{y + 3}" width="{w:.1f}" height="{ROW_H - 6}" rx="3" '
                   f'fill="{color}"{dash}/>'
                   f'<text x="{x + w + 4:.1f}" y="{y + 14}" fill="#5f6368" font-size="10">'
                   f"{esc(seconds(r.end - r.start))}{esc(' ' + r.note if r.note else '')}</text></g>")
    out.append("</svg>")
    return "".join(out)
