"""Draw a diagram as SVG (presentation attributes only, so it renders inline under a strict
CSP and as a standalone file) or as Mermaid text. Every text from a document is escaped."""

from __future__ import annotations

import re
from collections.abc import Mapping
from html import escape

from .diagram import END, START, Diagram
from .layout import Box, layout

FILL = {"function": "#e8f0fe", "agent": "#fef7e0", "tool": "#e6f4ea", "invoke_workflow": "#f3e8fd",
        "start": "#eceff1", "end": "#eceff1"}
STATUS_FILL = {"waiting": "#fde293",
               "completed": "#ceead6", "failed": "#fad2cf", "running": "#d2e3fc", "skipped": "#f1f3f4",
               "cancelled": "#fde293", "timeout": "#fde293"}
EDGE_STROKE = {"depends": "#80868b", "join": "#1a73e8", "branch": "#b06000", "start": "#9aa0a6"}


def _t(value: object) -> str:
    return escape(str(value), quote=True)


def _path(a: Box, b: Box, back: bool) -> tuple[str, float, float]:
    """SVG path data and the label point of an edge from ``a`` to ``b``."""
    if back:  # against the flow: an arc on the right-hand side
        x1, y1 = a.x + a.w / 2, a.y + a.h / 2
        x2, y2 = b.x + b.w / 2, b.y + b.h / 2
        bend = max(x1, x2) + 60
        data = f"M{x1:.1f},{y1:.1f} C{bend:.1f},{y1:.1f} {bend:.1f},{y2:.1f} {x2:.1f},{y2:.1f}"
        return data, bend - 14, (y1 + y2) / 2
    x1, y1 = a.x, a.y + a.h
    x2, y2 = b.x, b.y
    dy = max((y2 - y1) / 2, 20.0)
    mx, my = (x1 + x2) / 2, (y1 + y2) / 2
    return f"M{x1:.1f},{y1:.1f} C{x1:.1f},{y1 + dy:.1f} {x2:.1f},{y2 - dy:.1f} {x2:.1f},{y2:.1f}", mx, my


LABEL_CHAR_W, LABEL_H = 6.2, 14.0  # an 11 px sans-serif label: width per character, line height


def _free_spot(x: float, y: float, text: str, taken: list[tuple[float, float, float, float]]) -> tuple[float, float]:
    """Where an edge label goes: at (x, y) unless it would cover a label already placed (two
    condition branches of one step meet there), then one line lower until it is free."""
    w = LABEL_CHAR_W * len(text)
    for _ in range(50):  # bounded: a label never wanders far from its edge
        box = (x, y - LABEL_H + 3, x + w, y + 3)
        if not any(box[0] < t[2] and t[0] < box[2] and box[1] < t[3] and t[1] < box[3] for t in taken):
            break
        y += LABEL_H
    taken.append((x, y - LABEL_H + 3, x + w, y + 3))
    return x, y


