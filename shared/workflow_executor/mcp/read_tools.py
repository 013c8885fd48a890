"""Tools that read or stop: check_execution_status, cancel_execution, list_workflows,
validate_workflow, list_executions, get_workflow."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .. import placement
from ..access import Caller
from ..advice import advise_here, loaded
from ..errors import Issue, LimitExceeded, SpecError, WfxError
from ..settings import Settings
from ..spec.model import WorkflowDocument
from ..timeparse import point
from .app import McpApp
from .files import display, find_file, inside, relative_paths, roots, workflow_files
from .results import ToolResult, one_line
from .run_tools import owned, resolve_workflow
from .schemas import (
    CancelExecutionInput,
    CheckExecutionStatusInput,
    GetWorkflowInput,
    ListExecutionsInput,
    ListWorkflowsInput,
    ValidateWorkflowInput,
)
from .views import brief_view, status_line, status_view


def check_execution_status(app: McpApp, caller: Caller, args: CheckExecutionStatusInput,
                           as_task: bool) -> ToolResult:
    """The execution's status record. Errors: NotFound (also for another caller's)."""
    ex = owned(app, caller, args.execution_id)
    now = app.now()
    placed = placement.history(app.services.store, ex.id) if ex.profile is not None else None
    view = status_view(ex, now, placed)
    view["message"] = status_line(ex, now)
    return ToolResult(view, one_line(f"Execution {ex.id} of '{ex.workflow_name}': {status_line(ex, now)}."))


def cancel_execution(app: McpApp, caller: Caller, args: CancelExecutionInput, as_task: bool) -> ToolResult:
    """Ask a run to stop; a finished one is reported unchanged. Errors: NotFound."""
    ex = owned(app, caller, args.execution_id)
    if ex.finished:
        msg = f"execution {ex.id} already {ex.status.value}; nothing to cancel"
        return ToolResult({"execution_id": ex.id, "status": ex.status.value, "cancelled": False,
                           "message": msg}, msg[:1].upper() + msg[1:] + ".")
    ex = app.executor.cancel(ex.id)
    msg = (f"execution {ex.id} cancelled" if ex.finished
           else f"cancellation of execution {ex.id} requested; it stops at its next step boundary")
    return ToolResult({"execution_id": ex.id, "status": ex.status.value, "cancelled": True, "message": msg},
                      msg[:1].upper() + msg[1:] + ".")


def _entry(name: str, doc: WorkflowDocument | dict[str, Any], file: str | None,
           description: str | None, registered: bool, version: int | None = None,
           hash_: str | None = None) -> dict[str, Any]:
    if isinstance(doc, WorkflowDocument):
        wf = doc.workflows[name]
        steps, desc = len(wf.steps), wf.description or doc.description
    else:
        wf_data = (doc.get("workflows") or {}).get(name) or {}
        steps, desc = len(wf_data.get("steps") or []), wf_data.get("description") or doc.get("description")
    out = {"name": name, "file": file, "steps": steps, "description": description or desc or "",
           "registered": registered}
    if version is not None:  # a registered name: which version it means now (`wfx --url list` shows it)
        out.update(version=version, hash=hash_)
    return out


def _shown(settings: Settings, source: str | None) -> str | None:
    """A registered workflow's file, relative to its root (None when not under a root)."""
    if not source:
        return None
    for root in roots(settings):
        if inside(root, Path(source)):
            return display(root, Path(source).resolve())
    return None


def list_workflows(app: McpApp, caller: Caller, args: ListWorkflowsInput, as_task: bool) -> ToolResult:
    """Registered workflows plus those in files under the roots (unloadable files listed as skipped).
    Errors: InvalidArgument for a config_path or pattern that would leave the roots."""
    settings = app.services.settings
    found: list[dict[str, Any]] = []
    names: set[str] = set()
    if args.config_path in (None, "", "."):
        for stored in app.executor.workflows():
            if caller.may_use(stored.name):
                names.add(stored.name)
                found.append(_entry(stored.name, stored.document, _shown(settings, stored.source),
                                    stored.description, True, stored.version, stored.hash))
    skipped: list[dict[str, str]] = []
    # A key limited to some workflows learns nothing of the files it may not use: a file that
    # does not load may define anything, so its name and error stay with unlimited callers.
    limited = caller.limited
    for root, f in workflow_files(settings, args.config_path, args.pattern):
        shown = display(root, f)
        try:
            doc, _ = app.executor.check(f)
        except WfxError as exc:
            if not limited:
                skipped.append({"file": shown, "message": one_line(relative_paths(settings, exc.message), 300)})
            continue
        for name in doc.workflows:
            if caller.may_use(name) and name not in names:
                names.add(name)
                found.append(_entry(name, doc, shown, None, False))
    msg = f"found {len(found)} workflows" + (f"; {len(skipped)} files could not be loaded" if skipped else "")
    return ToolResult({"available_workflows": found, "total_count": len(found), "skipped": skipped,
                       "message": msg}, one_line(f"{msg[:1].upper() + msg[1:]}: "
                                                 + (", ".join(w["name"] for w in found[:30]) or "none") + "."))


