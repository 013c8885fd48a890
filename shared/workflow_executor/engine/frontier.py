"""Which steps may start now, derived from the step records alone.

Because routing decisions are stored on each record (``routed_to``), a resumed run rebuilds
exactly the frontier the dead runner had: nothing else needs to be persisted.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping

from ..models import StepRecord, StepStatus
from ..spec.graph import Graph
from ..spec.model import USER, Step, Workflow

DONE = frozenset({StepStatus.COMPLETED, StepStatus.SKIPPED})


def ready_steps(
    workflow: Workflow, g: Graph, records: Mapping[str, StepRecord], running: Collection[str]
) -> list[str]:
    """Steps that can start, in declaration order."""
    done = {sid for sid, r in records.items() if r.status in DONE}
    activated = set(g.entries)
    for sid in done:
        activated.update(records[sid].routed_to)
    for sid, deps in g.depends.items():
        if deps and all(d in done for d in deps):
            activated.add(sid)
    for key, fan_in in g.fan_ins.items():
        if any(b in done for b in g.branches.get(key, ())):
            activated.add(fan_in)
    ready: list[str] = []
    for step in workflow.steps:
        sid = step.id
        if sid not in activated or sid in records or sid in running:
            continue
        deps = g.depends.get(sid, ())
        if deps and not all(d in done for d in deps):
            continue
        if step.is_fan_in and step.fan_key is not None:
            branches = g.branches.get(step.fan_key, ())
            if any(b in running or (b in activated and b not in done) for b in branches):
                continue
        elif is_join(g, step):
            # A join without fan_key (LangSwarm's parallel targets meeting again) waits for every
            # branch that is still under way; a branch that never started is null inside it.
            pending = {a for a in g.ancestors(sid) if a != sid and (a in running or (a in activated and a not in done))}
            if pending:
                continue
        ready.append(sid)
    return ready


def is_join(g: Graph, step: Step) -> bool:
    """A step that two or more routed steps hand over to, with no fan_key and no depends_on."""
    return (not g.chain and not step.is_fan_in and not g.depends.get(step.id)
            and len(g.predecessors(step.id)) >= 2)


def chain_route(workflow: Workflow, index: dict[str, int], step: Step) -> tuple[list[str], bool]:
    """In a chain, a step hands over to the next one; the last one answers the user."""
    i = index[step.id]
    if i + 1 < len(workflow.steps):
        return [workflow.steps[i + 1].id], False
    return [], True


def split_user(targets: list[str]) -> tuple[list[str], bool]:
    return [t for t in targets if t != USER], USER in targets
