"""What the stateful built-in tools share: whose records a call touches (the run's principal)
and the backends services.py handed over through ToolEnv."""

from __future__ import annotations

from ...errors import ToolFailed
from ...ports_tools import MessageQueue, ToolRecords
from ..toolbox import ToolCall
from .base import ToolEnv

LOCAL_OWNER = "local"  # runs without a principal (no API keys: `wfx run`, loopback `wfx serve`)


def owner_of(ctx: ToolCall) -> str:
    """The caller a record belongs to: the run's principal (one caller never sees another's)."""
    return ctx.principal or LOCAL_OWNER


def records_of(env: ToolEnv, tool: str) -> ToolRecords:
    """The records backend. Errors: ToolFailed when this process was built without one."""
    if env.records is None:
        raise ToolFailed(f"{tool} has no store in this process", fix="run it through wfx serve or the cloud stack")
    return env.records()


def queue_of(env: ToolEnv, tool: str) -> MessageQueue:
    """The message queue backend. Errors: ToolFailed when this process was built without one."""
    if env.queue is None:
        raise ToolFailed(f"{tool} has no message queue in this process",
                         fix="run it through wfx serve or the cloud stack")
    return env.queue()
