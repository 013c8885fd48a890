"""Agent steps inside the engine: the AgentContext an AgentRunner gets (journal of turns, budget
reservations, cancel-aware sleep, tools, events) and the LLM budget of a run.

Budgets are reserved, not checked: each model call reserves the most it can cost on the run's
ledger (engine/ledger.py), which covers its ancestors and the key's daily total too."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..agents.toolbox import ToolCall
from ..errors import Cancelled
from ..models import Budget, Usage
from ..spec.model import Step
from .ledger import Hold

if TYPE_CHECKING:
    from ..settings_llm import ModelPrice
    from .run import Run


def budget_of(run: Run) -> Budget | None:
    """The run's own LLM limits: its workflow's, tightened by the execution's (request and key)."""
    wf = run.workflow
    own = Budget(max_tokens=wf.max_tokens, max_cost_usd=wf.max_cost_usd)
    out = own.tighter(run.ex.budget)
    return None if out.empty else out


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

    def reserve(self, prompt_tokens: int, max_tokens: int | None, price: ModelPrice | None, *,
                wait_s: float) -> Hold:
        self.run.check_cancel()
        return self.run.ledger.reserve(prompt_tokens, max_tokens, price, wait_s=wait_s,
                                       cancelled=self.run.cancel_requested)

    def settle(self, hold: Any, spent: Usage) -> None:
        self.run.ledger.settle(hold, spent)

    def replayed(self, spent: Usage) -> None:
        self.run.ledger.add(spent)

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
