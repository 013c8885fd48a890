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
    """``{step, for, event, since, until, match?, payload_schema?, question?, choices?}`` while the
    run waits (``for``: event, answer or timer), else None."""
    w = ex.wait
    if ex.status != ExecutionStatus.WAITING or w is None:
        return None
    kind = {"event": "event", "ask": "answer"}.get(w.kind, "timer")
    out: dict[str, Any] = {"step": w.step, "for": kind, "event": w.event,
                           "since": _iso(w.since_s), "until": _iso(w.until_s)}
    if w.kind == "ask":  # an agent asked a person: send_event(id, "answer", "...") answers it
        out["question"] = w.question
        if w.choices:
            out["choices"] = w.choices
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
    if w.kind == "ask":
        what = f"an answer to '{(w.question or '')[:120]}'"
    until = f" (until {_iso(w.until_s)})" if w.until_s is not None else ""
    return f"Waiting for {what} at step '{w.step}' since {_iso(w.since_s)}{until}"
