"""Admin tools: ``register_workflow`` stores a document's workflows by name, the remote twin of
``wfx register`` (``wfx --url URL register FILE``). Admin scope only: a name registered here
changes what that name runs for every caller."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from ..access import Caller
from ..errors import Transient
from .app import McpApp
from .results import ToolResult, one_line
from .schemas import ToolInput


class RegisterWorkflowInput(ToolInput):
    workflow: str | dict[str, Any] = Field(
        description="A workflow document (YAML text or object); each of its workflows is stored under its id")


def register_workflow(app: McpApp, caller: Caller, args: RegisterWorkflowInput, as_task: bool) -> ToolResult:
    """Validate and store. Errors: SpecError (every issue), LimitExceeded."""
    # Validated from the text or object itself: a string is never taken as a path on this server.
    doc, report = app.executor.check(args.workflow)
    stored = app.executor.register(doc.model_dump(mode="json"),
                                   source_text=args.workflow if isinstance(args.workflow, str) else None)
    warnings = [{"path": i.path, "message": i.message} for i in report.warnings]
    ensure = app.services.ensure_topic
    if ensure is not None:  # on the emulator stack: a topic exists as soon as its listener does
        for topic in sorted({t.topic for t in doc.triggers}):
            try:
                ensure(topic)
            except Transient as exc:  # Pub/Sub is down: the workflow is stored all the same
                warnings.append({"path": "triggers", "message": f"{exc.message}; {exc.fix}"})
    rows = [{"name": s.name, "version": s.version, "hash": s.hash, "description": s.description} for s in stored]
    names = ", ".join(f"{r['name']} v{r['version']}" for r in rows)
    return ToolResult({"workflows": rows, "warnings": warnings, "registered_by": caller.principal},
                      one_line(f"Registered {names}" + (f"; {len(warnings)} warnings" if warnings else "") + "."))
