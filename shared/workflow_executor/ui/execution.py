"""One execution's page: facts, Cancel / Rerun (for callers with the scope), the timeline, the
workflow graph coloured by step status, and each step's input, output, error, retries and usage."""

from __future__ import annotations

import json
from typing import Any

from ..access import Caller
from ..engine.inputs import declared
from ..errors import WfxError
from ..mcp.app import McpApp
from ..models import Execution, StepRecord, StepStatus
from ..spec.model import Step, WorkflowDocument
from . import history, payload, source, steptree, timeline, turns, waiting
from .html import badge, cost, esc, memory, preview, seconds, tokens, when
from .pictures import picture

ITERATIONS_SHOWN = 50  # a loop's per-iteration outputs listed on its step


def _pretty(text: str) -> str:
    """An input preview indented when it is whole JSON (a cut one is shown as it is)."""
    try:
        return preview(json.loads(text))
    except ValueError:
        return esc(text)


def _step_details(rec: StepRecord, step: Step | None, talk: str = "") -> str:
    u = rec.usage
    wall = (rec.ended_at_s - rec.started_at_s) if rec.ended_at_s and rec.started_at_s else None
    facts = [("status", badge(rec.status.value)), ("attempts", esc(rec.attempts)),
             ("retries", esc(max(rec.attempts - 1, 0))), ("started", esc(when(rec.started_at_s))),
             ("wall time", esc(seconds(wall))), ("CPU time", esc(seconds(u.cpu_s)) if u and u.cpu_s else ""),
             ("tokens", esc(tokens(u))), ("cost", esc(cost(u))),
             ("routed to", esc(", ".join(rec.routed_to + (["user"] if rec.to_user else []))))]
    parts = [f'<details id="step-{esc(rec.step_id)}" data-key="{esc(rec.step_id)}" class="step">'
             f"<summary>{badge(rec.status.value)} <b>{esc(rec.step_id)}</b> "
             f'<span class="muted">{esc(step.action if step else "")} · {esc(seconds(wall))}</span></summary>',
             '<dl class="facts">' + "".join(f"<dt>{k}</dt><dd>{v}</dd>" for k, v in facts if v) + "</dl>"]
    if rec.input_preview is not None:
        parts.append(f"<h4>Input</h4><pre>{_pretty(rec.input_preview)}</pre>")
    elif step is not None:
        parts.append(f"<h4>Input (as written)</h4><pre>{preview(declared(step))}</pre>")
    parts.append(talk)
    if rec.error is not None:
        fix = rec.error.details.get("fix") or f"fix step '{rec.step_id}' or its input, then Rerun from it"
        parts.append(f'<div class="error"><b>{esc(rec.error.code)}</b>: {esc(rec.error.message)}'
                     + (f'<br><span class="fix">Fix: {esc(fix)}</span>' if fix else "") + "</div>")
    listed = (rec.status == StepStatus.COMPLETED and step is not None and step.loop is not None
              and isinstance(rec.output, list) and bool(rec.output))
    if listed or rec.iterations:
        parts.append(_iterations(rec, rec.output if listed else None))
    if rec.status in (StepStatus.COMPLETED, StepStatus.SKIPPED) and not listed:
        parts.append(f"<h4>Output</h4>{payload.render(rec.output)}")
    parts.append("</details>")
    return "".join(parts)


def _iterations(rec: StepRecord, outputs: list[Any] | None) -> str:
    """A loop step's iterations: each one's start (from the step's start) and wall time, and its
    output when the loop's output lists them (a ``for_each``; an ``until`` loop keeps the last)."""
    times = rec.iterations or []
    count = len(outputs) if outputs is not None else len(times)
    origin = rec.started_at_s or (times[0][0] if times else 0.0)
    items = []
    for i in range(min(count, ITERATIONS_SHOWN)):
        took = ""
        if i < len(times):
            began, ended = times[i]
            took = (f'<span class="it-time muted" data-took="{ended - began:.6f}">+{esc(seconds(began - origin))}'
                    f" · {esc(seconds(ended - began))}</span> ")
        items.append(f'<li value="{i}">{took}{payload.render(outputs[i]) if outputs is not None else ""}</li>')
    more = count - ITERATIONS_SHOWN
    return (f'<h4>Iterations ({count})</h4><ol class="iterations" start="0">{"".join(items)}</ol>'
            + (f'<p class="muted">… and {more} more</p>' if more > 0 else ""))


