"""Scale a plan to its complexity and give its tasks their tools: the complexity's bounds on
agents (simple 1-2, medium 3-4, complex 5-8) are met by sharing or merging agents, or by adding
a reader, parallel perspectives, a final writer or a review round; the topology stays the
description's. A task whose tool the server cannot serve is noted (a warning in the answer).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from . import vocab
from .planner import CALL, IF, LOOP, PARALLEL, REVIEW, TASK, Plan, Stage, Task, extra_task, make_task
from .roles import DELIVERABLE
from .shape import AGENT_BOUNDS
from .tooling import SUITES, Catalogue

# Two ways to look at a single task, by role: (id word, what to focus on).
PERSPECTIVES: dict[str, tuple[tuple[str, str], tuple[str, str]]] = {
    "analyse": (("pattern", "quantitative patterns, numbers and trends"),
                ("risk", "anomalies, risks and their likely causes")),
    "summarise": (("key_point", "the key points and decisions"), ("open_question", "the numbers, trends and "
                                                                                    "open questions")),
    "write": (("content", "the facts and content to cover"), ("structure", "the structure and the needs of "
                                                                           "the audience")),
    "classify": (("topic", "the topic or category of each item"), ("urgency", "the urgency and sentiment of "
                                                                               "each item")),
    "review": (("correctness", "correctness and completeness"), ("clarity", "clarity, style and consistency")),
    "plan": (("quick_win", "quick wins that can be done now"), ("larger_change", "larger changes and their "
                                                                                 "risks")),
    "extract": (("entity", "the entities, fields and figures"), ("context", "the dates, relationships and "
                                                                            "context")),
}
_DEFAULT = (("finding", "the main facts and findings"), ("risk", "problems, risks and open questions"))


def agents_of(plan: Plan, known_workflow: Callable[[str], bool]) -> list[str]:
    """The distinct agents the plan's steps will use, in order of first use."""
    out: list[str] = []
    for t in plan.tasks():
        if t.workflow is not None and known_workflow(t.workflow):
            continue  # a child-workflow step: no agent
        if t.agent not in out:
            out.append(t.agent)
    return out


def fit(plan: Plan, complexity: str, tools: Catalogue, known_workflow: Callable[[str], bool]) -> Plan:
    """``plan`` within the bounds of ``complexity`` and with tools; ``plan.notes`` gets a line
    for each task that lacks the tool it asks for."""
    if plan.stages[0].kind == IF:  # a condition needs an answer to decide on: a check comes first
        cond = plan.stages[0].condition or "the condition holds"
        plan.stages.insert(0, Stage(TASK, [_add(plan, f"Check whether {cond}", "review")]))
    low, high = AGENT_BOUNDS[complexity]
    if complexity == "simple":
        for st in plan.stages:
            if st.kind == PARALLEL:
                st.each = True
    _shrink(plan, high, known_workflow)
    _grow(plan, complexity, low, known_workflow)
    _shrink(plan, high, known_workflow)
    _give_tools(plan, complexity, tools, known_workflow)
    return plan


def _names(plan: Plan) -> tuple[set[str], set[str]]:
    tasks = plan.tasks()
    return {t.id for t in tasks}, {t.agent for t in tasks}


def _add(plan: Plan, text: str, role: str, agent: str | None = None, also: tuple[Task, ...] = ()) -> Task:
    steps, agents = _names(plan)
    steps |= {t.id for t in also}
    agents |= {t.agent for t in also}
    return extra_task(text, role, steps, agents | {"user"}, agent=agent)


# -- too many agents ---------------------------------------------------------------------------------


def _shared(stage: Stage) -> None:
    """The branches of ``stage`` share one agent (their focus stays in each step's input)."""
    first = stage.tasks[0]
    base = make_task(first.text if first.focus is None else _unfocused(stage), role=first.role)
    agent = _strip_focus(first)
    stage.tasks = [replace(t, agent=agent, prompt=base.prompt) for t in stage.tasks]


def _unfocused(stage: Stage) -> str:
    return stage.tasks[0].text.replace(stage.tasks[0].focus or "", "the parts named in each step", 1)


def _strip_focus(task: Task) -> str:
    """The agent's noun ("security_reviewer" -> reviewer, "plan_assessor_2" -> assessor)."""
    words = [w for w in task.agent.split("_") if not w.isdigit()]
    return words[-1] if words else task.role.agent


