"""Start a run from the workflow page: a form built from the workflow's named inputs (a field
each; a value that parses as JSON is sent typed, else as text), the mode and the timeout.
Shown only to a key with ``run`` that may use the workflow; app.js sends it as an MCP
``execute_workflow`` call, so the one gate (access.check_run via Executor.submit) decides."""

from __future__ import annotations

from ..access import Caller
from ..spec.model import Workflow
from .html import esc


def form(caller: Caller, wf: Workflow, timeout_s: float | None) -> str:
    """The form, or an empty string for a caller that may not start ``wf``."""
    if not caller.has("run") or not caller.may_use(wf.id):
        return ""
    names = list(wf.inputs) or ["user_input"]
    fields = "".join(
        f'<label class="field">{esc(n)} <textarea name="in:{esc(n)}" rows="2" cols="50" '
        f'placeholder="text, or JSON such as 42, true, [1, 2], {{&quot;a&quot;: 1}}"></textarea></label>'
        for n in names)
    modes = "".join(f'<option value="{m}"{" selected" if m == "async" else ""}>{m}</option>'
                    for m in ("async", "sync", "isolated"))
    return (f'<h2>Start a run</h2><form class="run" data-action="run" data-workflow="{esc(wf.id)}">{fields}'
            f'<label>mode <select name="mode">{modes}</select></label> '
            f'<label>timeout (s) <input name="timeout" type="number" min="1" max="86400" '
            f'value="{int(timeout_s or 300)}"></label> <button type="submit">Start</button></form>')
