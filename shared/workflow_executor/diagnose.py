"""Rule-based diagnosis without a model: why an execution failed and what to do next
(``troubleshoot``), and what in a workflow document will not run as meant (``advise``).
A leaf: it reads records and documents, never a store, a setting or the network."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from typing import Any

from .errors import Issue
from .models import Execution, ExecutionStatus, StepRecord, StepStatus
from .spec.graph import cycles, graph
from .spec.model import DEFAULT_LOOP_MAX, Step, WorkflowDocument

# Codes of failures that a later attempt may not see (the retry contract of errors.py).
TRANSIENT_CODES = frozenset({"transient", "model_rate_limited", "model_unavailable", "step_timeout", "tool_failed"})
_BY_CODE = {
    "timeout": "raise the run's timeout (or run it async), then rerun: finished steps are reused",
    "step_timeout": "raise the step's timeout, or make its work smaller",
    "no_model_configured": "set model: on the agent, or WFX_MODEL / OPENAI_API_KEY on the server",
    "model_auth_failed": "the server's model key was refused: the operator must fix OPENAI_API_KEY / WFX_PROVIDERS",
    "model_not_found": "name a model the endpoint serves in the agent's model:",
    "context_too_long": "shorten the step's input (pass one field, not a whole output) or use a longer-context model",
    "invalid_model_output": "tighten the agent's system prompt or output_schema so the model answers in the form asked",
    "budget_exceeded": "raise the budget (max_tokens / max_cost_usd) of the workflow or the key",
    "function_not_allowed": "use a built-in function or ask the operator to allow the module",
    "path_not_allowed": "use a path under the server's file roots",
    "host_not_allowed": "use a URL the operator allow-listed (WFX_HTTP_ALLOW)",
    "cancelled": "start it again if it is still needed",
}


@dataclass(frozen=True)
class Finding:
    """One thing to act on: ``kind`` is stable (tests assert it), ``path`` says where."""

    kind: str
    path: str
    message: str
    fix: str

    def to_dict(self) -> dict[str, str]:
        return asdict(self)


# -- executions ------------------------------------------------------------------------------

def _ordered(ex: Execution) -> list[StepRecord]:
    return sorted(ex.steps.values(), key=lambda r: (r.seq, r.step_id))


def _find_step(doc: WorkflowDocument | None, wf_name: str, step_id: str) -> Step | None:
    if doc is None or wf_name not in doc.workflows:
        return None
    todo = list(doc.workflows[wf_name].steps)
    while todo:
        s = todo.pop()
        if s.id == step_id:
            return s
        if s.loop is not None:
            todo.extend(s.loop.body)
    return None


def troubleshoot(ex: Execution, doc: WorkflowDocument | None = None) -> dict[str, Any]:
    """The rule-based diagnosis of one execution: its error and that error's fix, the failing
    step (attempts against its retry policy, the input it was given), every step's outcome,
    the steps never reached, and the fixes in the order to try them. ``doc`` is the workflow
    document the run used (None when unknown: the retry policy and unreached steps are then
    left out). Never raises."""
    err = ex.error
    failed = next((r for r in _ordered(ex) if r.status == StepStatus.FAILED), None)
    if failed is None and err is not None and err.step:
        failed = ex.steps.get(err.step)
    step_err = failed.error if failed is not None and failed.error is not None else err
    code = step_err.code if step_err else (err.code if err else None)
    fixes: list[str] = []
    own_fix = (step_err.details.get("fix") if step_err else None) or (err.details.get("fix") if err else None)
    if isinstance(own_fix, str) and own_fix:
        fixes.append(own_fix)
    if ex.status == ExecutionStatus.TIMEOUT:
        code = "timeout"
    if code in _BY_CODE and _BY_CODE[code] not in fixes:
        fixes.append(_BY_CODE[code])
    failing: dict[str, Any] | None = None
    if failed is not None:
        spec = _find_step(doc, ex.workflow_name, failed.step_id)
        policy = spec.retry.max_attempts if spec is not None and spec.retry is not None else 1
        failing = {"id": failed.step_id, "action": spec.action if spec is not None else None,
                   "attempts": failed.attempts, "max_attempts": policy if spec is not None else None,
                   "input": failed.input_preview,
                   "error": failed.error.model_dump(exclude_defaults=True) if failed.error else None}
        if failed.attempts > 1 and failed.attempts >= policy:
            fixes.append(f"step '{failed.step_id}' failed all {failed.attempts} attempts: retrying again will "
                         "not help; fix its cause")
        elif failed.attempts < policy:
            fixes.append(f"step '{failed.step_id}' stopped after {failed.attempts} of {policy} attempts: "
                         f"'{code}' is not an error a retry can fix")
        elif spec is not None and spec.retry is None and code in TRANSIENT_CODES:
            fixes.append(f"'{code}' may pass on a later attempt: add retry: {{max_attempts: 3, backoff_s: 2}} "
                         f"to step '{failed.step_id}'")
        if failed.input_preview is not None and failed.input_preview.strip() in ("null", '""', "{}", "[]"):
            fixes.append(f"step '{failed.step_id}' was given an empty input ({failed.input_preview.strip()}): "
                         "check the reference in its input to the step before it")
    if ex.finished and ex.status != ExecutionStatus.COMPLETED and ex.status != ExecutionStatus.CANCELLED:
        fixes.append(f"once fixed, rerun it: rerun_execution(execution_id='{ex.id}') (wfx rerun {ex.id}) reuses the "
                     "finished steps")
    ran = set(ex.steps)
    unreached = ([s.id for s in doc.workflows[ex.workflow_name].steps if s.id not in ran]
                 if doc is not None and ex.workflow_name in doc.workflows and ex.finished else [])
    return {
        "execution_id": ex.id, "workflow_name": ex.workflow_name, "status": ex.status.value,
        "error": ({**err.model_dump(exclude={"details"}), "fix": own_fix if isinstance(own_fix, str) else None}
                  if err else None),
        "failing_step": failing,
        "steps": [{"id": r.step_id, "status": r.status.value, "attempts": r.attempts,
                   "error": r.error.code if r.error else None} for r in _ordered(ex)],
        "retried_steps": [r.step_id for r in _ordered(ex) if r.attempts > 1],
        "not_reached": unreached,
        "fixes": fixes,
    }


def troubleshoot_text(d: dict[str, Any]) -> str:
    """``troubleshoot``'s answer as lines for people (the CLI and the prompt share it)."""
    lines = [f"Execution {d['execution_id']} of '{d['workflow_name']}': {d['status']}"]
    if d["error"]:
        e = d["error"]
        lines.append(f"error: [{e['code']}] {e['message']}" + (f" (step '{e['step']}')" if e.get("step") else ""))
    f = d["failing_step"]
    if f:
        tries = f"{f['attempts']}" + (f" of {f['max_attempts']}" if f["max_attempts"] else "")
        lines.append(f"failing step: {f['id']}" + (f" ({f['action']})" if f["action"] else "") + f", attempts {tries}")
        if f["input"] is not None:
            lines.append(f"  its input: {f['input']}")
    lines.append("steps: " + (", ".join(f"{s['id']}={s['status']}" + (f" x{s['attempts']}" if s["attempts"] > 1
                                                                      else "") for s in d["steps"]) or "none ran"))
    if d["not_reached"]:
        lines.append("not reached: " + ", ".join(d["not_reached"]))
    lines.extend(f"fix {i}: {fix}" for i, fix in enumerate(d["fixes"], 1))
    if not d["fixes"]:
        lines.append("nothing to fix" if d["status"] == "completed" else "no rule applies; read the error above")
    return "\n".join(lines)


