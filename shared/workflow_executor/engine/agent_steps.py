"""Agent steps inside the engine: the AgentContext an AgentRunner gets (journal of turns, budget,
cancel-aware sleep, tools, events) and the LLM budget of a run, its ancestors' included.

Spending is live: a run's finished steps (``run.usage``), the turns of its agent steps still
running (``run.live``) and the spending of child runs still running under it. A budget is
checked before each model call against all of that, for the run and for each ancestor."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

from ..agents.toolbox import ToolCall
from ..errors import BudgetExceeded, Cancelled
from ..models import Budget, Usage
from ..spec.model import Step

if TYPE_CHECKING:
    from .runner import Run


class Spending:
    """The live part of a run's spending; one per Run."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.steps: dict[str, Usage] = {}  # agent step attempt key -> usage so far
        self.children: set[Run] = set()


def live_usage(run: Run) -> Usage:
    """What ``run`` has spent so far: finished steps, running agent steps, running children."""
    with run.spending.lock:
        steps = list(run.spending.steps.values())
        children = list(run.spending.children)
    total = run.usage
    for u in steps:
        total = total.add(u)
    for child in children:
        total = total.add(live_usage(child))
    return total


def budget_of(run: Run) -> Budget | None:
    wf = run.workflow
    own = Budget(max_tokens=wf.max_tokens, max_cost_usd=wf.max_cost_usd)
    out = own.tighter(run.ex.budget)
    return None if out.empty else out


def check_budget(run: Run, *, priced: bool = True) -> None:
    """Raise BudgetExceeded when ``run`` or any ancestor has spent its budget (or has a cost
    budget while the next model call has no price: its cost could not be counted)."""
    r: Run | None = run
    while r is not None:
        budget = budget_of(r)
        if budget is not None and budget.max_cost_usd is not None and not priced:
            raise BudgetExceeded("the model of this agent has no price, so the cost budget of "
                                 f"{'this execution' if r is run else f'parent execution {r.ex.id}'} cannot be "
                                 "enforced", fix="the operator adds the model to WFX_PRICES (or the provider's "
                                 "prices), or use max_tokens instead of max_cost_usd", execution=r.ex.id)
        if budget is not None:
            spent = live_usage(r)
            tokens = spent.prompt_tokens + spent.completion_tokens
            whose = "this execution" if r is run else f"parent execution {r.ex.id}"
            if budget.max_tokens is not None and tokens >= budget.max_tokens:
                raise BudgetExceeded(f"{whose} has used {tokens} of its {budget.max_tokens} tokens",
                                     fix="raise max_tokens (workflow, request or API key), or make the "
                                     "agents' tasks smaller", execution=r.ex.id, tokens=tokens)
            if budget.max_cost_usd is not None and spent.cost_usd >= budget.max_cost_usd:
                raise BudgetExceeded(f"{whose} has spent ${spent.cost_usd:.4f} of its "
                                     f"${budget.max_cost_usd:g}", fix="raise max_cost_usd (workflow, request "
                                     "or API key), or make the agents' tasks smaller",
                                     execution=r.ex.id, cost_usd=spent.cost_usd)
        r = r.parent


def turn_key(step: Step, loop_path: tuple[int, ...], attempt: int) -> str:
    """The journal key of one attempt of one step (one per loop iteration)."""
    return step.id + "".join(f".{i}" for i in loop_path) + f"@{attempt}"


class StepAgentContext:
    """``ports.AgentContext`` for one attempt of one agent step of ``run``."""

    def __init__(self, run: Run, step: Step, loop_path: tuple[int, ...], attempt: int) -> None:
        self.run = run
        self.step = step
        self.execution_id = run.ex.id
        self.step_id = step.id
        self.principal = run.ex.principal
        self.key = turn_key(step, loop_path, attempt)

    def recorded_turns(self) -> list[dict[str, Any]]:
        return self.run.store.load_turns(self.execution_id, self.key)

    def record_turn(self, index: int, turn: dict[str, Any]) -> dict[str, Any]:
        return self.run.store.record_turn(self.execution_id, self.key, index, turn)

    def check_budget(self, spent: Usage, *, priced: bool = True) -> None:
        self.run.check_cancel()
        with self.run.spending.lock:
            self.run.spending.steps[self.key] = spent
        check_budget(self.run, priced=priced)

    def done(self) -> None:
        """The step's usage now travels in its record: stop counting it as live."""
        with self.run.spending.lock:
            self.run.spending.steps.pop(self.key, None)

    def sleep(self, seconds: float) -> None:
        if self.run.clock.sleep(seconds, until=self.run.cancel_requested):
            raise Cancelled("execution was cancelled while an agent waited to retry", step=self.step_id)

    def toolbox(self, tool_ids: tuple[str, ...]) -> Any:
        host = getattr(self.run.engine, "tools", None)
        if host is None:
            return None
        return host.toolbox(tool_ids, self.run.document)

    def tool_call(self, deadline_s: float | None) -> ToolCall:
        return ToolCall(execution_id=self.execution_id, step_id=self.step_id, principal=self.principal,
                        deadline_s=deadline_s, run=self.run, trigger_hops=self.run.ex.trigger_hops)

    def emit(self, type_: str, data: dict[str, Any]) -> None:
        self.run.emit(type_, {"step": self.step_id, **data})
