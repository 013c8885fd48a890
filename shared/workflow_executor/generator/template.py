"""The template generator: a fitted plan (``planner`` + ``fit``) -> a workflow document, offline
and deterministic. Each stage becomes steps: a task one agent step, parallel work one branch per
task (or a ``for_each`` loop) joined by a fan-in, a condition a route on the step before it, a
loop a step that repeats until its condition (a review round: draft, review, until approved), a
call a child-workflow step. The caller validates the document before storing it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from typing import Any

from .agents import Slot, assign
from .fit import fit
from .plan import APPROVAL_SCHEMA, WAIT_S
from .planner import APPROVAL_EVENT, CALL, IF, LOOP, PARALLEL, REVIEW, WAIT, Plan, Stage, Task, read
from .roles import BY_NAME
from .tasks import check_complexity, check_name, default_name
from .tooling import Catalogue, catalogue

GENERATED = "generated"  # project_name of generated documents
REVIEW_ROUNDS = 3
LOOP_ROUNDS = 3
LOOP_VAR = "round"
NEXT = "__next__"  # where a stage hands over, filled in when the next stage is placed
GLUE = "builtins.merge"
# The reviewer's verdict ends the loop; after REVIEW_ROUNDS the last draft stands.
UNTIL = (f"${{loop.index}} >= {REVIEW_ROUNDS - 1} or (contains(upper(str(output.review)), 'APPROVED') "
         "and not contains(upper(str(output.review)), 'REVISE'))")


def decision_label(condition: str) -> str:
    """The line a deciding agent writes for ``condition``: 'REVENUE_DROPPED: YES'."""
    words = re.findall(r"[a-z0-9]+", condition.lower())[:4]
    return ("_".join(words) or "condition").upper()


def decision_expr(step_id: str, condition: str, negate: bool) -> str:
    test = f"contains(upper(str(${{{step_id}.output}})), '{decision_label(condition)}: YES')"
    return f"not {test}" if negate else test


@dataclass
class _Doc:
    goal: str
    known: Any
    steps: list[dict[str, Any]] = field(default_factory=list)
    tasks: list[Task] = field(default_factory=list)  # every task that became an agent step
    prev_ref: str | None = None
    last: dict[str, Any] | None = None  # the single step the previous stage ends in, if it ends in one
    fans: int = 0

    def hand_over(self, targets: list[str]) -> None:
        """Point every open exit of the previous stage at ``targets``."""
        for step in self.steps:
            _replace_next(step, targets)

    def agent_step(self, task: Task, extra_input: str = "") -> dict[str, Any]:
        self.tasks.append(task)
        return {"id": task.id, "description": task.text[:300], "agent": task.agent,
                "input": self.prompt(task) + extra_input}

    def prompt(self, task: Task) -> str:
        part = f"\nYour part: {task.focus}" if task.focus else ""
        prev = f"\n\nResult of the previous step:\n{self.prev_ref}" if self.prev_ref else ""
        return f"Goal of the workflow: {self.goal}\n\nYour task: {task.text}{part}\n\nRequest input:\n" \
               f"${{user_input}}{prev}"


def _replace_next(step: dict[str, Any], targets: list[str]) -> None:
    out = step.get("output")
    if not out:
        return
    to = out.get("to")
    if isinstance(to, list) and NEXT in to:
        out["to"] = [x for t in to for x in (targets if t == NEXT else [t])]
    elif isinstance(to, dict):
        cond = to["condition"]
        for key in ("then", "else"):
            if NEXT in cond.get(key, []):
                cond[key] = [x for t in cond[key] for x in (targets if t == NEXT else [t])]


def generate(description: str, workflow_name: str | None = None, agents_config: dict[str, Any] | None = None,
             tools_config: dict[str, Any] | None = None, complexity: str = "medium", tool_registry: Any = None,
             known_workflow: Any = None) -> tuple[str, dict[str, Any]]:
    """Return ``(workflow_name, document)`` for ``description``, planned, fitted to
    ``complexity`` and built offline. ``tool_registry`` (a ToolRegistry) says which tools the
    server can serve (None: no tools); ``known_workflow(name)`` which workflows a step may run.
    Errors: InvalidArgument for a bad name, complexity or configuration (the document itself is
    validated by the caller)."""
    check_complexity(complexity)
    name = workflow_name or default_name(description)
    check_name(name)
    known = known_workflow or (lambda _n: False)
    tools = catalogue(tool_registry, assign([], agents_config, tools_config).tools)
    plan = fit(read(description), complexity, tools, known)
    return name, build(plan, name, complexity, tools, known, agents_config, tools_config)


def build(plan: Plan, name: str, complexity: str, tools: Catalogue, known_workflow: Any,
          agents_config: dict[str, Any] | None, tools_config: dict[str, Any] | None,
          generator: str = "template") -> dict[str, Any]:
    """The workflow document of a fitted ``plan``. Errors: InvalidArgument for a malformed
    ``agents_config`` / ``tools_config``."""
    d = _Doc(plan.goal, known_workflow)
    for st in plan.stages:
        {PARALLEL: _parallel, IF: _condition, LOOP: _loop, REVIEW: _review, CALL: _call,
         WAIT: _wait}.get(st.kind, _task)(d, st)
    d.hand_over(["user"])
    slots = _slots(d.tasks)
    given = assign(slots, agents_config, tools_config)
    for step in _walk(d.steps):
        if "agent" in step:
            step["agent"] = given.renames.get(step["agent"], step["agent"])
    used = {t for cfg in given.agents.values() for t in cfg.get("tools") or () if isinstance(t, str)}
    declared = {**tools.definitions(used), **given.tools}
    text = plan.goal[:500]
    doc: dict[str, Any] = {
        "version": "1.0", "project_name": GENERATED, "description": text, "agents": given.agents,
        "workflows": {name: {"description": text, "steps": d.steps}},
        "settings": {"generator": generator, "complexity": complexity},
    }
    if declared:
        doc["tools"] = declared
    if given.notes:
        doc["settings"]["notes"] = given.notes
    return doc


def _slots(tasks: list[Task]) -> list[Slot]:
    """One slot per agent: its tasks' prompts (a shared agent learns each job) and tools."""
    by_agent: dict[str, list[Task]] = {}
    for t in tasks:
        by_agent.setdefault(t.agent, []).append(t)
    out = []
    for aid, ts in by_agent.items():
        prompts = list(dict.fromkeys(t.prompt for t in ts))
        prompt = prompts[0] if len(prompts) == 1 else (
            "You do several jobs in this workflow; each step says which one.\n" + "\n".join(f"- {p}" for p in prompts))
        tools = tuple(dict.fromkeys(tid for t in ts for tid in t.tools))
        out.append(Slot(aid, ts[0].role, prompt[:4000], ts[0].focus, tools))
    return out


