"""Does a workflow do what its plan asks? Every task the description named has a step, with the
tools the plan gave it; parallel work has a branch (or an iteration) per part; each condition a
conditional route; each loop a loop; each call its child workflow. The LLM generator's answer is
repaired until it covers the plan; the template's documents are tested against it.
"""

from __future__ import annotations

import re

from ..errors import Issue
from ..spec.model import Step, WorkflowDocument
from .planner import CALL, IF, LOOP, PARALLEL, REVIEW, Plan, Task
from .shape import all_steps

SOURCE = "plan"
_WORD = re.compile(r"[a-z0-9]+")


def check_coverage(doc: WorkflowDocument, plan: Plan) -> list[Issue]:
    """Issues (errors) where ``doc``'s first workflow leaves out part of ``plan``."""
    wf = doc.workflow()
    steps = list(all_steps(wf.steps))
    out: list[Issue] = []

    def err(where: str, message: str, fix: str) -> None:
        out.append(Issue(path=f"plan.{where}", message=message, file=SOURCE, fix=fix))

    for st in plan.stages:
        if st.extra:
            continue
        covering: list[list[Step]] = []
        for t in st.tasks + ([st.otherwise] if st.otherwise is not None else []):
            found = [s for s in steps if _covers(s, t) or _iterates(s, t)]
            covering.append(found)
            if t.extra:
                continue
            if not found:
                err(f"tasks.{t.id}", f"task '{t.id}' ({t.text[:80]}) has no step",
                    f"add a step for it, run by an agent such as '{t.agent}'")
                continue
            have = {tid for s in found if s.agent in doc.agents for tid in doc.agents[s.agent].tools}
            for tid in t.tools:
                if tid not in have:
                    err(f"tasks.{t.id}", f"task '{t.id}' has no {tid} tool",
                        f"give the agent of its step tools: [{tid}]")
        if st.kind == PARALLEL and len(st.tasks) >= 2 and not all(t.extra for t in st.tasks):
            distinct = {s.id for found in covering for s in found}
            looped = any(s.loop is not None and isinstance(s.loop.for_each, list | tuple) and
                         len(s.loop.for_each) >= len(st.tasks) for found in covering for s in found)
            if len(distinct) < len(st.tasks) and not looped:
                parts = ", ".join(t.focus or t.id for t in st.tasks)
                err(f"tasks.{st.tasks[0].id}", f"the {len(st.tasks)} parallel parts ({parts[:120]}) need a branch "
                    "each", "give each part its own step (parallel branches with a fan-in), or one step with "
                            "for_each over the parts")
    _count(err, plan, IF, sum(1 for s in steps if s.output is not None and s.output.condition is not None),
           "conditional route", "route the step before it with a condition (if / then / else)")
    _count(err, plan, LOOP, sum(1 for s in steps if s.loop is not None and s.loop.until), "loop",
           "add a step with loop: {until: ..., max: 3}")
    _count(err, plan, REVIEW, sum(1 for s in steps if s.loop is not None and s.loop.until), "review round",
           "add a review_loop: a draft step and a review step until the reviewer approves")
    for st in plan.stages:
        target = st.tasks[0].workflow if st.kind == CALL else None
        if target and not st.tasks[0].tools and not any(s.invoke_workflow == target for s in steps):
            err(f"tasks.{st.tasks[0].id}", f"the workflow '{target}' is not run",
                f"add a step with workflow: '{target}'")
    return out


def _count(err: object, plan: Plan, kind: str, have: int, what: str, fix: str) -> None:
    wanted = [st for st in plan.stages if st.kind == kind and not st.extra]
    if kind == REVIEW:
        wanted = [st for st in plan.stages if st.kind in (REVIEW, LOOP) and not st.extra]
    if len(wanted) > have:
        first = wanted[min(have, len(wanted) - 1)]
        label = first.condition or first.until or first.tasks[0].text
        err(f"tasks.{first.tasks[0].id}", f"'{label[:80]}' has no {what}", fix)  # type: ignore[operator]


def _iterates(step: Step, task: Task) -> bool:
    """``step`` is a for_each loop with ``task``'s part among its items."""
    items = step.loop.for_each if step.loop is not None else None
    return bool(task.focus) and isinstance(items, list | tuple) and any(
        str(task.focus).lower() in str(i).lower() for i in items)


def _covers(step: Step, task: Task) -> bool:
    if step.id == task.id or (step.agent is not None and step.agent == task.agent):
        return True
    if task.workflow is not None and step.invoke_workflow == task.workflow:
        return True
    text = " ".join(_WORD.findall(f"{step.id} {step.agent or ''} {step.description or ''}".lower()))
    return any(k in text for k in _key(task))


def _key(task: Task) -> list[str]:
    """The words a step that does ``task`` is named by: its part (a branch's item), else its
    agent's and its own words ("security", "order", "fetch")."""
    if task.focus:
        words = _WORD.findall(task.focus.lower())[:2]
    else:
        words = [*task.agent.split("_")[:2], *task.id.split("_")[:2]]
    return [w[:5] for w in words if len(w) > 3 and not w.isdigit()]
