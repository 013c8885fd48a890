"""How executions look to MCP callers: the status record, the list item, and the tool
result of a run (used by execute_*, rerun_execution and tasks/result alike)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from .. import placement
from ..models import Execution, ExecutionStatus, StepRecord
from ..usage_view import live_usage
from ..wait_view import wait_line, wait_view
from .results import ToolResult, error_result, one_line, preview


def iso(ts: float | None) -> str | None:
    """ISO 8601 UTC with milliseconds, or None."""
    if ts is None:
        return None
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def elapsed(ex: Execution, now: float) -> float:
    """Seconds from start (or creation) to the end, or to ``now`` while it runs."""
    start = ex.started_at_s or ex.created_at_s
    return round(max((ex.ended_at_s or now) - start, 0.0), 4)


def step_view(rec: StepRecord) -> dict[str, Any]:
    """One step record as callers see it: with its wall time and, when measured, its usage
    (CPU seconds of the step's thread, LLM tokens and cost)."""
    wall = (round(rec.ended_at_s - rec.started_at_s, 6) if rec.ended_at_s is not None
            and rec.started_at_s is not None else None)
    return {"id": rec.step_id, "status": rec.status.value, "attempts": rec.attempts,
            "started": iso(rec.started_at_s), "ended": iso(rec.ended_at_s), "wall_s": wall,
            "usage": rec.usage.model_dump(exclude_defaults=True) if rec.usage else None,
            "error": rec.error.model_dump(exclude_defaults=True) if rec.error else None,
            **({"warnings": list(rec.warnings)} if rec.warnings else {}),
            # what a failed step was given (already cut for people): the first thing to look at
            **({"input_preview": rec.input_preview} if rec.error and rec.input_preview is not None else {})}


def progress(ex: Execution) -> str:
    """'Running step 3 of 5: transform' while it runs; 'Completed: 5 of 5 steps ran' once finished
    (a step a condition routed around never runs)."""
    if ex.status == ExecutionStatus.WAITING:
        return wait_line(ex)
    if not ex.finished:
        return ex.progress.describe()
    return f"{ex.status.value.capitalize()}: {ex.progress.completed} of {ex.progress.total} steps ran"


def status_view(ex: Execution, now: float, placed: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """The check_execution_status record; ``placed``: the run's job starts (placement.history),
    which say where it runs and whether it moved to its profile's fallback."""
    out: dict[str, Any] = {
        "execution_id": ex.id, "status": ex.status.value, "workflow_name": ex.workflow_name,
        "execution_mode": ex.mode.value, "start_time": iso(ex.started_at_s or ex.created_at_s),
        "end_time": iso(ex.ended_at_s), "elapsed_time": elapsed(ex, now),
        "progress": progress(ex),
        "steps": [step_view(r) for r in sorted(ex.steps.values(), key=lambda r: (r.seq, r.step_id))],
        "usage": live_usage(ex).model_dump(),
    }
    if ex.status == ExecutionStatus.COMPLETED:
        out["result"] = ex.result
    if ex.error is not None:
        out["error"] = ex.error.model_dump(exclude_defaults=True)
    if ex.rerun_of:
        out["rerun_of"] = ex.rerun_of
    waiting = wait_view(ex)
    if waiting is not None:  # what it waits for, since and until when (send_event resumes it)
        out["waiting"] = waiting
    where = placement.view(ex, placed or [])
    if where is not None:
        out["placement"] = where
    return out


def brief_view(ex: Execution, now: float) -> dict[str, Any]:
    """One list_executions item."""
    return {"execution_id": ex.id, "status": ex.status.value, "workflow_name": ex.workflow_name,
            "execution_mode": ex.mode.value, "created": iso(ex.created_at_s), "ended": iso(ex.ended_at_s),
            "elapsed_time": elapsed(ex, now), "progress": progress(ex),
            "error": ex.error.code if ex.error else None}


def status_line(ex: Execution, now: float) -> str:
    """A short human description: 'Running step 3 of 5: transform', 'completed in 0.01 s', ..."""
    if ex.status == ExecutionStatus.WAITING:
        return wait_line(ex)
    if not ex.finished:
        return ex.progress.describe() if ex.status == ExecutionStatus.RUNNING else "Queued"
    took = f" in {elapsed(ex, now):.3f} s"
    if ex.status == ExecutionStatus.COMPLETED:
        return f"completed{took}"
    err = ex.error
    return one_line(f"{ex.status.value}{took}" + (f": {err.code}: {err.message}" if err else ""), 300)


def run_result(tool: str, ex: Execution, now: float, **extra: Any) -> ToolResult:
    """The tool result of a run in any state; ``isError`` when it failed, timed out or was
    cancelled (the workflow's own error is the result's code and message)."""
    view = {**status_view(ex, now), **extra}
    who = f"Execution {ex.id} of '{ex.workflow_name}'"
    if not ex.finished:
        view["message"] = f"started ({ex.mode.value}); poll check_execution_status(execution_id='{ex.id}')"
        return ToolResult(view, f"{who} is {ex.status.value} ({ex.mode.value}); poll check_execution_status "
                                f"with execution_id '{ex.id}'.", False, ex)
    if ex.status == ExecutionStatus.COMPLETED:
        view["message"] = status_line(ex, now)
        return ToolResult(view, one_line(f"{who} {status_line(ex, now)}; result: {preview(ex.result)}",
                                         2400), False, ex)
    err = ex.error
    code = err.code if err else ex.status.value
    message = err.message if err else f"execution {ex.status.value}"
    step = err.step if err else None
    fix = {ExecutionStatus.TIMEOUT: "raise timeout, or rerun_execution to continue from the last step",
           ExecutionStatus.CANCELLED: "start it again if it is still needed"}.get(
        ex.status, f"fix step '{step}' (or its input), then rerun_execution(execution_id='{ex.id}')"
        if step else "check the workflow, then rerun_execution")
    view.pop("message", None)
    res = error_result(tool, code, message, fix=fix, **{k: v for k, v in view.items()
                                                         if k not in ("code", "message", "field", "fix")})
    summary = one_line(f"{who} {ex.status.value}" + (f" at step '{step}'" if step else "")
                       + f": {code}: {message}. Fix: {fix}", 600)
    return ToolResult(res.structured, summary, True, ex)
