"""A small layered layout (top to bottom) for diagrams: cycles broken by depth-first search,
layers by longest path, order within a layer by barycentre sweeps, then coordinates. Enough
for workflows of a few hundred steps; no dependency, deterministic."""

from __future__ import annotations

from dataclasses import dataclass

from .diagram import Diagram, Node

LAYER_GAP = 56
NODE_GAP = 28
MARGIN = 20
CHAR_W = 6.6


@dataclass(frozen=True)
class Box:
    """A placed node: centre x, top y, width, height."""

    x: float
    y: float
    w: float
    h: float


@dataclass(frozen=True)
class Layout:
    boxes: dict[str, Box]
    layers: dict[str, int]
    back: frozenset[tuple[str, str]]  # edges drawn against the flow (cycles)
    width: float
    height: float


def node_size(n: Node) -> tuple[float, float]:
    """Width and height from the node's text (labels are cut to 48 characters upstream)."""
    lines = [n.label, n.detail, *n.badges] + (["⚠ warning"] if n.warnings else [])
    longest = max(len(t) for t in lines if t is not None)
    w = min(max(longest * CHAR_W + 24, 80.0), 340.0)
    h = 24.0 + 14.0 * sum(1 for t in lines[1:] if t)
    return w, h


def _back_edges(ids: list[str], succ: dict[str, list[str]]) -> set[tuple[str, str]]:
    state: dict[str, int] = {}
    back: set[tuple[str, str]] = set()
    for root in ids:
        if root in state:
            continue
        stack = [(root, iter(succ[root]))]
        state[root] = 1
        while stack:
            node, it = stack[-1]
            nxt = next(it, None)
            if nxt is None:
                state[node] = 2
                stack.pop()
            elif state.get(nxt) == 1:
                back.add((node, nxt))
            elif nxt not in state:
                state[nxt] = 1
                stack.append((nxt, iter(succ[nxt])))
    return back


def layout(d: Diagram) -> Layout:
    """Place every node of ``d``."""
    ids = list(d.nodes)
    succ: dict[str, list[str]] = {i: [] for i in ids}
    for e in d.edges:
        if e.dst not in succ[e.src] and e.src != e.dst:
            succ[e.src].append(e.dst)
    back = _back_edges(ids, succ)
    fwd = {i: [t for t in succ[i] if (i, t) not in back] for i in ids}
    indeg = {i: 0 for i in ids}
    for i in ids:
        for t in fwd[i]:
            indeg[t] += 1
    layer = {i: 0 for i in ids}
    todo = [i for i in ids if indeg[i] == 0]
    while todo:
        i = todo.pop(0)
        for t in fwd[i]:
            layer[t] = max(layer[t], layer[i] + 1)
            indeg[t] -= 1
            if indeg[t] == 0:
                todo.append(t)
    rows: dict[int, list[str]] = {}
    for i in ids:
        rows.setdefault(layer[i], []).append(i)
    preds: dict[str, list[str]] = {i: [] for i in ids}
    for i in ids:
        for t in fwd[i]:
            preds[t].append(i)
    pos = {i: float(k) for row in rows.values() for k, i in enumerate(row)}
    depth = max(rows) if rows else 0
    for sweep in range(4):  # barycentre: downwards over parents, upwards over children
        order = range(1, depth + 1) if sweep % 2 == 0 else range(depth - 1, -1, -1)
        for li in order:
            row = rows[li]
            near = preds if sweep % 2 == 0 else fwd

            def bary(i: str, near: dict[str, list[str]] = near) -> float:
                ns = near[i]
                return sum(pos[n] for n in ns) / len(ns) if ns else pos[i]

            row.sort(key=lambda i: (bary(i), pos[i]))
            for k, i in enumerate(row):
                pos[i] = float(k)
    sizes = {i: node_size(d.nodes[i]) for i in ids}
    widths = {li: sum(sizes[i][0] for i in row) + NODE_GAP * (len(row) - 1) for li, row in rows.items()}
    full = max(widths.values(), default=0.0)
    boxes: dict[str, Box] = {}
    y = float(MARGIN)
    for li in range(depth + 1):
        row = rows.get(li, [])
        x = MARGIN + (full - widths.get(li, 0.0)) / 2
        tallest = max((sizes[i][1] for i in row), default=0.0)
        for i in row:
            w, h = sizes[i]
            boxes[i] = Box(x + w / 2, y + (tallest - h) / 2, w, h)
            x += w + NODE_GAP
        y += tallest + LAYER_GAP
    extra = 70.0 if back else 0.0  # room for the arcs of back edges on the right
    return Layout(boxes, layer, frozenset(back), full + 2 * MARGIN + extra, max(y - LAYER_GAP + MARGIN, 2 * MARGIN))
