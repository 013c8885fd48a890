"""The bounds and soundness a generated workflow must have, checked on a loaded document: the
complexity's number of agents (the seed's: simple 1-2, medium 3-4, complex 5-8), one workflow,
agent steps plus glue, child workflows and conditions, fan-ins with at least two branches,
loops that end, and no step left unreachable. The topology itself is the description's.
"""

from __future__ import annotations

from collections.abc import Iterator

from ..errors import Issue
from ..spec.model import USER, Step, Workflow, WorkflowDocument

AGENT_BOUNDS = {"simple": (1, 2), "medium": (3, 4), "complex": (5, 8)}
# The only functions a generated workflow may call: glue that moves values, never code.
GLUE_FUNCTIONS = frozenset({"builtins.merge", "builtins.echo"})


def all_steps(steps: tuple[Step, ...]) -> Iterator[Step]:
    """Every step, loop bodies included, in document order."""
    for s in steps:
        yield s
        if s.loop is not None:
            yield from all_steps(s.loop.body)


def agents_used(wf: Workflow) -> list[str]:
    """The distinct agents the workflow's steps use, in order of first use."""
    return list(dict.fromkeys(s.agent for s in all_steps(wf.steps) if s.agent is not None))


def check_shape(doc: WorkflowDocument, complexity: str, source: str = "generated") -> list[Issue]:
    """Issues (errors) where ``doc``'s first workflow leaves the bounds of ``complexity`` or
    cannot run soundly."""
    wf = doc.workflow()
    path = f"workflows.{wf.id}"
    out: list[Issue] = []

    def err(where: str, message: str, fix: str) -> None:
        out.append(Issue(path=where, message=message, file=source, fix=fix))

    if len(doc.workflows) != 1:
        err("workflows", f"{len(doc.workflows)} workflows; a generated document has exactly one",
            "put every step into one workflow")
    low, high = AGENT_BOUNDS[complexity]
    used = agents_used(wf)
    if not low <= len(used) <= high:
        err(f"{path}.steps", f"the steps use {len(used)} distinct agents; {complexity} needs {low} to {high}",
            f"use between {low} and {high} agents, each in at least one step")
    for i, s in enumerate(wf.steps):
        for step in all_steps((s,)):
            if step.tool is not None or (step.function is not None and step.function not in GLUE_FUNCTIONS):
                err(f"{path}.steps[{i}]", f"step '{step.id}' runs a tool or function directly",
                    "give the tool to an agent (agents[].tools) and make the step an agent step")
            if step.loop is not None and step.loop.until is None and step.loop.for_each is None:
                err(f"{path}.steps[{i}]", f"the loop of step '{step.id}' has neither until nor for_each",
                    "say when it ends (until) or what it goes over (for_each)")
    for s in wf.steps:
        if s.is_fan_in and s.fan_key:
            n = sum(1 for b in wf.steps if b.fan_key == s.fan_key and not b.is_fan_in)
            if n < 2:
                err(f"{path}.steps", f"fan-in '{s.id}' joins {n} branch; parallel work has at least two",
                    "route to two or more branch steps sharing its fan_key, or drop fan_key and is_fan_in")
    unreachable = _unreachable(wf)
    if unreachable:
        err(f"{path}.steps", f"nothing leads to steps {', '.join(unreachable)}",
            "route to them from an earlier step (next / condition), or remove them")
    return out


def _unreachable(wf: Workflow) -> list[str]:
    routed = any(s.output is not None or s.depends_on for s in wf.steps)
    if not routed or not wf.steps:
        return []
    ids = {s.id: s for s in wf.steps}
    seen: set[str] = set()
    todo = [wf.steps[0].id]
    while todo:
        sid = todo.pop()
        if sid in seen or sid not in ids:
            continue
        seen.add(sid)
        step = ids[sid]
        if step.output is not None:
            todo.extend(t for t in step.output.all_targets() if t != USER)
        todo.extend(s.id for s in wf.steps if sid in s.depends_on)
    return [s.id for s in wf.steps if s.id not in seen][:10]
