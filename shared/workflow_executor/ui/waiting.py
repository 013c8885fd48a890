"""A waiting run's panel on its page: what it waits for, since and until when, and for callers
with the ``run`` scope Approve / Reject (or a form built from the step's ``payload_schema``; for an
agent's question, a button per choice or an answer field),
which app.js sends as the MCP tool send_event (the server checks again on the call)."""

from __future__ import annotations

import json
from typing import Any

from ..access import Caller
from ..models import Execution, ExecutionStatus
from ..wait_view import wait_line
from .html import esc

_KINDS = {"boolean", "integer", "number", "string"}
MAX_FIELDS = 20


def panel(caller: Caller, ex: Execution) -> str:
    """The panel, or '' when the run is not waiting."""
    w = ex.wait
    if ex.status != ExecutionStatus.WAITING or w is None:
        return ""
    out = [f'<div class="waiting" data-waiting="{esc(w.kind)}"><p><b>{esc(wait_line(ex))}</b></p>']
    if w.kind == "ask" and w.question:
        out.append(f'<p class="question">{esc(w.question)}</p>')
    if w.kind == "event" and w.event and caller.has("run"):
        fields = _fields(w.payload_schema)
        attrs = f'data-id="{esc(ex.id)}" data-event="{esc(w.event)}"'
        if fields is not None:
            rows = "".join(_field(name, kind, required) for name, kind, required in fields)
            out.append(f'<form class="event" data-action="send-event" {attrs}>{rows}'
                       f'<button type="submit">Send {esc(w.event)}</button></form>')
        else:
            for label, approved, cls in (("Approve", True, ""), ("Reject", False, "danger")):
                out.append(_button(label, {"approved": approved}, cls, attrs))
    elif w.kind == "ask" and w.event and caller.has("run"):
        attrs = f'data-id="{esc(ex.id)}" data-event="{esc(w.event)}"'
        if w.choices:
            out.extend(_button(choice, {"answer": choice}, "", attrs) for choice in w.choices[:MAX_FIELDS])
        else:
            out.append(f'<form class="event" data-action="send-event" {attrs}><label>answer '
                       '<input name="ev:answer" type="text" data-type="string" required></label> '
                       '<button type="submit">Answer</button></form>')
    out.append("</div>")
    return "".join(out)


def _button(label: str, payload: dict[str, Any], cls: str, attrs: str) -> str:
    return (f'<button type="button" class="{cls}" data-action="send-event" {attrs} '
            f'data-payload="{esc(json.dumps(payload))}">{esc(label)}</button> ')


def _fields(schema: dict[str, Any] | None) -> list[tuple[str, str, bool]] | None:
    """(name, type, required) of an object schema's simple properties; None: no form (Approve / Reject)."""
    if not isinstance(schema, dict) or not isinstance(schema.get("properties"), dict):
        return None
    required = set(schema.get("required") or [])
    out = []
    for name, prop in list(schema["properties"].items())[:MAX_FIELDS]:
        kind = prop.get("type") if isinstance(prop, dict) else None
        out.append((str(name), kind if kind in _KINDS else "string", name in required))
    return out or None


def _field(name: str, kind: str, required: bool) -> str:
    if kind == "boolean":
        control = (f'<select name="ev:{esc(name)}" data-type="boolean"><option value="true">true</option>'
                   '<option value="false">false</option></select>')
    else:
        step = ' step="any"' if kind == "number" else ""
        html_type = "number" if kind in ("number", "integer") else "text"
        control = (f'<input name="ev:{esc(name)}" type="{html_type}"{step} data-type="{kind}"'
                   + (" required" if required else "") + ">")
    return f"<label>{esc(name)} {control}</label> "
