"""An execution's event history, read from what the run journaled: each step's start, retries
and end (its record), each agent turn with its model, tokens and cost and each tool call (the
turn journal), and each loop iteration or child run with its own timings. Oldest first."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..models import Execution, StepStatus
from ..ports import ExecutionStore
from ..spec.model import Step
from ..usage_view import dollars
from . import steptree
from .html import badge, esc, seconds, when

MAX_EVENTS = 2000


@dataclass(frozen=True)
class Event:
    at_s: float
    kind: str  # execution.created, step.started, step.retried, step.completed, agent.turn, tool.call, ...
    step: str
    text: str  # escaped HTML
    took_s: float | None = None


def events(store: ExecutionStore, ex: Execution, steps: dict[str, Step]) -> list[Event]:
    """The history of ``ex`` (the steps of its document in ``steps``), oldest first."""
    out = [Event(ex.created_at_s, "execution.created", "", f"{esc(ex.mode.value)} run by {esc(ex.principal)}")]
    if ex.started_at_s:
        out.append(Event(ex.started_at_s, "execution.started", "", ""))
    for rec in ex.steps.values():
        start, end = rec.started_at_s, rec.ended_at_s
        if start:
            out.append(Event(start, "step.started", rec.step_id, ""))
            if rec.attempts > 1:
                out.append(Event(start, "step.retried", rec.step_id,
                                 f"{rec.attempts - 1} retr{'y' if rec.attempts == 2 else 'ies'}"
                                 + (f" (last error {esc(rec.error.code)})" if rec.error else "")))
        if end:
            what = "step.reused" if rec.reused else f"step.{rec.status.value}"
            took = end - start if start else None
            detail = esc(rec.error.code + ": " + rec.error.message[:200]) if rec.error else ""
            out.append(Event(end, what, rec.step_id, detail, took))
        step = steps.get(rec.step_id)
        if step is None:
            continue
        for attempt in range(1, max(rec.attempts, 1) + 1):
            for turn in store.load_turns(ex.id, f"{rec.step_id}@{attempt}"):
                if isinstance(turn, dict):
                    out.append(_turn(turn, rec.step_id, start or ex.created_at_s))
        if rec.status != StepStatus.FAILED:
            for i, child in enumerate(steptree.children(store, ex, step, rec)):
                c_end = child.ended_at_s
                took = c_end - child.started_at_s if c_end and child.started_at_s else None
                label = f"iteration {i}" if step.loop is not None else "child run"
                out.append(Event(child.started_at_s or child.created_at_s, "loop.iteration" if step.loop else
                                 "child.run", rec.step_id, f"{label}: {esc(child.id)} {badge(child.status.value)}",
                                 took))
    if ex.ended_at_s:
        out.append(Event(ex.ended_at_s, f"execution.{ex.status.value}", "",
                         esc(ex.error.code + ": " + ex.error.message[:200]) if ex.error else ""))
    out.sort(key=lambda e: (e.at_s, _ORDER.get(e.kind.split(".")[0], 1)))
    return out[:MAX_EVENTS]


_ORDER = {"execution": 0, "step": 1, "agent": 2, "tool": 2}


def _turn(turn: dict[str, Any], step: str, fallback: float) -> Event:
    at = float(turn.get("started_at_s") or fallback)
    took = float(turn["ended_at_s"]) - at if turn.get("ended_at_s") else None
    if turn.get("kind") == "model":
        u = turn.get("usage") or {}
        calls = [str((c.get("function") or {}).get("name")) for c in (turn.get("message") or {}).get("tool_calls")
                 or []]
        text = (f"{esc(turn.get('model'))} · {int(u.get('prompt_tokens', 0)):,} in / "
                f"{int(u.get('completion_tokens', 0)):,} out"
                + (f" · {esc(dollars(float(u['cost_usd'])))}" if u.get("cost_usd") else "")
                + (f" · calls {esc(', '.join(calls))}" if calls else ""))
        return Event(at, "agent.turn", step, text, took)
    return Event(at, "tool.call", step, esc(turn.get("name")) + (" (error)" if turn.get("error") else ""), took)


def render(found: list[Event], t0: float) -> str:
    """The history as a table (times relative to ``t0`` and absolute on hover)."""
    rows = "".join(
        f'<tr class="ev ev-{esc(e.kind.split(".")[0])}" data-kind="{esc(e.kind)}"><td class="mono" '
        f'title="{esc(when(e.at_s))}">+{esc(seconds(max(e.at_s - t0, 0.0)) or "0 ms")}</td><td>{esc(e.kind)}</td>'
        f'<td>{f"""<a href="#step-{esc(e.step)}">{esc(e.step)}</a>""" if e.step else ""}</td>'
        f"<td>{e.text}</td><td>{esc(seconds(e.took_s))}</td></tr>" for e in found)
    return ('<table class="list history"><thead><tr><th>at</th><th>event</th><th>step</th><th>detail</th>'
            f"<th>took</th></tr></thead><tbody>{rows}</tbody></table>")
