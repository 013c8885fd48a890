"""The planner: reads a description into stages before any YAML is written - tasks in order,
conditions ("if", "when", "unless", "only for"), parallel work and listed items, loops
("until"), calls of other workflows - and names each task's agent after what it does. Both
generators build from this plan (``fit`` scales it to the complexity and gives it tools).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace

from . import vocab
from .roles import BY_NAME, Role, detect
from .tasks import MAX_TASK_CHARS, clauses, enumeration, safe_text, segments

TASK, PARALLEL, IF, LOOP, REVIEW, CALL, WAIT = "task", "parallel", "if", "loop", "review", "call", "wait"
APPROVAL_EVENT = "approval"
MAX_STAGES = 10
_INTRO = re.compile(r"^\s*(?:please\s+)?(?:(?:create|build|make|generate|design|set up|write|give me|i need|"
                    r"i want)\s+)?(?:me\s+)?(?:a|an)?\s*(?:[\w-]+\s+){0,3}?(?:workflow|pipeline|process|agent)s?\s+"
                    r"(?:that|which|to|for|where|who)\s+", re.I)
_WORD = re.compile(r"[a-z0-9][a-z0-9'-]*")
# a wait inside a clause starts a clause of its own: "Draft it and wait for approval before paying"
_WAIT_SPLIT = re.compile(r"\s*,?\s+(?:and\s+|then\s+)?(?=(?:wait|pause)\s+(?:for|until|till|on|\d|an?\s))", re.I)


@dataclass(frozen=True)
class Task:
    """One piece of work: its step id, agent id, the words it came from and the agent's prompt.
    ``needs`` are what its words ask for (``vocab.NEED_TOOLS`` keys); ``tools`` the tool ids it
    got; ``extra`` marks work added to reach the complexity's scale (not asked for)."""

    id: str
    agent: str
    text: str
    role: Role
    prompt: str
    needs: tuple[str, ...] = ()
    tools: tuple[str, ...] = ()
    focus: str | None = None
    workflow: str | None = None
    extra: bool = False


@dataclass
class Stage:
    """A run of the plan: ``task`` (one task), ``parallel`` (one branch per task, or one
    iteration per item when ``each``), ``if`` (``tasks[0]`` runs when ``condition`` holds -
    or does not, ``negate`` - ``otherwise`` else), ``loop`` (``tasks[0]`` again ``until``),
    ``review`` (draft ``tasks[0]``, review ``tasks[1]``, until approved), ``call`` (run the
    workflow ``tasks[0].workflow``), ``wait`` (no task: wait for ``event`` - an approval by
    ``condition``, the approver, when ``event`` is ``approval`` - or ``seconds``)."""

    kind: str
    tasks: list[Task]
    condition: str | None = None
    negate: bool = False
    otherwise: Task | None = None
    until: str | None = None
    items: tuple[str, ...] = ()
    each: bool = False
    combine: bool = False
    extra: bool = False
    event: str | None = None
    seconds: float | None = None


@dataclass
class Plan:
    """The stages in order, the goal text, and notes for the answer (tasks that lack a tool)."""

    goal: str
    stages: list[Stage]
    notes: list[str] = field(default_factory=list)

    def tasks(self) -> list[Task]:
        """Every task, in order (a condition's alternative after its task)."""
        out: list[Task] = []
        for st in self.stages:
            out.extend(st.tasks)
            if st.otherwise is not None:
                out.append(st.otherwise)
        return out


