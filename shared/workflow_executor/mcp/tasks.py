"""MCP tasks over executions (task id = execution id; nothing else is stored).

Two shapes: the 2025-11-25 core (``CreateTaskResult {task}``, tasks/get, tasks/result,
tasks/list, tasks/cancel) and the 2026-07-28 ``io.modelcontextprotocol/tasks`` extension
(flat ``resultType: "task"`` handles, tasks/get with the result inlined, tasks/cancel and
tasks/update acknowledgements, no tasks/result or tasks/list).
"""

from __future__ import annotations

from typing import Any

from ..access import Caller
from ..errors import InvalidArgument, NotFound, WfxError
from ..models import Execution, ExecutionStatus
from ..ports import ExecutionQuery
from . import elicit
from .app import McpApp
from .jsonrpc import FORBIDDEN, INVALID_PARAMS, TASK_NOT_FINISHED, ProtocolError
from .run_tools import owned
from .views import iso, run_result, status_line

EXTENSION = "io.modelcontextprotocol/tasks"
RELATED_TASK = "io.modelcontextprotocol/related-task"
POLL_INTERVAL_MS = 1000
RESULT_WAIT_S = 50.0  # tasks/result blocks at most this long, then asks the client to call again

_LEGACY_STATUS = {
    ExecutionStatus.QUEUED: "working", ExecutionStatus.RUNNING: "working",
    ExecutionStatus.WAITING: "input_required",  # parked at a wait step: send_event resumes it
    ExecutionStatus.COMPLETED: "completed", ExecutionStatus.FAILED: "failed",
    ExecutionStatus.TIMEOUT: "failed", ExecutionStatus.CANCELLED: "cancelled",
}


def legacy_status(ex: Execution) -> str:
    """The 2025-11-25 task status of an execution (a failed or timed-out run is failed)."""
    return _LEGACY_STATUS[ex.status]


def modern_status(ex: Execution) -> str:
    # The extension keeps "failed" for JSON-RPC errors; a workflow that failed is a tool
    # result with isError, i.e. a completed task (ext-tasks 2026-07-28, "Task Status").
    """The 2026-07-28 extension's task status of an execution."""
    if ex.status == ExecutionStatus.WAITING:
        return "input_required"
    return "working" if not ex.finished else ("cancelled" if ex.status == ExecutionStatus.CANCELLED
                                              else "completed")


def _base(ex: Execution, now: float) -> dict[str, Any]:
    return {"taskId": ex.id, "statusMessage": status_line(ex, now), "createdAt": iso(ex.created_at_s),
            "lastUpdatedAt": iso(ex.updated_at_s)}


def legacy_task(ex: Execution, now: float) -> dict[str, Any]:
    """The 2025-11-25 Task (executions are kept without expiry: ``ttl`` is null)."""
    return {**_base(ex, now), "status": legacy_status(ex), "ttl": None, "pollInterval": POLL_INTERVAL_MS}


def modern_task(ex: Execution, now: float, *, detailed: bool, elicits: bool = False) -> dict[str, Any]:
    """The 2026-07-28 Task; ``detailed`` inlines the tool result of a completed task, and
    (``elicits``: the client can take a form) the form of an agent's ask (mcp/elicit.py)."""
    out = {**_base(ex, now), "status": modern_status(ex), "ttlMs": None, "pollIntervalMs": POLL_INTERVAL_MS}
    if detailed and out["status"] == "completed":
        out["result"] = {**run_result("task", ex, now).wire(), "resultType": "complete"}
    if detailed and elicits and ex.status == ExecutionStatus.WAITING and ex.wait is not None \
            and ex.wait.kind == "ask":
        out["inputRequests"] = elicit.input_requests(ex)
    return out


def create_legacy(ex: Execution, now: float) -> dict[str, Any]:
    """The 2025-11-25 CreateTaskResult for a stored execution."""
    return {"task": legacy_task(ex, now)}


def create_modern(ex: Execution, now: float) -> dict[str, Any]:
    """The 2026-07-28 CreateTaskResult (``resultType: "task"``) for a stored execution."""
    return {**modern_task(ex, now, detailed=False), "resultType": "task"}


def _task_id(params: dict[str, Any]) -> str:
    tid = params.get("taskId")
    if not isinstance(tid, str) or not tid:
        raise ProtocolError(INVALID_PARAMS, "Invalid params: taskId must be a non-empty string")
    return tid


