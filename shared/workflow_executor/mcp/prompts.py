"""MCP prompts: ``prompts/list`` and ``prompts/get`` for the six specialists. Each prompt is the
role's instructions plus what it works on, read with the tools' own visibility (a caller sees
only its own executions and the workflows its key may use; admin sees all)."""

from __future__ import annotations

import json
from typing import Any

from .. import diagnose
from ..access import Caller
from ..advice import loaded, tool_types
from ..errors import Issue, SpecError, WfxError
from ..spec.model import WorkflowDocument
from .app import McpApp
from .jsonrpc import INVALID_PARAMS, ProtocolError
from .run_tools import owned, resolve_workflow
from .specialists import COMPLEXITIES, SPECIALISTS, Specialist
from .tools import call

RECENT = 10  # executions the monitor is shown when no execution_id is given
_BOUNDS = {"simple": "1-2 agents, basic tools, mostly a chain", "medium": "3-4 agents, standard tools, some "
           "parallelism", "complex": "5-8 agents, the full tool suite, branches, loops and review rounds"}


def listing() -> dict[str, Any]:
    """prompts/list: the six specialists with their arguments (the same for every caller)."""
    return {"prompts": [{"name": s.name, "title": s.title, "description": s.description,
                         "arguments": [{"name": a.name, "description": a.description, "required": a.required}
                                       for a in s.arguments]}
                        for s in SPECIALISTS.values()]}


def get(app: McpApp, caller: Caller, params: dict[str, Any]) -> dict[str, Any]:
    """prompts/get. Errors: ProtocolError -32602 for an unknown prompt (naming the known ones),
    a missing or non-string argument (naming it), an execution or workflow the caller may not
    see, or a key without the scope the prompt reads with."""
    name, args = params.get("name"), params.get("arguments")
    known = ", ".join(SPECIALISTS)
    spec = SPECIALISTS.get(name) if isinstance(name, str) else None
    if spec is None:
        shown = name[:100] if isinstance(name, str) else repr(name)[:100]
        raise ProtocolError(INVALID_PARAMS, f"Unknown prompt '{shown}'; known prompts: {known}",
                            {"fix": f"use one of: {known}"})
    if args is None:
        args = {}
    if not isinstance(args, dict) or not all(isinstance(v, str) for v in args.values()):
        raise ProtocolError(INVALID_PARAMS, "Invalid params: arguments must be an object of strings",
                            {"fix": "pass the prompt's arguments as {\"name\": \"value\"}"})
    given = {k: v.strip() for k, v in args.items() if v.strip()}
    for a in spec.arguments:
        if a.required and a.name not in given:
            raise ProtocolError(INVALID_PARAMS, f"Missing required argument '{a.name}' of prompt {spec.name}",
                                {"argument": a.name, "fix": f"pass arguments.{a.name}: {a.description}"})
    try:
        work = _CONTEXT[spec.name](app, caller, given)
    except WfxError as exc:
        raise ProtocolError(INVALID_PARAMS, exc.message, {"code": exc.code, **({"fix": exc.fix} if exc.fix
                                                                               else {})}) from None
    return {"description": spec.description, "messages": [_text(spec.instructions), _text(work)]}


def _text(text: str) -> dict[str, Any]:
    return {"role": "user", "content": {"type": "text", "text": text}}


def _json(value: Any) -> str:
    return "```json\n" + json.dumps(value, indent=1, ensure_ascii=False, default=str) + "\n```"


def _tool(app: McpApp, caller: Caller, name: str, args: dict[str, Any]) -> dict[str, Any]:
    """A read tool's structured answer; its refusal (scope, not found) is the prompt's error."""
    res = call(app, caller, name, args, False)
    if res.is_error:
        sc = res.structured
        raise ProtocolError(INVALID_PARAMS, str(sc.get("message") or f"{name} failed"),
                            {k: sc[k] for k in ("code", "field", "fix") if k in sc})
    return res.structured


def _need_read(caller: Caller, spec: Specialist) -> None:
    if not caller.has("read"):
        raise ProtocolError(INVALID_PARAMS, f"this key lacks the 'read' scope needed by prompt {spec.name}",
                            {"code": "forbidden", "fix": "use a key created with --scopes read (or more)"})


def _troubleshooter(app: McpApp, caller: Caller, args: dict[str, str]) -> str:
    _need_read(caller, SPECIALISTS["workflow_troubleshooter"])
    ex = owned(app, caller, args["execution_id"])
    stored = app.executor.registry.get(ex.workflow_name, ex.workflow_hash)
    doc = WorkflowDocument.model_validate(stored.document) if stored is not None else None
    found = diagnose.troubleshoot(ex, doc)
    return (f"Diagnose execution {ex.id}. What the server found without a model:\n\n"
            f"{diagnose.troubleshoot_text(found)}\n\nThe diagnosis as data:\n{_json(found)}\n\n"
            "Explain the failure, the fix to make, and how to rerun it.")


