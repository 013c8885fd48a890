"""What a step was given: its declared input rendered with the scope it ran in, kept as a short
JSON preview on the step record (for people reading a run, never read back by the engine).
Inputs that read ``${env.*}`` are not kept: the store must not collect the operator's values."""

from __future__ import annotations

import json
from typing import Any

from ..spec.model import Step
from ..spec.refs import RenderBudget, Scope, render

PREVIEW_CHARS = 4000
RENDER_CHARS = 4 * PREVIEW_CHARS  # text a preview may build before it gives up


def declared(step: Step) -> Any:
    """The step's input as written: ``args`` of a function, ``params`` of a tool, ``input`` of an
    agent or a child workflow."""
    return {"agent": step.input, "function": step.args, "tool": step.params,
            "invoke_workflow": step.input}.get(step.action or "")


def preview(step: Step, scope: Scope) -> str | None:
    """The rendered input as JSON cut at PREVIEW_CHARS, or None (no input, a loop - whose input
    changes per iteration -, an ``${env.*}`` reference, or one that does not render)."""
    value = declared(step)
    if step.loop is not None or value in (None, {}, [], ""):
        return None
    try:
        if "${env." in json.dumps(value, default=str):
            return None
        # a small budget of its own: a preview never costs what the step's own render may
        text = json.dumps(render(value, scope, RenderBudget(RENDER_CHARS)), ensure_ascii=False, default=str)
    except Exception:  # the step itself reports what is wrong with its input
        return None
    return text if len(text) <= PREVIEW_CHARS else text[:PREVIEW_CHARS] + "…"
