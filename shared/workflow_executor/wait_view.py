"""How a parked run's wait looks to people and callers (check_execution_status, wfx status/watch,
the web view, MCP progress): what it waits for, since when and until when."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from .models import Execution, ExecutionStatus


def _iso(ts: float | None) -> str | None:
    if ts is None:
        return None
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def wait_view(ex: Execution) -> dict[str, Any] | None:
    """``{step, for, event, since, until, payload_schema?}`` while the run waits, else None."""
    w = ex.wait
    if ex.status != ExecutionStatus.WAITING or w is None:
        return None
    out: dict[str, Any] = {"step": w.step, "for": "event" if w.kind == "event" else "timer", "event": w.event,
                           "since": _iso(w.since_s), "until": _iso(w.until_s)}
    if w.match:
        out["match"] = w.match
    if w.payload_schema:
        out["payload_schema"] = w.payload_schema
    return out


def wait_line(ex: Execution) -> str:
    """'Waiting for event 'approval' at step 'approve' since 10:00:00Z (until 11:00:00Z)'."""
    w = ex.wait
    if w is None:
        return "Waiting"
    what = f"event '{w.event}'" if w.kind == "event" else "its timer"
    until = f" (until {_iso(w.until_s)})" if w.until_s is not None else ""
    return f"Waiting for {what} at step '{w.step}' since {_iso(w.since_s)}{until}"