def validate_workflow(app: McpApp, caller: Caller, args: ValidateWorkflowInput, as_task: bool) -> ToolResult:
    """Validate a document or a named workflow; invalid documents are a result (valid: false),
    not an error. Errors: NotFound, Forbidden (allow-list)."""
    ex = app.executor
    source: Any = args.workflow
    if args.workflow_name is not None:
        path = find_file(app.services.settings, args.workflow_name)
        if path is not None and not caller.limited:
            source = path
        else:
            name, _ = resolve_workflow(app, caller, args.workflow_name)
            source = ex.workflow(name).document
    try:
        doc, report = ex.check(source if isinstance(source, str | Path) else dict(source), name=args.workflow_name)
    except (SpecError, LimitExceeded) as exc:
        errors = ([{"path": i.path, "message": i.message, "fix": i.fix} for i in exc.issues]
                  if isinstance(exc, SpecError) else [{"path": "<document>", "message": exc.message,
                                                       "fix": exc.fix}])
        warnings = [_finding(i) for i in getattr(exc, "warnings", [])]
        errors = relative_paths(app.services.settings, errors)
        unchecked = loaded(source)  # the rules still see a document the validator rejects
        findings = [f.to_dict() for f in advise_here(ex, unchecked)] if unchecked is not None else []
        return ToolResult({"valid": False, "errors": errors, "warnings": warnings, "workflows": [],
                           "findings": findings},
                          one_line(f"Invalid workflow: {len(errors)} errors; first: {errors[0]['path']}: "
                                   f"{errors[0]['message']}"))
    warnings = [_finding(i) for i in report.warnings]
    findings = [f.to_dict() for f in advise_here(ex, doc)]  # rule-based advice (diagnose.advise)
    return ToolResult({"valid": True, "errors": [], "warnings": warnings, "workflows": list(doc.workflows),
                       "findings": findings},
                      one_line(f"Valid workflow document ({', '.join(doc.workflows)}), "
                               f"{len(warnings)} warnings."))


def _finding(issue: Issue) -> dict[str, Any]:
    """A validation warning as the tool gives it: path, message and (when it has one) the fix."""
    return {"path": issue.path, "message": issue.message, **({"fix": issue.fix} if issue.fix else {})}


def list_executions(app: McpApp, caller: Caller, args: ListExecutionsInput, as_task: bool) -> ToolResult:
    """The caller's executions (everyone's for admin), newest first. Errors: InvalidArgument (cursor)."""
    page = app.executor.executions(status=args.status, workflow_name=args.workflow_name,
                                   principal=None if caller.admin else caller.principal,
                                   limit=args.limit, cursor=args.cursor, **search_of(args, app.now()))
    now = app.now()
    items = [brief_view(e, now) for e in page.items]
    msg = f"{len(items)} executions" + ("; more with next_cursor" if page.next_cursor else "")
    return ToolResult({"executions": items, "count": len(items), "next_cursor": page.next_cursor,
                       "message": msg}, msg[:1].upper() + msg[1:] + ".")


def search_of(args: ListExecutionsInput, now_s: float) -> dict[str, Any]:
    """The search filters of a list_executions call, as ExecutionQuery takes them. Errors: InvalidArgument."""
    return {"created_from_s": point(args.since, "since", now_s), "created_to_s": point(args.until, "until", now_s),
            "id_prefix": args.id_prefix, "error_text": args.error_text}


def get_workflow(app: McpApp, caller: Caller, args: GetWorkflowInput, as_task: bool) -> ToolResult:
    """The stored definition. Errors: NotFound, Forbidden (allow-list)."""
    name, _ = resolve_workflow(app, caller, args.workflow_name)
    stored = app.executor.workflow(name)
    doc = WorkflowDocument.model_validate(stored.document)
    wf = doc.workflows[name]
    view = {"workflow_name": stored.name, "version": stored.version, "hash": stored.hash,
            "description": stored.description or wf.description, "source": _shown(app.services.settings, stored.source),
            "steps": [{"id": s.id, "action": s.action, "description": s.description} for s in wf.steps],
            "document": stored.document}
    return ToolResult(view, one_line(f"Workflow '{stored.name}' v{stored.version}: {len(wf.steps)} steps "
                                     f"({', '.join(s.id for s in wf.steps[:12])})."))
