"""An agent step's conversation on the execution page: each journaled model turn (model,
tokens, cost, text, tool calls) and tool turn (tool, result, error), read from the store's turn
journal (``ExecutionStore.load_turns``), so a running step shows the turns it has paid for."""

from __future__ import annotations

from typing import Any

from ..models import Execution
from ..ports import ExecutionStore
from ..spec.model import Step
from ..usage_view import dollars
from .html import esc, preview

MAX_ATTEMPTS = 5  # attempts of one step whose journals are shown


def journals(store: ExecutionStore, ex: Execution, step: Step, attempts: int) -> list[tuple[int, list[Any]]]:
    """(attempt, turns) for each attempt of an agent ``step`` that journaled turns (a loop's
    per-iteration journals are not listed)."""
    if step.agent is None or step.loop is not None:
        return []
    out = []
    for attempt in range(1, min(max(attempts, 1), MAX_ATTEMPTS) + 1):
        turns = store.load_turns(ex.id, f"{step.id}@{attempt}")
        if turns:
            out.append((attempt, turns))
    return out


def _model_turn(turn: dict[str, Any]) -> str:
    u = turn.get("usage") or {}
    msg = turn.get("message") or {}
    facts = [str(turn.get("model") or ""), f"{u.get('prompt_tokens', 0):,} in / {u.get('completion_tokens', 0):,} out"]
    if u.get("cost_usd"):
        facts.append(dollars(float(u['cost_usd'])))
    if turn.get("finish_reason"):
        facts.append(f"finish: {turn['finish_reason']}")
    calls = "".join(f"<li>calls <b>{esc((c.get('function') or {}).get('name'))}</b>"
                    f"<pre>{esc(str((c.get('function') or {}).get('arguments', ''))[:2000])}</pre></li>"
                    for c in msg.get("tool_calls") or [])
    text = f"<pre>{esc(str(msg.get('content'))[:4000])}</pre>" if msg.get("content") else ""
    return (f'<li class="turn turn-model"><b>model</b> <span class="muted">{esc(" · ".join(f for f in facts if f))}'
            f"</span>{text}" + (f"<ul>{calls}</ul>" if calls else "") + "</li>")


def _tool_turn(turn: dict[str, Any]) -> str:
    bad = ' <span class="badge st-failed">error</span>' if turn.get("error") else ""
    return (f'<li class="turn turn-tool"><b>tool</b> {esc(turn.get("name"))}{bad}'
            f"<pre>{preview(turn.get('content'))}</pre></li>")


def render(found: list[tuple[int, list[Any]]]) -> str:
    """The conversations as HTML (escaped), or an empty string."""
    parts = []
    for attempt, turns in found:
        items = "".join(_model_turn(t) if t.get("kind") == "model" else _tool_turn(t)
                        for t in turns if isinstance(t, dict))
        head = f"Conversation (attempt {attempt}, {len(turns)} turns)" if len(found) > 1 or attempt > 1 else (
            f"Conversation ({len(turns)} turns)")
        parts.append(f'<h4>{esc(head)}</h4><ol class="turns">{items}</ol>')
    return "".join(parts)