def read(description: str) -> Plan:
    """The plan of ``description`` before scaling: always at least one task."""
    text = _INTRO.sub("", description.strip(), count=1)
    goal = safe_text(description)[:600]
    names = _Names()
    stages: list[Stage] = []
    pending: tuple[str, str] | None = None  # a condition waiting for its task ("If X," | "then Y")
    for seg in segments(text):
        parallel = bool(vocab.PARALLEL.search(seg))
        seg = vocab.PARALLEL.sub("", seg).strip(" ,.")
        other = vocab.OTHERWISE.match(seg)
        if other and stages and stages[-1].kind == IF and stages[-1].otherwise is None:
            stages[-1].otherwise = names.task(other.group("task"))
            continue
        parts = [q for p in clauses(seg) for q in _WAIT_SPLIT.split(p) if q.strip(" ,.")]
        if parallel and len(parts) >= 2 and not any(_condition(p) for p in parts):
            stages.append(Stage(PARALLEL, [names.task(p) for p in parts]))
            continue
        for part in parts:
            waited, rest = _wait(part)
            if waited is not None:  # a wait step, then the work it holds back (if the clause names it)
                stages.append(waited)
                if not rest:
                    continue
                part = rest
            if pending is None:
                only = vocab.COND_ONLY.match(part)
                if only and not _has_task(only.group("cond")):
                    pending = (only.group("kw").lower(), only.group("cond"))
                    continue
            stage = _stage(part, names, stages, pending)
            pending = None
            if stage is not None:
                stages.append(stage)
    if not stages:
        stages.append(Stage(TASK, [names.task(text or description or "Answer the request")]))
    if len(stages) > MAX_STAGES:  # the surplus becomes one last task
        tail = "; ".join(t.text for st in stages[MAX_STAGES - 1:] for t in st.tasks)
        stages = [*stages[: MAX_STAGES - 1], Stage(TASK, [names.task(tail)])]
    return Plan(goal, stages)


def _wait(part: str) -> tuple[Stage | None, str | None]:
    """(the wait stage, the rest of the clause) when ``part`` waits: for an approval, a time or an
    event ("wait until the payment arrives"); else (None, None)."""
    for pattern in (*vocab.WAIT_APPROVAL, vocab.WAIT_APPROVAL_TAIL):
        m = pattern.match(part)
        if m:
            found = m.groupdict()
            who = safe_text(found.get("who") or found.get("owner") or "")[:60].strip()
            return Stage(WAIT, [], condition=who or None, event=APPROVAL_EVENT), _base_form(found.get("task"))
    m = vocab.WAIT_TIME.match(part)
    if m:
        n = m.group("n").lower()
        count = 1.0 if n in ("a", "an", "one") else float(n)
        unit = vocab.UNIT_S[m.group("unit").lower().rstrip("s")]
        return Stage(WAIT, [], seconds=count * unit), m.group("task")
    m = vocab.WAIT_UNTIL.match(part)
    if m:
        cond = safe_text(m.group("cond"))[:200]
        words = "_".join(w for w in _WORD.findall(cond.lower()) if w not in vocab.FILLER)
        event = re.sub(r"[^a-z0-9_]+", "_", words)[:60].strip("_")
        event = event if event[:1].isalpha() else f"event_{event}".rstrip("_")
        return Stage(WAIT, [], condition=cond, event=event), m.group("task")
    return None, None


def _base_form(task: str | None) -> str | None:
    """"paying it" -> "pay it" (the work after a wait is often a gerund)."""
    m = re.match(r"([A-Za-z]+?)(?:ing)\b(.*)$", task or "", re.S)
    if m and m.group(1).lower() in vocab.AGENT_NOUN:
        return m.group(1) + m.group(2)
    return task


def _has_task(text: str) -> bool:
    return bool(re.search(r",\s*\w", text))


def _condition(part: str) -> tuple[str, str, str] | None:
    """(keyword, condition, task) when ``part`` is a task under a condition."""
    lead = vocab.COND_LEAD.match(part)
    if lead:
        return lead.group("kw").lower(), lead.group("cond"), lead.group("task")
    tail = vocab.COND_TAIL.match(part)
    if tail:
        head = tail.group("task").split()
        if len(head) >= 2 or head[0].lower() not in vocab.ASK_VERBS:
            return tail.group("kw").lower(), tail.group("cond"), tail.group("task")
    return None