def _monitor(app: McpApp, caller: Caller, args: dict[str, str]) -> str:
    _need_read(caller, SPECIALISTS["execution_monitor"])
    if "execution_id" in args:
        view = _tool(app, caller, "check_execution_status", {"execution_id": args["execution_id"]})
        return (f"Report on execution {view['execution_id']} ({view['message']}):\n{_json(view)}\n\n"
                "Say where it stands, what it has spent, and the next action.")
    page = _tool(app, caller, "list_executions", {"limit": RECENT})
    return (f"Your {page['count']} most recent executions, newest first:\n{_json(page['executions'])}\n\n"
            "Summarise them: which are running, which failed and why, and what to do next.")


def _advisor(app: McpApp, caller: Caller, args: dict[str, str]) -> str:
    _need_read(caller, SPECIALISTS["workflow_advisor"])
    name, text = args.get("workflow_name"), args.get("workflow")
    if (name is None) == (text is None):
        raise ProtocolError(INVALID_PARAMS, "Missing required argument 'workflow_name' or 'workflow' of prompt "
                            "workflow_advisor (exactly one)",
                            {"argument": "workflow_name", "fix": "pass a workflow's name, or its document as text"})
    report = _tool(app, caller, "validate_workflow", {"workflow_name": name} if name else {"workflow": text})
    doc, shown = _advised_doc(app, caller, name, text)
    parts = [f"Review {'workflow ' + repr(name) if name else 'this workflow document'}.",
             f"Validation report:\n{_json({k: report[k] for k in ('valid', 'errors', 'warnings', 'workflows')})}",
             "Rule-based findings:\n" + (_json(report["findings"]) if report["findings"] else "none")]
    if doc is not None:
        warnings = [Issue(w["path"], w["message"], severity="warning") for w in report["warnings"]]
        for wid in shown or list(doc.workflows):
            parts.append(f"Graph of workflow '{wid}' (Mermaid):\n```mermaid\n"
                         f"{_picture(doc, warnings, wid)}\n```")
    if text is not None:
        parts.append(f"The document:\n```yaml\n{text[:20_000]}\n```")
    parts.append("Advise: what to fix first, then how to improve the design and which execution mode fits.")
    return "\n\n".join(parts)


def _advised_doc(app: McpApp, caller: Caller, name: str | None,
                 text: str | None) -> tuple[WorkflowDocument | None, list[str]]:
    """The document to draw and check, and which of its workflows to show (empty: all). A
    document that does not load has none; its report says why."""
    if name is not None:
        try:
            wid, _ = resolve_workflow(app, caller, name)
        except SpecError:
            return None, []
        return WorkflowDocument.model_validate(app.executor.workflow(wid).document), [wid]
    return loaded(text or ""), []


def _generator(app: McpApp, caller: Caller, args: dict[str, str]) -> str:
    level = args.get("complexity", "medium").lower()
    if level not in COMPLEXITIES:
        raise ProtocolError(INVALID_PARAMS, f"Invalid argument 'complexity': '{level[:40]}'",
                            {"argument": "complexity", "fix": "use one of: " + ", ".join(COMPLEXITIES)})
    kinds = ", ".join(tool_types(app.executor))
    return (f"Design a {level} workflow ({_BOUNDS[level]}) for:\n\n{args['description']}\n\n"
            f"Tool types this server offers: {kinds}.\n\nCall generate_workflow with "
            f"workflow_description and complexity '{level}', then explain the agents, tools and flow it made.")


def _orchestrator(app: McpApp, caller: Caller, args: dict[str, str]) -> str:
    known = "(this key may not list workflows)"
    if caller.has("read"):
        listed = _tool(app, caller, "list_workflows", {})["available_workflows"][:30]
        known = "\n".join(f"- {w['name']}: {w['description'] or str(w['steps']) + ' steps'}" for w in listed) or "none"
    return (f"Goal: {args['goal']}\n\nWorkflows you can run:\n{known}\n\nPick the workflow and mode, run it, "
            "and report the result (or generate a workflow when none fits).")


def _integration(app: McpApp, caller: Caller, args: dict[str, str]) -> str:
    kinds = ", ".join(tool_types(app.executor))
    return (f"Integrate with: {args['target_system']}\n\nTool types this server offers: {kinds}.\n\n"
            "Say which tool type reaches it and what the operator must configure (allow-lists, providers, "
            "credentials as settings), sketch the workflow, then generate and test it.")


_CONTEXT = {"workflow_orchestrator": _orchestrator, "workflow_generator": _generator, "execution_monitor": _monitor,
            "workflow_advisor": _advisor, "workflow_troubleshooter": _troubleshooter,
            "workflow_integration_specialist": _integration}


def _picture(doc: Any, warnings: Any, wid: str) -> str:
    """The workflow as Mermaid text (the web view's drawing code, imported only when asked)."""
    from ..ui.pictures import picture

    return picture(doc, warnings, wid, "mmd").strip()
