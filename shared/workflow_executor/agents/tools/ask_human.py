"""``ask_human``: an agent asks a person a question (optionally with choices) and gets the answer
as the tool's result. The run parks until the answer comes (engine/asking.py); nothing is held."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pydantic import Field

from ...engine import asking
from ...errors import InvalidArgument
from ...spec.model import Tool
from ..toolbox import ToolCall
from .base import Operation, OperationsKind, ToolArgs, ToolEnv

NAME = "ask_human"
MAX_TIMEOUT_S = 30 * 86400.0  # as WFX_WAIT_MAX_S's default


class AskArgs(ToolArgs):
    question: str = Field(..., min_length=1, max_length=2000, description="the question, for a person to read")
    choices: list[str] | None = Field(None, max_length=20,
                                      description="the answers to pick from (none: any text)")
    timeout: float | None = Field(None, gt=0, le=MAX_TIMEOUT_S, description=(
        "seconds to wait for the answer (none: until it comes); past it the call fails with 'timeout'"))


def _ask(args: AskArgs, ctx: ToolCall) -> Any:
    if ctx.run is None:
        raise InvalidArgument("ask_human runs only inside a workflow run", fix="call it from an agent step",
                              fatal=True)
    choices = [c[:200] for c in args.choices] if args.choices else None
    return asking.ask(ctx.run, ctx.step_id, args.question, choices, args.timeout)


def _operations(tool: Tool, env: ToolEnv) -> Sequence[Operation]:
    return [Operation(NAME, "Ask a person a question and wait for the answer (it may take hours): use it "
                      "for approvals and for facts only a person knows. Returns the answer.", AskArgs, _ask)]


KIND = OperationsKind(NAME, "ask a person and wait for the answer (the run waits, holding nothing)", _operations,
                      aliases=("human", "ask_user"))