def _stage(part: str, names: _Names, stages: list[Stage], pending: tuple[str, str] | None) -> Stage | None:
    call = vocab.CALL.search(part)
    if call:
        target = call.group("a") or call.group("b")
        return Stage(CALL, [names.task(part, workflow=target)])
    cond = _condition(part) if pending is None else (pending[0], pending[1], part)
    if cond is not None:
        kw, condition, task = cond
        return Stage(IF, [names.task(task)], condition=_condition_text(kw, condition), negate=kw == "unless")
    until = vocab.UNTIL.match(part)
    if until and until.group("task").strip():
        return _loop(until.group("task"), until.group("cond"), names, stages)
    found = enumeration(part)
    if found:
        listed, start, end = found
        return Stage(PARALLEL, [names.task(part, focus=i, span=(start, end)) for i in listed], items=tuple(listed))
    count = vocab.COUNT.search(part)
    if count and count.group("what").lower() not in ("times", "days", "weeks", "hours", "minutes", "months"):
        n = vocab.NUMBER[count.group("n").lower()]
        what = _singular(count.group("what").lower())
        items = tuple(f"{what} {i + 1}" for i in range(n))
        return Stage(PARALLEL, [names.task(part, focus=i) for i in items], items=items)
    return Stage(TASK, [names.task(part)])


def _loop(task: str, cond: str, names: _Names, stages: list[Stage]) -> Stage:
    work = names.task(task)
    if vocab.APPROVAL.search(cond):
        if work.role.name == "review":  # "write the post and review it until approved": a draft/review round
            if stages and stages[-1].kind == TASK:
                draft = stages.pop().tasks[0]
            else:
                draft = names.task("Write the deliverable the request asks for", extra=True)
            return Stage(REVIEW, [draft, work], until=cond)
        return Stage(REVIEW, [work, names.task("Review the work against the request", extra=True)], until=cond)
    return Stage(LOOP, [work], until=safe_text(cond)[:200])


def _condition_text(keyword: str, condition: str) -> str:
    cond = safe_text(condition).strip(" ,.")[:200]
    if keyword == "only for":
        return f"it is for {cond}"
    return cond


def _singular(word: str) -> str:
    if word in vocab.NO_SINGULAR or len(word) <= 3:
        return word
    if word.endswith("ies"):
        return word[:-3] + "y"
    if word.endswith(("sses", "xes", "ches", "shes")):
        return word[:-2]
    if word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


class _Names:
    """Makes tasks with step and agent ids unique in one plan."""

    def __init__(self) -> None:
        self.steps: set[str] = {"user", "input", "user_input", "context", "env", "loop", "branches", "output",
                                "round", "item", "previous_output", "step_outputs", "user_query"}
        self.agents: set[str] = set()

    def agent(self, stem: str) -> str:
        aid, n = stem, 2
        while aid in self.agents:
            aid, n = f"{stem}_{n}", n + 1
        self.agents.add(aid)
        return aid

    def unique(self, stem: str) -> str:
        base = (stem or "step")[:40].strip("_") or "step"
        sid, n = base, 2
        while sid in self.steps:
            sid, n = f"{base}_{n}", n + 1
        self.steps.add(sid)
        return sid

    def task(self, text: str, *, focus: str | None = None, span: tuple[int, int] | None = None,
             workflow: str | None = None, extra: bool = False) -> Task:
        return make_task(text, self, focus=focus, span=span, workflow=workflow, extra=extra)


