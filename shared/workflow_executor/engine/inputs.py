"""What a step was given: its declared input rendered with the scope it ran in, kept as a short
JSON preview on the step record (for people reading a run, never read back by the engine).
Inputs that read ``${env.*}`` are not kept: the store must not collect the operator's values."""

from __future__ import annotations

import json
import re
from typing import Any

from ..spec.model import Step
from ..spec.refs import RenderBudget, Scope, render

_ENV_REF = re.compile(r"\$\{\s*env\.")
PREVIEW_CHARS = 4000
RENDER_CHARS = 4 * PREVIEW_CHARS  # text a preview may build before it gives up
# json.dumps(..., ensure_ascii=False, default=str) builds this encoder anew at every call
_ENCODER = json.JSONEncoder(ensure_ascii=False, default=str)
# the field that holds each action's input
_INPUT_OF = {"agent": "input", "function": "args", "tool": "params", "invoke_workflow": "input"}


def declared(step: Step) -> Any:
    """The step's input as written: ``args`` of a function, ``params`` of a tool, ``input`` of an
    agent or a child workflow."""
    field = _INPUT_OF.get(step.action or "")
    return None if field is None else getattr(step, field)


def preview(step: Step, scope: Scope) -> str | None:
    """The rendered input as JSON cut at PREVIEW_CHARS, or None (no input, a loop - whose input
    changes per iteration -, an ``${env.*}`` reference, or one that does not render)."""
    value = declared(step)
    if step.loop is not None or value in (None, {}, [], ""):
        return None
    try:
        if scope.rendered is not None:  # the input as the action rendered it
            shown = scope.rendered
        elif _reads_env(value):
            return None
        else:  # a render with a small budget of its own: a preview never costs what the step's own may
            shown = render(value, scope, RenderBudget(RENDER_CHARS))
        if scope.read_env:
            return None
        text = _ENCODER.encode(shown)
    except Exception:  # the step itself reports what is wrong with its input
        return None
    return text if len(text) <= PREVIEW_CHARS else text[:PREVIEW_CHARS] + "…"


def _reads_env(value: Any) -> bool:
    """True when a string anywhere in ``value`` holds an ``${env.`` reference."""
    if isinstance(value, str):
        return "${" in value and _ENV_REF.search(value) is not None
    if isinstance(value, dict):
        return any(_reads_env(k) or _reads_env(v) for k, v in value.items())
    if isinstance(value, list | tuple):
        return any(_reads_env(v) for v in value)
    return False