def _shrink(plan: Plan, high: int, known: Callable[[str], bool]) -> None:
    for st in plan.stages:
        if len(agents_of(plan, known)) <= high:
            return
        if st.kind == PARALLEL and len({t.agent for t in st.tasks}) > 1:
            _shared(st)
    agents = agents_of(plan, known)
    if len(agents) <= high:
        return
    # still too many: neighbours share an agent, in ``high`` groups in order of first use
    size = -(-len(agents) // high)
    groups = [agents[i:i + size] for i in range(0, len(agents), size)]
    rename: dict[str, str] = {}
    for group in groups:
        nouns = list(dict.fromkeys(a.rsplit("_", 1)[-1] for a in group))
        merged = "_".join(nouns)[:48] if len(group) > 1 else group[0]
        for a in group:
            rename[a] = merged
    for st in plan.stages:
        st.tasks = [replace(t, agent=rename.get(t.agent, t.agent)) for t in st.tasks]
        if st.otherwise is not None:
            st.otherwise = replace(st.otherwise, agent=rename.get(st.otherwise.agent, st.otherwise.agent))


# -- too few agents ----------------------------------------------------------------------------------


def _grow(plan: Plan, complexity: str, low: int, known: Callable[[str], bool]) -> None:
    if complexity == "complex":  # the seed's advanced orchestration: complex work ends in a review round
        _review_round(plan)
    for step in (_perspectives, _reader, _final_writer, _combiner):
        if len(agents_of(plan, known)) >= low:
            return
        step(plan)
    while len(agents_of(plan, known)) < low and _widen(plan):
        pass


def _review_round(plan: Plan) -> None:
    """Complex work ends in a draft/review round (the seed's advanced orchestration)."""
    if any(st.kind == REVIEW for st in plan.stages):
        return
    code = any("code" in t.needs for t in plan.tasks())
    reviewer = _add(plan, "Review the result against the request", "review", agent="code_reviewer" if code else None)
    last = plan.stages[-1]
    if last.kind == TASK and last.tasks[0].role.name in DELIVERABLE:
        plan.stages[-1] = Stage(REVIEW, [last.tasks[0], reviewer], until="the reviewer approves", extra=True)
        return
    writer = _add(plan, "Write the final report from the results", "write",
                  agent="report_generator" if code else None)
    plan.stages.append(Stage(REVIEW, [writer, reviewer], until="the reviewer approves", extra=True))


def _perspectives(plan: Plan) -> None:
    """Without parallel work, the main single task is done from two angles at once."""
    if any(st.kind == PARALLEL for st in plan.stages):
        return
    singles = [i for i, st in enumerate(plan.stages) if st.kind == TASK and st.tasks[0].workflow is None]
    work = [i for i in singles if plan.stages[i].tasks[0].role.name not in DELIVERABLE]
    if singles:  # the first task usually reads the input: split the work after it
        i = ([w for w in work if w > 0] or work or singles)[0]
        task = plan.stages[i].tasks[0]
    else:  # no single task to split: look at the material from two angles before the last stage
        i = max(len(plan.stages) - 1, 0)
        task = _add(plan, "Analyse the material of the request", "analyse")
        plan.stages.insert(i, Stage(TASK, [task], extra=True))
    pair = PERSPECTIVES.get(task.role.name, _DEFAULT)
    branches: list[Task] = []
    for key, focus in pair:
        t = _add(plan, task.text, task.role.name, also=tuple(branches))
        noun = _strip_focus(t)
        branches.append(replace(t, agent=f"{key}_{noun}", focus=focus, needs=task.needs,
                                prompt=f"{t.prompt} Your part: {focus}."))
    plan.stages[i] = Stage(PARALLEL, branches, items=tuple(f for _, f in pair), extra=plan.stages[i].extra)


def _reader(plan: Plan) -> None:
    first = plan.stages[0]
    if first.kind == TASK and first.tasks[0].role.name in ("extract", "research"):
        return
    reader = _add(plan, "Read the request and its input, and collect the material the next steps need", "extract",
                  agent="input_reader")
    plan.stages.insert(0, Stage(TASK, [replace(reader, needs=_input_needs(plan))], extra=True))


def _input_needs(plan: Plan) -> tuple[str, ...]:
    wanted = {n for t in plan.tasks() for n in t.needs if n in ("files", "code", "http")}
    return tuple(n for n in vocab.NEED_TOOLS if n in wanted)


def _final_writer(plan: Plan) -> None:
    last = plan.stages[-1]
    if last.kind in (TASK, REVIEW, LOOP) and last.tasks[0].role.name in DELIVERABLE:
        return
    plan.stages.append(Stage(TASK, [_add(plan, "Write the final answer to the request from the results", "write",
                                         agent="report_writer")], extra=True))


def _combiner(plan: Plan) -> None:
    for st in plan.stages:
        if st.kind == PARALLEL and not st.each and not st.combine:
            st.combine = True
            return


def _widen(plan: Plan) -> bool:
    """One more parallel branch where the branches were the planner's own perspectives."""
    for st in plan.stages:
        if st.kind == PARALLEL and not st.each and len(st.tasks) < 4 and st.items and \
                st.items[0] == PERSPECTIVES.get(st.tasks[0].role.name, _DEFAULT)[0][1]:
            focus = "what the other views may miss: assumptions, gaps and alternatives"
            t = _add(plan, st.tasks[0].text, st.tasks[0].role.name)
            st.tasks.append(replace(t, agent=f"gap_{_strip_focus(t)}", focus=focus,
                                    prompt=f"{t.prompt} Your part: {focus}."))
            st.items = (*st.items, focus)
            return True
    return False


# -- tools ---------------------------------------------------------------------------------------------


def _give_tools(plan: Plan, complexity: str, tools: Catalogue, known: Callable[[str], bool]) -> None:
    suite = SUITES[complexity]
    asked = {n for t in plan.tasks() for n in t.needs}

    def equip(t: Task) -> Task:
        got: list[str] = []
        for need in t.needs:
            if need == "workflow" and t.workflow is not None and known(t.workflow):
                continue  # a child-workflow step runs it
            tid = tools.tool_for(vocab.NEED_TOOLS[need])
            if tid is None:
                plan.notes.append(f"{t.id}|{need}")
            elif tid not in got:
                got.append(tid)
        for kind in t.role.tools:  # the suite's tools where the role uses them and the request needs them
            fits = next((n for n, kinds in vocab.NEED_TOOLS.items() if kind in kinds), None)
            offered = tools.by_type.get(kind)
            if kind in suite and fits in asked and offered is not None and offered not in got:
                got.append(offered)
        return replace(t, tools=tuple(got))

    for st in plan.stages:
        st.tasks = [equip(t) for t in st.tasks]
        if st.otherwise is not None:
            st.otherwise = equip(st.otherwise)


def kinds_of(plan: Plan) -> set[str]:
    return {st.kind for st in plan.stages}


__all__ = ["CALL", "IF", "LOOP", "PARALLEL", "REVIEW", "TASK", "agents_of", "fit"]
