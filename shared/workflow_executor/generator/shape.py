"""The shape a generated workflow must have for its complexity (the seed's bounds), checked on a
loaded document: how many agents its steps use, whether it fans out and joins, and whether a
review can send work back. Both generators are held to it; the LLM's answer is repaired by it.
"""

from __future__ import annotations

from collections.abc import Iterator

from ..errors import Issue
from ..spec.model import USER, Step, Workflow, WorkflowDocument

AGENT_BOUNDS = {"simple": (1, 2), "medium": (3, 4), "complex": (5, 8)}
# The only functions a generated workflow may call: glue that moves values, never code.
GLUE_FUNCTIONS = frozenset({"builtins.merge"})


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
    """Issues (errors) where ``doc``'s first workflow leaves the bounds of ``complexity``."""
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
            if step.tool is not None or step.invoke_workflow is not None or (
                    step.function is not None and step.function not in GLUE_FUNCTIONS):
                err(f"{path}.steps[{i}]", f"step '{step.id}' is not an agent step",
                    "make every step an agent step (agent + input)")
    fan_ins = [s for s in wf.steps if s.is_fan_in and s.fan_key]
    branches = {s.fan_key: sum(1 for b in wf.steps if b.fan_key == s.fan_key and not b.is_fan_in) for s in fan_ins}
    loops = [s for s in wf.steps if s.loop is not None and s.loop.until and
             sum(1 for b in s.loop.body if b.agent is not None) >= 2]
    if complexity == "simple":
        fans = [s.id for s in wf.steps if s.fan_key or s.loop or (s.output and (
            s.output.condition or len([t for t in s.output.to if t != USER]) > 1))]
        if fans:
            err(f"{path}.steps", f"steps {', '.join(fans)} branch or loop; a simple workflow is one chain",
                "remove fan_key, loop and output conditions; let each step hand over to the next")
    if complexity in ("medium", "complex") and not any(n >= 2 for n in branches.values()):
        err(f"{path}.steps", "no parallel fan-out joined by a fan-in step",
            "route one step to two or more branch steps that share a fan_key, and add a step with that "
            "fan_key and is_fan_in: true")
    if complexity == "complex" and not loops:
        err(f"{path}.steps", "no review step that can send the work back",
            "add a step with loop: {until: <the reviewer approves>, max: 3, body: [draft step, review step]}")
    return out
