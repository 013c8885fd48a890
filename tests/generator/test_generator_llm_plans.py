"""The LLM generator over every described case (plan_cases.py) at one complexity, through the real
openai client against the test LLM server, whose scripted model answers each plan correctly: it
reads the same plan the generator gives the model and answers in the plan form (``generator.plan``)
what that plan asks for. Every answer must pass the generator's checks on the first round
(validation, bounds, coverage) and the workflow must hold what its description asks."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from gen_data import plans_executor
from llm_server import LLMServer
from plan_cases import CASES
from workflow_executor.api import Executor
from workflow_executor.generator import service
from workflow_executor.generator.fit import fit
from workflow_executor.generator.planner import CALL, IF, LOOP, PARALLEL, REVIEW, Plan, Stage, Task, read
from workflow_executor.generator.roles import BY_NAME
from workflow_executor.generator.shape import agents_used, all_steps
from workflow_executor.generator.tooling import catalogue

COMPLEXITY = "medium"
NEXT = "__next__"  # an exit of the stage before, pointed at the next stage once it is placed


class IdealModel:
    """Answers one fitted plan as a careful model would: a step per task with the plan's tools,
    a route per condition, a branch (or a for_each) per parallel part, a review loop per loop,
    a child-workflow step per known workflow it runs."""

    def __init__(self, plan: Plan, known: Callable[[str], bool]) -> None:
        self.plan, self.known = plan, known
        self.agents: dict[str, dict[str, Any]] = {}
        self.steps: list[dict[str, Any]] = []
        self.prev: str | None = None  # a reference to the output of the stage before, when one ran
        self.last: dict[str, Any] | None = None  # the plain agent step the stage before ended in

    def answer(self) -> dict[str, Any]:
        for st in self.plan.stages:
            {PARALLEL: self._parallel, IF: self._if, LOOP: self._loop, REVIEW: self._loop,
             CALL: self._call}.get(st.kind, self._task)(st)
        self._hand_over(["user"])
        return {"agents": list(self.agents.values()), "steps": self.steps}

    # -- pieces -------------------------------------------------------------------------------

    def _agent(self, aid: str, prompt: str, tools: tuple[str, ...] = ()) -> None:
        agent = self.agents.setdefault(aid, {"id": aid, "system_prompt": prompt, "tools": []})
        agent["tools"] = list(dict.fromkeys([*agent["tools"], *tools]))

    def _step(self, task: Task, extra: str = "") -> dict[str, Any]:
        self._agent(task.agent, task.prompt, task.tools)
        prev = f"\n\nThe result so far:\n{self.prev}" if self.prev else ""
        return {"id": task.id, "agent": task.agent, "task": task.text[:200],
                "input": f"{task.text}\n\nThe request:\n${{user_input}}{prev}{extra}", "next": [NEXT]}

    def _ids(self) -> set[str]:
        out = {s["id"] for s in self.steps}
        for s in self.steps:
            out |= {b["id"] for b in (s.get("review_loop") or {}).get("body", [])}
        return out | {t.id for t in self.plan.tasks()}

    def _unique(self, stem: str) -> str:
        sid, n = stem, 2
        while sid in self._ids():
            sid, n = f"{stem}_{n}", n + 1
        return sid

    def _hand_over(self, targets: list[str]) -> None:
        for s in self.steps:
            lists = [s.get("next", [])] + ([s["route"]["then"], s["route"]["otherwise"]] if s.get("route") else [])
            for exits in lists:
                if NEXT in exits:
                    exits[exits.index(NEXT):exits.index(NEXT) + 1] = targets

    def _place(self, step: dict[str, Any], *, plain: bool) -> None:
        self._hand_over([step["id"]])
        self.steps.append(step)
        self.prev = f"${{{step['id']}.output}}"
        self.last = step if plain else None

    # -- stages -------------------------------------------------------------------------------

    def _task(self, st: Stage) -> None:
        self._place(self._step(st.tasks[0]), plain=True)

    def _if(self, st: Stage) -> None:
        decider = self.last
        if decider is None:  # a condition after a condition or a loop: a check by the agent before
            before = next((s["agent"] for s in reversed(self.steps) if s.get("agent")), st.tasks[0].agent)
            decider = {"id": self._unique("check"), "agent": before, "task": f"Decide whether {st.condition}",
                       "input": f"Decide whether {st.condition}.\n\n${{user_input}}", "next": [NEXT]}
            self._place(decider, plain=True)
        label = "CONDITION_HOLDS"
        decider["input"] += f"\n\nEnd with '{label}: YES' if {st.condition}, else '{label}: NO'."
        test = f"contains(upper(str(${{{decider['id']}.output}})), '{label}: YES')"
        then = self._step(st.tasks[0])
        other = self._step(st.otherwise) if st.otherwise is not None else None
        decider["next"] = []
        decider["route"] = {"condition": f"not {test}" if st.negate else test, "then": [then["id"]],
                            "otherwise": [other["id"]] if other else [NEXT]}
        self.steps += [then] + ([other] if other else [])
        self.prev, self.last = None, None  # either branch may have run

    def _parallel(self, st: Stage) -> None:
        if st.each:
            tools = tuple(dict.fromkeys(t for task in st.tasks for t in task.tools))
            task = st.tasks[0]
            step = self._step(Task(task.id, task.agent, task.text, task.role, task.prompt, tools=tools),
                              "\n\nYour part: ${loop.item}")
            step["for_each"] = list(st.items or [t.focus or t.id for t in st.tasks])
            self._place(step, plain=False)
            return
        if not self.steps:  # the first step starts the workflow: one step hands the request to the branches
            first = st.tasks[0]
            self._agent(first.agent, first.prompt, first.tools)
            self._place({"id": self._unique("start"), "agent": first.agent, "task": "Read the request",
                         "input": "Restate the request:\n${user_input}", "next": [NEXT]}, plain=True)
        key = f"p{len(self.steps)}"
        branches = [self._step(t) for t in st.tasks]
        join = self._unique(f"{branches[0]['id']}_results")
        joiner = "results_combiner" if st.combine else st.tasks[0].agent
        if st.combine:
            self._agent(joiner, BY_NAME["synthesise"].prompt)
        self._hand_over([b["id"] for b in branches])
        for b in branches:
            b.update(fan_key=key, next=[join])
        self.steps += branches
        self._place({"id": join, "agent": joiner, "task": "Combine the parallel results", "fan_key": key,
                     "is_fan_in": True, "next": [NEXT],
                     "input": "Combine:\n" + "\n".join(f"${{branches.{b['id']}}}" for b in branches)}, plain=True)

    def _loop(self, st: Stage) -> None:
        body = [{k: v for k, v in self._step(t).items() if k != "next"} for t in st.tasks]
        if st.kind == REVIEW:
            body[1]["input"] = f"Review this draft; start with APPROVED or REVISE:\n${{{body[0]['id']}.output}}"
            until = f"contains(upper(str(${{{body[1]['id']}.output}})), 'APPROVED')"
        else:
            body[0]["input"] += "\n\nEnd with 'DONE: YES' when done."
            until = f"contains(upper(str(${{{body[0]['id']}.output}})), 'DONE: YES')"
        self._place({"id": self._unique(f"{st.tasks[0].id}_rounds"), "agent": None, "task": st.tasks[0].text[:200],
                     "input": "", "next": [NEXT], "review_loop": {"until": until, "max_rounds": 3, "body": body}},
                    plain=False)

    def _call(self, st: Stage) -> None:
        task = st.tasks[0]
        if task.workflow and self.known(task.workflow):
            self._place({"id": task.id, "agent": None, "workflow": task.workflow, "task": task.text[:200],
                         "input": self.prev or "${user_input}", "next": [NEXT]}, plain=False)
        else:
            self._place(self._step(task, f"\n\nRun the workflow '{task.workflow}' with the workflow_executor tool."),
                        plain=True)


@pytest.fixture(scope="module")
def llm() -> Iterator[LLMServer]:
    with LLMServer() as server:
        yield server


@pytest.fixture(scope="module")
def wfx(llm: LLMServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Executor]:
    home = tmp_path_factory.mktemp("genllmplans")
    with plans_executor(home, llm.base_url) as ex:
        yield ex


def test_a_model_that_answers_each_plan_correctly_is_used_on_the_first_round_for_every_case(
        wfx: Executor, llm: LLMServer) -> None:
    known = lambda n: wfx.registry.get(n) is not None  # noqa: E731
    tools = catalogue(wfx.engine.tools)

    def respond(body: dict[str, Any]) -> Any:
        # the generator sends the description as JSON text after this line; plan it as it does
        description = json.loads(body["messages"][1]["content"].split("\n", 1)[1])
        return {"json": IdealModel(fit(read(description), COMPLEXITY, tools, known), known).answer()}

    llm.reset()
    llm.responder = respond
    model = service.model_for(wfx.services.settings)
    assert model is not None
    try:
        for description, want in CASES:
            gen = service.generate(description, validate=lambda d: wfx.check(d, name="gen"), name="gen",
                                   complexity=COMPLEXITY, model=model, tool_registry=wfx.engine.tools,
                                   known_workflow=known)
            assert (gen.generator, gen.llm_calls) == ("llm", 1), (description, gen.llm_errors)
            loaded, _ = wfx.check(gen.document, name="gen")
            steps = list(all_steps(loaded.workflow("gen").steps))
            agents = agents_used(loaded.workflow("gen"))
            types = {loaded.tools[t].type for a in agents for t in loaded.agents[a].tools}
            assert want.get("tools", set()) <= types, (description, types)
            assert sum(1 for s in steps if s.output and s.output.condition) >= want.get("ifs", 0), description
            assert sum(1 for s in steps if s.loop and s.loop.until) >= want.get("loops", 0), description
            for part in want.get("parts", []):
                assert any(part in f"{s.id} {s.input} {s.loop.for_each if s.loop else ''}".lower()
                           for s in steps), (description, part)
            for word in want.get("agents", []):
                assert any(word in a for a in agents), (description, word, agents)
            if "child" in want:
                assert any(s.invoke_workflow == want["child"] for s in steps), description
    finally:
        llm.responder = None
        model[0].close()
    assert len(llm.requests) == len(CASES)  # one model call per case: no repair round was needed