def _find(app: McpApp, caller: Caller, params: dict[str, Any], scope: str) -> Execution:
    if not caller.has(scope):
        raise ProtocolError(FORBIDDEN, f"this key lacks the '{scope}' scope",
                            {"code": "forbidden", "fix": f"use a key with the '{scope}' scope"})
    tid = _task_id(params)
    try:
        return owned(app, caller, tid)
    except NotFound:
        raise ProtocolError(INVALID_PARAMS, f"Failed to retrieve task: no task '{tid[:200]}'",
                            {"code": "not_found", "fix": "use a taskId returned to you"}) from None


def get(app: McpApp, caller: Caller, params: dict[str, Any], modern: bool, elicits: bool = False) -> dict[str, Any]:
    """tasks/get in either shape. Errors: ProtocolError -32602 (unknown or another caller's task)."""
    ex = _find(app, caller, params, "read")
    return modern_task(ex, app.now(), detailed=True, elicits=elicits) if modern else legacy_task(ex, app.now())


def result(app: McpApp, caller: Caller, params: dict[str, Any]) -> dict[str, Any]:
    """2025-11-25 tasks/result: block until the run ends (at most RESULT_WAIT_S), then answer
    what tools/call would have answered, tagged with the related task."""
    ex = _find(app, caller, params, "read")
    if not ex.finished:
        ex = app.executor.wait(ex.id, RESULT_WAIT_S)
    if not ex.finished:
        raise ProtocolError(TASK_NOT_FINISHED, f"task {ex.id} is still working after {RESULT_WAIT_S:.0f} s",
                            {"taskId": ex.id, "status": "working",
                             "fix": "call tasks/result again, or poll tasks/get"})
    out = run_result("task", ex, app.now()).wire()
    out["_meta"] = {RELATED_TASK: {"taskId": ex.id}}
    return out


def list_tasks(app: McpApp, caller: Caller, params: dict[str, Any]) -> dict[str, Any]:
    """2025-11-25 tasks/list: the caller's executions as tasks, 50 a page."""
    if not caller.has("read"):
        raise ProtocolError(FORBIDDEN, "this key lacks the 'read' scope", {"code": "forbidden"})
    cursor = params.get("cursor")
    if cursor is not None and not isinstance(cursor, str):
        raise ProtocolError(INVALID_PARAMS, "Invalid params: cursor must be a string")
    try:
        page = app.executor.store.list(ExecutionQuery(principal=None if caller.admin else caller.principal,
                                                      limit=50, cursor=cursor))
    except InvalidArgument:
        raise ProtocolError(INVALID_PARAMS, "Invalid params: unknown cursor",
                            {"fix": "pass nextCursor from the previous page"}) from None
    now = app.now()
    out: dict[str, Any] = {"tasks": [legacy_task(e, now) for e in page.items]}
    if page.next_cursor:
        out["nextCursor"] = page.next_cursor
    return out


def cancel(app: McpApp, caller: Caller, params: dict[str, Any], modern: bool) -> dict[str, Any]:
    """tasks/cancel: the task after the request (2025-11-25; a finished task is -32602) or an
    empty acknowledgement (2026-07-28)."""
    ex = _find(app, caller, params, "cancel")
    if ex.finished:
        if modern:
            return {}
        raise ProtocolError(INVALID_PARAMS, f"Cannot cancel task {ex.id}: it is already {legacy_status(ex)}",
                            {"code": "conflict"})
    ex = app.executor.cancel(ex.id)
    return {} if modern else legacy_task(ex, app.now())


def update(app: McpApp, caller: Caller, params: dict[str, Any]) -> dict[str, Any]:
    """2026-07-28 tasks/update: ``inputResponses`` answer the ask a task waits at (its form
    from tasks/get); the run goes on through a runner. Other responses are ignored.
    Errors: ProtocolError -32602 (unknown task, or an answer the ask refuses)."""
    ex = _find(app, caller, params, "run")
    try:
        elicit.accept(app, caller, ex, None, params.get("inputResponses"), inline=False)
    except WfxError as exc:
        raise ProtocolError(INVALID_PARAMS, f"Invalid params: {exc.message}"[:300],
                            {"code": exc.code, "fix": exc.fix}) from None
    return {}