def page(app: McpApp, caller: Caller, ex: Execution, prefix: str) -> str:
    """The execution fragment (inserted into the shell by app.js)."""
    now = app.now()
    try:
        doc: WorkflowDocument | None = app.executor.engine.document(ex.workflow_name, ex.workflow_hash)
    except WfxError:
        doc = None
    wf = doc.workflow(ex.workflow_name) if doc else None
    steps = {s.id: s for s in wf.steps} if wf else {}
    u = ex.usage
    took = (ex.ended_at_s or now) - (ex.started_at_s or ex.created_at_s)
    facts = [("status", badge(ex.status.value)), ("mode", esc(ex.mode.value)), ("profile", esc(ex.profile or "")),
             ("caller", esc(ex.principal)),
             ("created", esc(when(ex.created_at_s))), ("started", esc(when(ex.started_at_s))),
             ("ended", esc(when(ex.ended_at_s))), ("duration", esc(seconds(took))),
             ("progress", esc(f"{ex.progress.completed} of {ex.progress.total} steps"
                              + (f"; running {', '.join(ex.progress.current)}" if ex.progress.current
                                 and not ex.finished else ""))),
             ("tokens", esc(tokens(u))), ("cost", esc(cost(u))),
             ("CPU time", esc(seconds(u.cpu_s)) if u.cpu_s else ""), ("peak memory", esc(memory(u.peak_memory_kb)))]
    if ex.budget is not None and not ex.budget.empty:
        b = ex.budget
        facts.append(("budget", esc(" / ".join(x for x in (f"{b.max_tokens:,} tokens" if b.max_tokens else "",
                                                           f"${b.max_cost_usd:g}" if b.max_cost_usd else "") if x))))
    if ex.parent_id:
        facts.append(("parent", f'<a href="{esc(prefix)}/ui/executions/{esc(ex.parent_id)}">{esc(ex.parent_id)}</a>'
                      f" (step {esc(ex.parent_step)})"))
    if ex.rerun_of:
        facts.append(("rerun of", f'<a href="{esc(prefix)}/ui/executions/{esc(ex.rerun_of)}">{esc(ex.rerun_of)}</a>'))
    live = "" if ex.finished else f' data-live="1" data-events="{esc(prefix)}/ui/api/executions/{esc(ex.id)}/events"'
    out = [f'<section class="execution" data-title="{esc(ex.workflow_name)} · {esc(ex.status.value)}" '
           f'data-id="{esc(ex.id)}" data-status="{esc(ex.status.value)}"{live}>',
           f'<h1><a href="{esc(prefix)}/ui/workflows/{esc(ex.workflow_name)}">{esc(ex.workflow_name)}</a> '
           f'{badge(ex.status.value)} <span class="muted mono">{esc(ex.id)}</span></h1>',
           '<dl class="facts">' + "".join(f"<dt>{k}</dt><dd>{v}</dd>" for k, v in facts if v) + "</dl>",
           _actions(caller, ex, list(steps)), waiting.panel(caller, ex)]
    if ex.error is not None:
        fix = ex.error.details.get("fix") or (f"fix step '{ex.error.step}' or its input, then Rerun"
                                              if ex.error.step else None)
        out.append(f'<div class="error"><b>{esc(ex.error.code)}</b>'
                   + (f" at step <a href=\"#step-{esc(ex.error.step)}\">{esc(ex.error.step)}</a>" if ex.error.step
                      else "") + f": {esc(ex.error.message)}"
                   + (f'<br><span class="fix">Fix: {esc(fix)}</span>' if fix else "") + "</div>")
    rows, t0, t1 = steptree.rows(app.services.store, ex, doc, now, prefix)
    out.append("<h2>Timeline</h2>" + (f'<div class="scroll">{timeline.render(rows, t0, t1)}</div>' if rows
                                      else '<p class="muted">No step has run yet.</p>'))
    if doc is not None:
        statuses = {r.step_id: r.status.value for r in ex.steps.values()}
        if not ex.finished:
            now_doing = "waiting" if ex.status.value == "waiting" else "running"
            statuses.update({s: now_doing for s in ex.progress.current if s not in statuses})
        out.append('<h2>Graph</h2><div class="scroll">'
                   + picture(doc, (), ex.workflow_name, statuses=statuses, link=f"{prefix}/ui/workflows/")
                   + "</div>")
    store = app.services.store
    out.append("<h2>Event history</h2>" + history.render(history.events(store, ex, steps), ex.created_at_s))
    out.append("<h2>Steps</h2>")
    for r in sorted(ex.steps.values(), key=lambda r: r.seq):
        step = steps.get(r.step_id)
        out.append(_step_details(r, step, turns.render(turns.journals(store, ex, step, r.attempts)) if step else ""))
    for sid in [] if ex.finished else ex.progress.current:  # a running agent step: its turns so far
        step = steps.get(sid)
        if sid not in ex.steps and step is not None and step.agent is not None:
            talk = turns.render(turns.journals(store, ex, step, turns.MAX_ATTEMPTS))
            out.append(f'<details id="step-{esc(sid)}" data-key="{esc(sid)}" class="step" open><summary>'
                       f"{badge('running')} <b>{esc(sid)}</b></summary>"
                       + (talk or '<p class="muted">No turn yet.</p>') + "</details>")
    out.append(f"<h2>Input</h2>{payload.render(ex.input)}")
    if ex.finished and ex.status.value == "completed":
        out.append(f'<h2>Result</h2><div class="result">{payload.render(ex.result)}</div>')
    out.append(source.section(app.services.registry, app.services.settings, ex.workflow_name, ex.workflow_hash))
    out.append("</section>")
    return "".join(out)


def _actions(caller: Caller, ex: Execution, step_ids: list[str]) -> str:
    """Cancel while it runs, Rerun once finished - each only for a caller that holds the scope
    (the server checks again on the call)."""
    parts = []
    if not ex.finished and caller.has("cancel"):
        parts.append(f'<button type="button" class="danger" data-action="cancel" data-id="{esc(ex.id)}">'
                     "Cancel</button>")
    if ex.finished and caller.has("run") and caller.may_use(ex.workflow_name):
        opts = "".join(f'<option value="{esc(s)}">{esc(s)}</option>' for s in step_ids)
        first = "" if ex.status.value == "completed" else '<option value="">the failed step</option>'
        parts.append(f'<form class="rerun" data-action="rerun" data-id="{esc(ex.id)}"><label>Rerun from '
                     f'<select name="from_step">{first}{opts}</select></label> <button type="submit">Rerun</button>'
                     "</form>")
    return f'<div class="actions">{"".join(parts)}</div>' if parts else ""