# -- documents -------------------------------------------------------------------------------

def _all_steps(steps: Iterable[Step], path: str) -> Iterable[tuple[Step, str]]:
    for i, s in enumerate(steps):
        yield s, f"{path}[{i}]"
        if s.loop is not None and s.loop.body:
            yield from _all_steps(s.loop.body, f"{path}[{i}].loop.body")


def _missing_tool(name: str, who: str, path: str, builtin: Callable[[str], bool]) -> Finding:
    if builtin(name):
        return Finding("missing_tool", path, f"{who} uses tool '{name}', which the document does not declare",
                       f"declare it: tools: [{{id: {name}, type: {name}}}]")
    return Finding("missing_tool", path, f"{who} uses tool '{name}': not declared, and no built-in tool has "
                   "that name", "declare it under tools: with a type this server knows, or remove it")


def advise(doc: WorkflowDocument, *, builtin: Callable[[str], bool],
           server_model: Callable[[str | None], str | None]) -> list[Finding]:
    """What will not run as meant: steps nothing reaches, tools an agent or step uses that the
    document does not declare (``builtin(name)``: whether the server has a tool type of that
    name), loops bounded only by the default (or routing cycles, which have no bound at all),
    agents with no model. ``server_model(provider)`` is the model the server would use for an
    agent that names none (None: it has none). Never raises."""
    out: list[Finding] = []
    for aid, agent in doc.agents.items():
        out.extend(_missing_tool(t, f"agent '{aid}'", f"agents.{aid}.tools", builtin)
                   for t in agent.tools if t not in doc.tools)
        if not agent.model:
            fallback = server_model(agent.provider)
            if fallback is None:
                out.append(Finding("agent_without_model", f"agents.{aid}", f"agent '{aid}' names no model and the "
                                   "server has no default model",
                                   "set model: on the agent (or WFX_MODEL on the server)"))
            else:
                out.append(Finding("agent_default_model", f"agents.{aid}", f"agent '{aid}' names no model: it runs "
                                   f"on the server's default '{fallback}'", "set model: to pin the model it runs on"))
    for wf in doc.workflows.values():
        wpath = f"workflows.{wf.id}"
        for step, path in _all_steps(wf.steps, f"{wpath}.steps"):
            if step.tool is not None and step.tool not in doc.tools:
                out.append(_missing_tool(step.tool, f"step '{step.id}'", f"{path}.tool", builtin))
            loop = step.loop
            if loop is not None and loop.until is not None and "max" not in loop.model_fields_set:
                out.append(Finding("unbounded_loop", f"{path}.loop", f"loop of step '{step.id}' repeats until "
                                   f"'{loop.until}' with no max of its own (the default {DEFAULT_LOOP_MAX} applies)",
                                   "set loop.max to the most rounds that make sense, e.g. max: 3"))
        for cyc in cycles(wf):
            index = next(i for i, s in enumerate(wf.steps) if s.id == cyc[0])
            out.append(Finding("unbounded_loop", f"{wpath}.steps[{index}]", "routing cycle without a bound: "
                               + " -> ".join([*cyc, cyc[0]]), "repeat with loop: {until: <expr>, max: 3, body: "
                               "[...]} instead of routing back"))
        g = graph(wf)
        if not g.chain:
            reach = g.reachable()
            for i, s in enumerate(wf.steps):
                if s.id not in reach:
                    out.append(Finding("unreachable_step", f"{wpath}.steps[{i}]", f"step '{s.id}' can never run: "
                                       "nothing routes to it",
                                       "route to it with output.to or depends_on, or remove it"))
    return out


def advice_text(findings: list[Finding], errors: list[Issue], warnings: list[Issue]) -> str:
    """Findings and the validation report as lines for people; a warning already said by a
    finding (same path) is not repeated."""
    lines = [f"{'valid' if not errors else 'INVALID'}: {len(errors)} errors, {len(warnings)} warnings, "
             f"{len(findings)} findings"]
    lines.extend(f"error   {e.path}: {e.message}" + (f" Fix: {e.fix}" if e.fix else "") for e in errors)
    said = {f.path for f in findings}
    lines.extend(f"warning {w.path}: {w.message}" + (f" Fix: {w.fix}" if w.fix else "")
                 for w in warnings if w.path not in said)
    lines.extend(f"{f.kind:<19} {f.path}: {f.message}. Fix: {f.fix}" for f in findings)
    return "\n".join(lines)