def render(d: Diagram, *, statuses: Mapping[str, str] | None = None, link: str | None = None) -> str:
    """The SVG document of ``d``. ``statuses`` (step id -> step status) colours the steps of a
    run; ``link`` (a URL prefix) makes child-workflow nodes links to ``link + name``."""
    lay = layout(d)
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" class="wfx-graph" role="img" '
           f'aria-label="workflow {_t(d.name)}" width="{lay.width:.0f}" height="{lay.height:.0f}" '
           f'viewBox="0 0 {lay.width:.0f} {lay.height:.0f}" font-family="sans-serif" font-size="12">',
           f"<title>workflow {_t(d.name)}</title>",
           '<defs><marker id="wfx-arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" '
           'markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#5f6368"/>'
           "</marker></defs>"]
    taken: list[tuple[float, float, float, float]] = []
    for e in d.edges:
        a, b = lay.boxes[e.src], lay.boxes[e.dst]
        data, lx, ly = _path(a, b, (e.src, e.dst) in lay.back)
        if e.label:
            lx, ly = _free_spot(lx + 4, ly, e.label, taken)
        dash = ' stroke-dasharray="5,4"' if e.kind == "depends" else ""
        out.append(f'<g class="edge edge-{e.kind}" data-src="{_t(e.src)}" data-dst="{_t(e.dst)}">'
                   f'<path d="{data}" fill="none" stroke="{EDGE_STROKE.get(e.kind, "#5f6368")}" '
                   f'stroke-width="1.4"{dash} marker-end="url(#wfx-arrow)"/>')
        if e.label:
            out.append(f'<text x="{lx:.1f}" y="{ly:.1f}" fill="#3c4043" font-size="11" '
                       f'paint-order="stroke" stroke="#ffffff" stroke-width="3">{_t(e.label)}</text>')
        out.append("</g>")
    for nid, n in d.nodes.items():
        box = lay.boxes[nid]
        status = (statuses or {}).get(nid)
        fill = STATUS_FILL.get(status or "", FILL.get(n.kind, "#ffffff"))
        stroke, dash = ("#d93025", ' stroke-dasharray="4,3"') if n.warnings else ("#5f6368", "")
        rx = box.h / 2 if nid in (START, END) else 6
        x0 = box.x - box.w / 2
        head = f'<g class="node node-{_t(n.kind)}" data-step="{_t(nid)}"' + (
            f' data-status="{_t(status)}"' if status else "") + ">"
        tip = [n.label, n.detail, *n.badges, *(f"warning: {w}" for w in n.warnings)]
        if status:
            tip.append(f"status: {status}")
        body = [f"<title>{_t(chr(10).join(t for t in tip if t))}</title>",
                f'<rect x="{x0:.1f}" y="{box.y:.1f}" width="{box.w:.1f}" height="{box.h:.1f}" rx="{rx:.1f}" '
                f'fill="{fill}" stroke="{stroke}" stroke-width="1.3"{dash}/>',
                f'<text x="{box.x:.1f}" y="{box.y + 16:.1f}" text-anchor="middle" font-weight="bold" '
                f'fill="#202124">{_t(n.label)}</text>']
        y = box.y + 16
        for line, color in [(n.detail, "#3c4043"), *((b, "#5f6368") for b in n.badges)] + (
                [(f"⚠ {len(n.warnings)} warning{'s' if len(n.warnings) > 1 else ''}", "#d93025")]
                if n.warnings else []):
            if line:
                y += 14
                body.append(f'<text x="{box.x:.1f}" y="{y:.1f}" text-anchor="middle" font-size="11" '
                            f'fill="{color}">{_t(line)}</text>')
        inner = "".join(body)
        if link and n.link:
            inner = f'<a href="{_t(link + n.link)}">{inner}</a>'
        out.append(head + inner + "</g>")
    out.append("</svg>")
    return "\n".join(out)


_MERMAID_BAD = re.compile(r'["<>{}\[\]|`#;]')


def _m(text: str) -> str:
    """Mermaid-safe label text (its entity codes for the characters that end a label)."""
    return _MERMAID_BAD.sub(lambda m: f"#{ord(m.group(0))};", text)


def mermaid(d: Diagram) -> str:
    """``flowchart TD`` text of ``d`` (node ids are n0, n1, ... so any step id is safe)."""
    ids = {nid: f"n{k}" for k, nid in enumerate(d.nodes)}
    lines = ["flowchart TD"]
    for nid, n in d.nodes.items():
        text = "<br/>".join(_m(t) for t in [n.label, n.detail, *n.badges] if t)
        if n.warnings:
            text += "<br/>" + _m(f"⚠ {len(n.warnings)} warnings")
        shape = ('(["', '"])') if nid in (START, END) else ('["', '"]')
        lines.append(f"  {ids[nid]}{shape[0]}{text}{shape[1]}")
    for e in d.edges:
        arrow = "-.->" if e.kind == "depends" else "-->"
        label = f"|{_m(e.label)}|" if e.label and e.kind != "depends" else ""
        lines.append(f"  {ids[e.src]} {arrow}{label} {ids[e.dst]}")
    for nid, n in d.nodes.items():
        if n.warnings:
            lines.append(f"  style {ids[nid]} stroke:#d93025,stroke-dasharray:4 3")
    return "\n".join(lines) + "\n"
