"""The template generator: natural language -> an agent workflow, offline and deterministic.

Shapes by complexity (the seed's bounds, checked again by ``shape.check_shape``):
- simple: 1-2 agent steps in a chain;
- medium: an intake step fans out to two parallel specialists whose fan-in writes the result
  (3-4 agents);
- complex: an intake step, 2-4 parallel specialists, a fan-in that combines them, then a
  draft/review loop that goes round again while the reviewer asks for changes (5-8 agents).
Roles come from the description (``roles.detect``); ``agents_config`` / ``tools_config`` are
honoured (``agents.assign``). The caller validates the document before storing it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .agents import Slot, assign, branch_slot, role_slot
from .roles import BY_NAME, DELIVERABLE, GENERAL, Role, detect
from .tasks import aspects, check_complexity, check_name, default_name, safe_text, slug, split_tasks

GENERATED = "generated"  # project_name of generated documents
REVIEW_ROUNDS = 3
FAN_KEY = "parallel"
LOOP_VAR = "round"
# The reviewer's verdict ends the loop; after REVIEW_ROUNDS the last draft stands.
UNTIL = (f"${{loop.index}} >= {REVIEW_ROUNDS - 1} or (contains(upper(str(output.review)), 'APPROVED') "
         "and not contains(upper(str(output.review)), 'REVISE'))")
_PERSPECTIVES: dict[str, tuple[str, str]] = {
    "analyse": ("quantitative patterns, numbers and trends", "anomalies, risks and their likely causes"),
    "summarise": ("the key points and decisions", "the numbers, trends and open questions"),
    "write": ("the facts and content to cover", "the structure and the needs of the audience"),
    "classify": ("the topic or category of each item", "the urgency and sentiment of each item"),
    "review": ("correctness and completeness", "clarity, style and consistency"),
    "plan": ("quick wins that can be done now", "larger changes and their risks"),
    "extract": ("the entities, fields and figures", "the dates, relationships and context"),
}
_DEFAULT_PERSPECTIVES = ("the main facts and findings", "problems, risks and open questions")


@dataclass
class _Builder:
    """Collects steps and agent slots with unique ids."""

    goal: str
    steps: list[dict[str, Any]] = field(default_factory=list)
    slots: dict[str, Slot] = field(default_factory=dict)
    ids: set[str] = field(default_factory=lambda: {"user", "input", "user_input", "context", "env", "loop",
                                                     "branches", "output", LOOP_VAR, "item"})

    def step_id(self, stem: str) -> str:
        base = (stem or "step")[:40]
        sid, n = base, 2
        while sid in self.ids:
            sid, n = f"{base}_{n}", n + 1
        self.ids.add(sid)
        return sid

    def agent(self, slot: Slot) -> str:
        """Register ``slot`` (a role's slot is shared by every step of that role)."""
        self.slots.setdefault(slot.id, slot)
        return slot.id

    def add(self, stem: str, slot: Slot, task: str, prompt: str, **control: Any) -> str:
        sid = self.step_id(stem)
        self.steps.append({"id": sid, "description": task[:300], "agent": self.agent(slot), "input": prompt,
                           **control})
        return sid


def generate(
    description: str,
    workflow_name: str | None = None,
    agents_config: dict[str, Any] | None = None,
    tools_config: dict[str, Any] | None = None,
    complexity: str = "medium",
    builtin_tools: tuple[str, ...] = (),
) -> tuple[str, dict[str, Any]]:
    """Return ``(workflow_name, document)``: a workflow of agent steps for ``description``.

    ``agents_config`` maps agent ids to agent settings; each configured agent takes the step
    role it fits best (by id and prompt), the other roles get generated agents.
    ``tools_config`` maps tool ids to tool definitions, given to the agents they fit;
    ``builtin_tools`` names the operator's tools that may be offered as well.
    Errors: InvalidArgument for a bad name, complexity or configuration (the document itself
    is validated by the caller)."""
    check_complexity(complexity)
    name = workflow_name or default_name(description)
    check_name(name)
    goal = safe_text(description)[:600]
    b = _Builder(goal)
    tasks = split_tasks(description)
    if complexity == "simple":
        _simple(b, tasks)
    else:
        _parallel(b, tasks, review=complexity == "complex")
    given = assign(list(b.slots.values()), agents_config, tools_config, builtin_tools)
    for step in _walk(b.steps):
        if "agent" in step:
            step["agent"] = given.renames.get(step["agent"], step["agent"])
    text = safe_text(description)[:500]
    doc: dict[str, Any] = {
        "version": "1.0",
        "project_name": GENERATED,
        "description": text,
        "agents": given.agents,
        "workflows": {name: {"description": text, "steps": b.steps}},
        "settings": {"generator": "template", "complexity": complexity},
    }
    if given.tools:
        doc["tools"] = given.tools
    if given.notes:
        doc["settings"]["notes"] = given.notes
    return name, doc


def _walk(steps: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for s in steps:
        out.append(s)
        out.extend(_walk(s.get("loop", {}).get("body", [])))
    return out


def _first_prompt(b: _Builder, task: str) -> str:
    return f"Goal of the workflow: {b.goal}\n\nYour task: {task}\n\nRequest input:\n${{user_input}}"


def _simple(b: _Builder, tasks: list[str]) -> None:
    """One or two agent steps in a chain (more tasks are folded into the second)."""
    first = tasks[0]
    role = detect(first)
    if len(tasks) == 1:
        b.add(role.name, role_slot(role), first, _first_prompt(b, first), output={"to": ["user"]})
        return
    second = "; ".join(tasks[1:])[:600]
    role2 = detect(second)
    s1 = b.add(role.name, role_slot(role), first, _first_prompt(b, first))
    b.add(role2.name, role_slot(role2), second,
          f"Goal of the workflow: {b.goal}\n\nYour task: {second}\n\nRequest input:\n${{user_input}}\n\n"
          f"Result of the previous step ({s1}):\n${{{s1}.output}}",
          output={"to": ["user"]})


def _parallel(b: _Builder, tasks: list[str], *, review: bool) -> None:
    """intake -> parallel specialists -> fan-in (-> draft/review loop when ``review``)."""
    width = 4 if review else 2
    intake_task, branches, work_role, final_task = _layout(tasks, width)
    intake_role = detect(intake_task) if intake_task else BY_NAME["extract"]
    intake_task = intake_task or "Read the request and its input, and collect the material the specialists need"
    intake = b.step_id(intake_role.name)
    branch_ids: list[str] = []
    for task, focus in branches:
        role = detect(focus) if focus else detect(task)
        if role is GENERAL or (focus and role.name in ("extract", "write")):
            role = work_role
        sid = b.step_id(f"{role.name}_{slug(focus or task)}".strip("_"))
        slot = branch_slot(role, focus or task, taken=set(b.slots))
        b.agent(slot)
        focus_line = f"\nFocus only on: {focus}" if focus else ""
        b.steps.append({"id": sid, "description": (task + (f" (focus: {focus})" if focus else ""))[:300],
                        "agent": slot.id, "fan_key": FAN_KEY, "output": {"to": ["__join__"]},
                        "input": f"Your task: {task}{focus_line}\n\nMaterial from step '{intake}':\n"
                                 f"${{{intake}.output}}"})
        branch_ids.append(sid)
    b.steps.insert(0, {"id": intake, "description": intake_task[:300], "agent": b.agent(role_slot(intake_role)),
                       "input": _first_prompt(b, intake_task), "output": {"to": branch_ids}})
    results = "\n\n".join(f"## Result of '{sid}'\n${{branches.{sid}}}" for sid in branch_ids)
    if review:
        join_role, join_task = BY_NAME["synthesise"], "Combine the specialists' results into one set of findings"
    else:
        join_role = detect(final_task) if final_task else BY_NAME["synthesise"]
        join_task = final_task or "Combine the specialists' results into one answer to the request"
        if join_role is GENERAL:
            join_role = BY_NAME["synthesise"]
    join = b.add("combine" if review else join_role.name, role_slot(join_role), join_task,
                 f"Goal of the workflow: {b.goal}\n\nYour task: {join_task}\n\nRequest input:\n"
                 f"${{user_input}}\n\n{results}",
                 fan_key=FAN_KEY, is_fan_in=True)
    for step in b.steps:
        if step.get("output") == {"to": ["__join__"]}:
            step["output"] = {"to": [join]}
    if not review:
        b.steps[-1]["output"] = {"to": ["user"]}
        return
    loop_id = _review_loop(b, final_task, join)
    b.steps[-2]["output"] = {"to": [loop_id]}  # the fan-in hands over to the loop


def _review_loop(b: _Builder, final_task: str | None, join: str) -> str:
    """A step whose body drafts, reviews and records the round; it repeats until the reviewer
    approves (or REVIEW_ROUNDS rounds). Its output is ``{draft, review}`` of the last round."""
    draft_role = detect(final_task) if final_task else BY_NAME["write"]
    if draft_role.name not in DELIVERABLE:
        draft_role = BY_NAME["write"]
    task = final_task or "Write the final answer to the request from the combined findings"
    loop_id = b.step_id("refine")
    draft, review, record = b.step_id("draft"), b.step_id("review"), b.step_id("round_result")
    body = [
        {"id": draft, "description": task[:300], "agent": b.agent(role_slot(draft_role)),
         "input": (f"Goal of the workflow: {b.goal}\n\nYour task: {task}\n\nRequest input:\n${{user_input}}\n\n"
                   f"Combined findings:\n${{{join}.output}}\n\nYour previous draft and the reviewer's notes "
                   f"(empty in the first round; address every note):\n${{loop.last}}")},
        {"id": review, "description": "Review the draft against the request", "agent": b.agent(
            role_slot(BY_NAME["review"])),
         "input": (f"Goal of the workflow: {b.goal}\n\nRequest input:\n${{user_input}}\n\n"
                   f"Draft to review:\n${{{draft}.output}}\n\nStart your answer with APPROVED if the draft "
                   "can be delivered as it is, otherwise with REVISE followed by the changes needed.")},
        {"id": record, "description": "Keep this round's draft and review",
         "function": "builtins.merge", "args": {"draft": f"${{{draft}.output}}", "review": f"${{{review}.output}}"}},
    ]
    b.steps.append({"id": loop_id, "description": "Draft, review and revise until the reviewer approves",
                    "loop": {"until": UNTIL, "max": REVIEW_ROUNDS, "var": LOOP_VAR, "body": body},
                    "output": {"to": ["user"]}})
    return loop_id


def _layout(tasks: list[str], width: int) -> tuple[str | None, list[tuple[str, str | None]], Role, str | None]:
    """Split the tasks into (intake task, branches as (task, focus), the role of the branch work,
    final task). Branches come from an enumeration in a task, else from the middle tasks, else
    from two perspectives on the main task; there are 2..``width`` of them."""
    for i, task in enumerate(tasks):
        items = aspects(task)
        if len(items) >= 2:
            before, after = "; ".join(tasks[:i])[:600], "; ".join(tasks[i + 1:])[:600]
            return before or None, _fold([(task, a) for a in items], width), detect(task), after or None
    first, middle = tasks[0], tasks[1:-1]
    if len(middle) >= 2:
        return first, _fold([(t, None) for t in middle], width), detect(middle[0]), tasks[-1]
    if len(tasks) == 1:  # one task: generic intake, two perspectives on it, the fan-in does it
        intake, work, final = None, first, first
    else:  # two or three tasks: perspectives on the middle (or the last) one
        intake, work, final = first, (middle[0] if middle else tasks[-1]), tasks[-1]
    p1, p2 = _PERSPECTIVES.get(detect(work).name, _DEFAULT_PERSPECTIVES)
    return intake, [(work, p1), (work, p2)], detect(work), final


def _fold(items: list[tuple[str, str | None]], width: int) -> list[tuple[str, str | None]]:
    """At most ``width`` branches: the surplus joins the last one."""
    if len(items) <= width:
        return items
    head, rest = items[: width - 1], items[width - 1:]
    task = "; ".join(dict.fromkeys(t for t, _ in rest))[:600]
    focus = ", ".join(f for _, f in rest if f) or None
    return [*head, (task, focus)]