def _walk(steps: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for s in steps:
        out.append(s)
        out.extend(_walk(s.get("loop", {}).get("body", [])))
    return out


def _place(d: _Doc, step: dict[str, Any], single: bool = True) -> None:
    d.hand_over([step["id"]])
    step.setdefault("output", {"to": [NEXT]})
    d.steps.append(step)
    d.prev_ref = f"${{{step['id']}.output}}"
    d.last = step if single else None


def _task(d: _Doc, st: Stage) -> None:
    _place(d, d.agent_step(st.tasks[0]))


def _decider(d: _Doc, st: Stage) -> dict[str, Any]:
    """The step whose answer decides ``st``'s condition: the one before it, else a new check by
    the agent that decided last (a condition after a condition)."""
    if d.last is not None and "agent" in d.last and "loop" not in d.last:
        return d.last
    prev = next(s for s in reversed(d.steps) if "agent" in s)
    step = {"id": f"check_{decision_label(st.condition or '').lower()}"[:40], "agent": prev["agent"],
            "description": f"Decide whether {st.condition}",
            "input": f"Goal of the workflow: {d.goal}\n\nRequest input:\n${{user_input}}\n\n"
                     f"Result so far:\n{d.prev_ref or '${user_input}'}"}
    while any(s["id"] == step["id"] for s in d.steps):
        step["id"] += "_2"
    _place(d, step)
    return step


def _condition(d: _Doc, st: Stage) -> None:
    cond = st.condition or "the condition holds"
    decider = _decider(d, st)
    label = decision_label(cond)
    decider["input"] += (f"\n\nFinally, on a line of its own, write exactly '{label}: YES' if {cond}, "
                         f"otherwise '{label}: NO'.")
    then = d.agent_step(st.tasks[0])
    other = d.agent_step(st.otherwise) if st.otherwise is not None else None
    decider["output"] = {"to": {"condition": {"if": decision_expr(decider["id"], cond, st.negate),
                                              "then": [then["id"]],
                                              "else": [other["id"]] if other else [NEXT]}}}
    for step in (then, other):
        if step is not None:
            step["output"] = {"to": [NEXT]}
            d.steps.append(step)
    d.prev_ref, d.last = "${previous_output}", None


def _parallel(d: _Doc, st: Stage) -> None:
    if st.each:
        task = st.tasks[0]
        base = replace(task, focus=None, tools=tuple(dict.fromkeys(tid for t in st.tasks for tid in t.tools)))
        step = d.agent_step(base, "\n\nYour part this round: ${loop.item}")
        step["loop"] = {"for_each": list(st.items or [t.focus for t in st.tasks]), "var": "item",
                        "max": max(len(st.items), len(st.tasks))}
        _place(d, step)
        return
    if not d.steps:  # parallel work first: a start step hands the input to every branch
        _place(d, {"id": "start", "description": "Hand the request to the parallel branches", "function": GLUE,
                   "args": {"request": "${user_input}"}})
    d.fans += 1
    key = f"parallel_{d.fans}" if d.fans > 1 else "parallel"
    branches = [d.agent_step(t) for t in st.tasks]
    join_id = _unique(d, f"{branches[0]['id'].split('_')[0]}_results")
    d.hand_over([b["id"] for b in branches])
    for b in branches:
        b.update(fan_key=key, output={"to": [join_id]})
        d.steps.append(b)
    if st.combine:
        combiner = Task(id=join_id, agent="results_combiner", text="Combine the results of the parallel steps",
                        role=BY_NAME["synthesise"], prompt=BY_NAME["synthesise"].prompt, extra=True)
        join = d.agent_step(combiner)
        join["input"] = (f"Goal of the workflow: {d.goal}\n\nYour task: {combiner.text}\n\nRequest input:\n"
                         "${user_input}\n\n" + "\n\n".join(f"## Result of '{b['id']}'\n${{branches.{b['id']}}}"
                                                          for b in branches))
    else:
        join = {"id": join_id, "description": "Collect the results of the parallel steps", "function": GLUE,
                "args": {b["id"]: f"${{branches.{b['id']}}}" for b in branches}}
    join.update(fan_key=key, is_fan_in=True, output={"to": [NEXT]})
    d.steps.append(join)
    d.prev_ref, d.last = f"${{{join_id}.output}}", (join if st.combine else None)


def _unique(d: _Doc, stem: str) -> str:
    taken = {s["id"] for s in _walk(d.steps)} | {t.id for t in d.tasks}
    sid, n = stem, 2
    while sid in taken:
        sid, n = f"{stem}_{n}", n + 1
    return sid


def _loop(d: _Doc, st: Stage) -> None:
    until = st.until or "the work is done"
    step = d.agent_step(st.tasks[0], f"\n\nYour previous round (empty in the first):\n${{loop.last}}\n\nEnd "
                                     f"with a line 'DONE: YES' once {until}, otherwise 'DONE: NO'.")
    step["loop"] = {"until": f"${{loop.index}} >= {LOOP_ROUNDS - 1} or contains(upper(str(output)), 'DONE: YES')",
                    "max": LOOP_ROUNDS, "var": LOOP_VAR}
    _place(d, step)


def _review(d: _Doc, st: Stage) -> None:
    draft_task, review_task = st.tasks[0], st.tasks[1]
    loop_id = _unique(d, "refine")
    draft = d.agent_step(draft_task, "\n\nYour previous draft and the reviewer's notes (empty in the first round; "
                                     "address every note):\n${loop.last}")
    review = {"id": review_task.id, "description": review_task.text[:300], "agent": review_task.agent,
              "input": (f"Goal of the workflow: {d.goal}\n\nRequest input:\n${{user_input}}\n\nDraft to review:\n"
                        f"${{{draft['id']}.output}}\n\nStart your answer with APPROVED if the draft can be delivered "
                        "as it is, otherwise with REVISE followed by the changes needed.")}
    d.tasks.append(review_task)
    record = {"id": _unique(d, "round_result"), "description": "Keep this round's draft and review",
              "function": GLUE,
              "args": {"draft": f"${{{draft['id']}.output}}", "review": f"${{{review['id']}.output}}"}}
    _place(d, {"id": loop_id, "description": f"{draft_task.text[:200]}; review until approved",
               "loop": {"until": UNTIL, "max": REVIEW_ROUNDS, "var": LOOP_VAR, "body": [draft, review, record]}})


def _wait(d: _Doc, st: Stage) -> None:
    """A wait step: a sleep, an event, or an approval whose rejection or timeout ends the run
    (its result the decision) and whose approval goes on. The next step reads what came before."""
    prev = d.prev_ref
    if st.seconds is not None:
        step: dict[str, Any] = {"id": _unique(d, "pause"), "description": f"Wait {st.seconds:g} s",
                                "sleep": st.seconds}
    elif st.event == APPROVAL_EVENT:
        sid = _unique(d, "approval")
        who = f"{st.condition}'s" if st.condition else "an"
        step = {"id": sid, "description": f"Wait for {who} approval (send_event '{APPROVAL_EVENT}' with "
                                          "{approved: true|false})",
                "wait_for": {"event": APPROVAL_EVENT, "timeout": WAIT_S, "payload_schema": APPROVAL_SCHEMA},
                "output": {"to": {"condition": {"if": f"${{wait.timed_out}} or not ${{{sid}.output.approved}}",
                                                "then": ["user"], "else": [NEXT]}}}}
    else:
        step = {"id": _unique(d, "wait"), "description": f"Wait until {st.condition or st.event}",
                "wait_for": {"event": st.event or "event", "timeout": WAIT_S}}
    _place(d, step)
    d.prev_ref, d.last = prev, None


def _call(d: _Doc, st: Stage) -> None:
    task = st.tasks[0]
    target = task.workflow or ""
    if d.known(target):
        _place(d, {"id": task.id, "description": task.text[:300], "invoke_workflow": target,
                   "input": d.prev_ref or "${user_input}"})
        return
    _place(d, d.agent_step(task, f"\n\nRun the workflow '{target}' with the workflow_executor tool "
                                 "(execute_workflow) on this material and report its result."))
