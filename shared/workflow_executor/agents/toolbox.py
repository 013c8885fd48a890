"""The contract between an agent's tool loop and the tools it may call.

The agent runner (``agents/runner``) asks a ``ToolHost`` for the ``ToolBox`` of one agent step,
offers ``ToolBox.specs()`` to the model as OpenAI functions, and calls ``ToolBox.call`` for each
tool call the model makes. ``tool:`` steps use the same host directly. Implementations live in
``agents/tools/``; the engine only sees these types.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from ..models import Usage


@dataclass(frozen=True)
class ToolSpec:
    """One function offered to the model. ``name`` matches ``^[A-Za-z0-9_-]{1,64}$`` (OpenAI's
    rule); ``parameters`` is a JSON Schema object."""

    name: str
    description: str
    parameters: Mapping[str, Any]


@dataclass(frozen=True)
class ToolCall:
    """Where a call comes from: enough for limits, audit and the workflow_executor meta-tool."""

    execution_id: str
    step_id: str
    principal: str | None = None
    deadline_s: float | None = None  # time.monotonic() value after which the call must give up
    # the running engine ``Run`` (engine/runner.py) for tools that start child executions
    run: Any = None
    trigger_hops: int = 0  # the run's Execution.trigger_hops: what a publish carries on (+1)
    extra: Mapping[str, Any] = field(default_factory=dict)
    # what the call spent on models besides the agent's own turns (a query's embedding): the
    # engine adds it to the step's usage, as it does an agent's turns (tools call ``spend``)
    spent: list[Usage] = field(default_factory=list, compare=False)

    def spend(self, usage: Usage) -> None:
        """Count ``usage`` (tokens, cost) toward the step that made this call, and toward the
        run's budget ledger (which the execution's stored usage comes from) at once."""
        self.spent.append(usage)
        ledger = getattr(self.run, "ledger", None)
        if ledger is not None:
            ledger.add(usage)

    def usage(self) -> Usage | None:
        """What the call's tools spent, or None when they spent nothing."""
        total = Usage()
        for u in list(self.spent):
            total = total.add(u)
        return total if self.spent else None


class ToolBox(Protocol):
    """The tools one agent step may call."""

    def specs(self) -> Sequence[ToolSpec]: ...

    def call(self, name: str, arguments: Mapping[str, Any], ctx: ToolCall) -> Any:
        """Run one tool call; the result must be JSON-able. Errors: WfxError subclasses with a
        ``fix`` (the runner shows the model the message and goes on, it does not fail the step
        unless the error says so)."""


class ToolHost(Protocol):
    """Builds tool boxes from a workflow document's ``tools`` section and the operator's registry."""

    def toolbox(self, tool_ids: Sequence[str], document: Any) -> ToolBox:
        """The box for an agent with ``tools: tool_ids`` in ``document`` (a spec.WorkflowDocument).
        Errors: NotFound / InvalidArgument naming the tool id and the fix."""

    def run_tool(self, tool_id: str, params: Mapping[str, Any], document: Any, ctx: ToolCall) -> Any:
        """A ``tool:`` step: one call of tool ``tool_id`` with the step's rendered ``params``."""
