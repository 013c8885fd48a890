"""The MCP tool that delivers an event to a waiting run: send_event. Who may is decided by the
one gate (access.check_send_event); the payload is checked like any input (waiting.deliver)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .. import access
from ..access import Caller
from ..errors import NotFound
from .results import ToolResult, one_line
from .schemas import SendEventInput
from .views import status_line

if TYPE_CHECKING:
    from .app import McpApp


def send_event(app: McpApp, caller: Caller, args: SendEventInput, as_task: bool) -> ToolResult:
    """Resume the run waiting for ``args.event``. Errors: NotFound (also another caller's run),
    Forbidden, NotWaiting, AlreadyDelivered, InvalidArgument (payload)."""
    ex = app.services.store.get_head(args.execution_id)
    if ex is None:
        raise NotFound(f"no execution with id '{args.execution_id[:200]}'",
                       fix="use an execution_id returned to you (list_executions shows yours)", field="execution_id")
    access.check_send_event(caller, ex)
    ex = app.executor.send_event(ex.id, args.event, args.payload, by=caller.principal)
    line = status_line(ex, app.now())
    return ToolResult({"execution_id": ex.id, "event": args.event, "delivered": True, "status": ex.status.value,
                       "message": f"event '{args.event}' delivered; the run goes on"},
                      one_line(f"Event '{args.event}' delivered to execution {ex.id}: {line}."))