def make_task(text: str, names: _Names | None = None, *, focus: str | None = None,
              span: tuple[int, int] | None = None, workflow: str | None = None, extra: bool = False,
              role: Role | None = None) -> Task:
    """A task for ``text``: the agent is named after its verb and object (or ``focus``, the
    item of a branch), its prompt says what it does in the description's own words."""
    text = safe_text(text).strip(" ,.;:")[:MAX_TASK_CHARS] or "Answer the request"
    verb, rest = _verb(text)
    text = f"{verb}{rest}" if verb else text
    text = text[:1].upper() + text[1:]
    if focus is not None:
        focus = safe_text(focus)[:120]
    own = text if focus is None or span is None else (text[:span[0]] + focus + text[span[1]:])
    role = role or detect(own)
    noun = vocab.AGENT_NOUN.get(verb.lower().strip(), role.agent) if verb else role.agent
    subject = _key_words(focus) if focus else _object(rest)
    if workflow is not None:
        subject, noun = _slug(workflow, 3), "runner"
    agent = "_".join(p for p in (subject, noun) if p)[:48] or role.agent
    step = "_".join(p for p in ((verb.lower().strip() or role.name), subject) if p)
    names = names or _Names()
    step_id = names.unique(re.sub(r"[^a-z0-9_]", "_", step.lower()))
    agent = names.agent(re.sub(r"[^a-z0-9_]", "_", agent.lower()))
    prompt = f"You {own[:1].lower()}{own[1:]}." + (f" Your part: {focus} only." if focus else "")
    return Task(id=step_id, agent=agent, text=own, role=role,
                prompt=f"{prompt} {guidance(role)}", needs=needs_of(own) + (("workflow",) if workflow else ()),
                focus=focus, workflow=workflow, extra=extra)


def guidance(role: Role) -> str:
    """The role's way of working, without a reviewer's verdict line (only a review loop asks for it)."""
    return " ".join(s for s in re.split(r"(?<=\.)\s+", role.prompt) if "APPROVED" not in s and "REVISE" not in s)


def needs_of(text: str) -> tuple[str, ...]:
    """What ``text`` asks tools for, in ``vocab.NEED_WORDS`` order."""
    return tuple(need for need, words in vocab.NEED_WORDS.items() if words.search(text))


def _verb(text: str) -> tuple[str, str]:
    """(the leading verb in its base form, the rest), or ('', text) when it starts otherwise."""
    m = re.match(r"\s*([A-Za-z-]+)(.*)$", text, re.S)
    if not m:
        return "", text
    word, rest = m.group(1), m.group(2)
    low = word.lower()
    for base in (low, low[:-1] if low.endswith("s") else "", low[:-2] if low.endswith("es") else "",
                 low[:-3] + "y" if low.endswith("ies") else ""):
        if base and base in vocab.AGENT_NOUN:
            return base, rest
    return "", text


def _object(rest: str) -> str:
    """The object of a task's verb as an id part: "the sales data from the CSV" -> sales_data."""
    words: list[str] = []
    for w in _WORD.findall(rest.lower()):
        if w in vocab.OBJECT_END:
            if words:
                break
            continue
        if w in vocab.FILLER:
            continue
        words.append(w)
    words = [w for w in words if w not in vocab.FILLER][-2:]
    if words:
        words[-1] = _singular(words[-1])
    return "_".join(words)[:30]


def _key_words(item: str) -> str:
    """An item's id part: "security vulnerabilities" -> security, "test coverage" -> test_coverage."""
    words = [w for w in _WORD.findall(item.lower()) if w not in vocab.FILLER]
    if len(words) >= 2 and words[1] in vocab.GENERIC_TAIL:
        words = words[:1]
    return "_".join(words[:2])[:30]


def _slug(text: str, words: int) -> str:
    return "_".join(_WORD.findall(text.lower())[:words])[:40]


def with_tools(task: Task, tools: tuple[str, ...]) -> Task:
    return replace(task, tools=tools)


def extra_task(text: str, role: str, steps_taken: set[str], agents_taken: set[str],
               agent: str | None = None) -> Task:
    """A task the fitter adds for scale (a reader, a final writer, a reviewer) with ids not in
    the taken ones."""
    names = _Names()
    names.steps |= steps_taken
    names.agents |= agents_taken
    t = make_task(text, names, extra=True, role=BY_NAME[role])
    if agent is not None:
        t = replace(t, agent=agent)
    return t
