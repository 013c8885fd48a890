"""A workflow as a picture-neutral graph: nodes (steps, a start and a ``user`` end) and labelled
edges (routes, condition branches, dependencies, fan-in joins), with validation warnings
attached to the steps they name. ``svg`` and ``mermaid`` draw it."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from ..errors import Issue
from ..spec.graph import graph
from ..spec.model import USER, ExistsCondition, IfCondition, Step, SwitchCondition, Workflow

START, END = "__start__", "__user__"
_STEP_PATH = re.compile(r"^workflows\.(?P<wf>[^.\[]+)\.steps\[(?P<i>\d+)\]")


@dataclass
class Node:
    """One box: a step (``kind`` is its action) or the start / ``user`` terminals."""

    id: str
    label: str
    kind: str
    detail: str = ""
    badges: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    link: str | None = None  # a child workflow's name


@dataclass(frozen=True)
class Edge:
    """``kind``: route | branch (a condition picked it) | depends | join (fan-in) | start."""

    src: str
    dst: str
    label: str = ""
    kind: str = "route"


@dataclass
class Diagram:
    name: str
    nodes: dict[str, Node]
    edges: list[Edge]

    def node_set(self) -> set[str]:
        """Step ids (the terminals excluded): what a snapshot test compares."""
        return {n for n in self.nodes if n not in (START, END)}

    def edge_set(self) -> set[tuple[str, str, str]]:
        """(source, target, label) triples."""
        return {(e.src, e.dst, e.label) for e in self.edges}


def _short(text: object, limit: int = 40) -> str:
    s = " ".join(str(text).split())
    return s if len(s) <= limit else s[: limit - 1] + "…"


def _node(step: Step) -> Node:
    kind = step.action or "step"
    target = {"agent": step.agent, "function": step.function, "tool": step.tool,
              "invoke_workflow": step.invoke_workflow}.get(kind)
    detail = f"{'child' if kind == 'invoke_workflow' else kind}: {target}" if target else ""
    badges: list[str] = []
    if step.loop is not None:
        loop = step.loop
        what = f"until {loop.until}" if loop.until else f"for each {loop.for_each}"
        badges.append(_short(f"loop {what} (max {loop.max})", 48))
        if loop.body:
            badges.append(_short("body: " + " → ".join(b.id for b in loop.body), 48))
            if not detail:
                kinds = {b.action for b in loop.body}
                detail = "loop body" if len(kinds) != 1 else f"loop of {kinds.pop()}"
    if step.fan_key:
        badges.append(f"{'fan-in' if step.is_fan_in else 'branch'} {step.fan_key}")
    if step.condition:
        badges.append(_short(f"if {step.condition}", 48))
    if step.retry and step.retry.max_attempts > 1:
        badges.append(f"retry x{step.retry.max_attempts}")
    if step.timeout:
        badges.append(f"timeout {step.timeout:g} s")
    return Node(step.id, step.id, kind, _short(detail, 44), badges,
                link=step.invoke_workflow if kind == "invoke_workflow" else None)


def _branches(step: Step) -> Iterable[tuple[str, str]]:
    """(target, label) for every route of ``step``."""
    out = step.output
    if out is None:
        return
    for t in out.to:
        yield t, ""
    c = out.condition
    if isinstance(c, IfCondition):
        for t in c.then:
            yield t, _short(f"if {c.expr}", 32)
        for t in c.otherwise:
            yield t, "else"
    elif isinstance(c, ExistsCondition):
        for t in c.then:
            yield t, _short(f"exists {c.ref}", 32)
        for t in c.otherwise:
            yield t, "else"
    elif isinstance(c, SwitchCondition):
        for case, targets in c.cases.items():
            for t in targets:
                yield t, _short(f"{c.expr} = {case}", 32)
        for t in c.default:
            yield t, "default"


def build(wf: Workflow, warnings: Iterable[Issue] = ()) -> Diagram:
    """The diagram of ``wf``; ``warnings`` whose path names one of its steps go on that node."""
    g = graph(wf)
    nodes = {START: Node(START, "start", "start")}
    nodes.update({s.id: _node(s) for s in wf.steps})
    edges: list[Edge] = [Edge(START, e, kind="start") for e in g.entries]
    to_user = False
    seen: set[tuple[str, str, str]] = set()

    def add(edge: Edge) -> None:
        key = (edge.src, edge.dst, edge.label)
        if key not in seen and edge.src in nodes and (edge.dst in nodes or edge.dst == END):
            seen.add(key)
            edges.append(edge)

    for s in wf.steps:
        if g.chain:
            for t in g.successors.get(s.id, ()):
                add(Edge(s.id, t))
            if s.output and USER in s.output.to:
                to_user = True
                add(Edge(s.id, END))
            continue
        for t, label in _branches(s):
            if t == USER:
                to_user = True
                add(Edge(s.id, END, label, "branch" if label else "route"))
            else:
                add(Edge(s.id, t, label, "branch" if label else "route"))
        for d in s.depends_on:
            add(Edge(d, s.id, "depends", "depends"))
    for key, fan_in in g.fan_ins.items():
        for b in g.branches.get(key, ()):
            if fan_in not in g.successors.get(b, ()):
                add(Edge(b, fan_in, "join", "join"))
    if g.chain and not to_user and wf.steps:
        to_user = True
        add(Edge(wf.steps[-1].id, END))  # a chain's last output is the result
    if to_user:
        nodes[END] = Node(END, "user", "end")
    for issue in warnings:
        m = _STEP_PATH.match(issue.path)
        if m and m.group("wf") == wf.id and int(m.group("i")) < len(wf.steps):
            nodes[wf.steps[int(m.group("i"))].id].warnings.append(issue.message)
    return Diagram(wf.id, nodes, edges)
