"""The tool table: name -> input model, handler, required scopes, task support; plus the
one call path (scope check, argument validation, error mapping)."""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from types import MappingProxyType
from typing import Any

from pydantic import BaseModel, ValidationError

from ..access import Caller
from ..errors import WfxError
from . import admin_tools, event_tools, read_tools, run_tools, schemas
from .app import McpApp
from .files import relative_paths
from .output_schemas import OUTPUT_SCHEMAS
from .results import ToolResult, error_result, from_error, from_validation

Handler = Callable[[McpApp, Caller, Any, bool], ToolResult]


@dataclass(frozen=True)
class ToolSpec:
    """One tool: its input model, handler, the scopes it needs and whether it can become a task."""

    name: str
    description: str
    model: type[BaseModel]
    handler: Handler
    scopes: tuple[str, ...]
    tasks: bool = False  # may be answered with a task (async runs)
    read_only: bool = False


def _spec(name: str, model: type[BaseModel], handler: Handler, scopes: tuple[str, ...], description: str,
          *, tasks: bool = False, read_only: bool = False) -> tuple[str, ToolSpec]:
    return name, ToolSpec(name, description, model, handler, scopes, tasks, read_only)


TOOLS: Mapping[str, ToolSpec] = MappingProxyType(dict([
    _spec("execute_workflow", schemas.ExecuteWorkflowInput, run_tools.execute_workflow, ("run",),
          "Run a workflow by name (registered, or defined in a file under the server's workflow roots) or "
          "inline. sync waits for the result; async/isolated return an execution_id at once.", tasks=True),
    _spec("generate_workflow", schemas.GenerateWorkflowInput, run_tools.generate_workflow, ("generate",),
          "Turn a plain-language description into a validated multi-agent workflow (designed by the server's "
          "model when it has one, else from templates) stored under workflow_name; the answer says generator "
          "(llm|template), validation_status, errors and version."),
    _spec("execute_generated_workflow", schemas.ExecuteGeneratedWorkflowInput,
          run_tools.execute_generated_workflow, ("generate", "run"),
          "Generate a multi-agent workflow from a description (as generate_workflow) and run it in one call.",
          tasks=True),
    _spec("check_execution_status", schemas.CheckExecutionStatusInput, read_tools.check_execution_status,
          ("read",), "Status, progress ('Running step 3 of 5: transform'), steps, result or error of an execution.",
          read_only=True),
    _spec("cancel_execution", schemas.CancelExecutionInput, read_tools.cancel_execution, ("cancel",),
          "Cancel a queued, running or waiting execution (a running one stops at its next step boundary)."),
    _spec("send_event", schemas.SendEventInput, event_tools.send_event, ("run",),
          "Deliver an event (an approval, a decision, data) to your execution waiting for it "
          "(check_execution_status shows status 'waiting' and what for); it resumes with the payload."),
    _spec("list_workflows", schemas.ListWorkflowsInput, read_tools.list_workflows, ("read",),
          "List registered workflows and workflow files under the server's workflow roots.", read_only=True),
    _spec("validate_workflow", schemas.ValidateWorkflowInput, read_tools.validate_workflow, ("read",),
          "Check a workflow document (or a registered workflow): errors with their paths, and warnings.",
          read_only=True),
    _spec("list_executions", schemas.ListExecutionsInput, read_tools.list_executions, ("read",),
          "Your executions, newest first, optionally by status or workflow; paginated with cursor.",
          read_only=True),
    _spec("get_workflow", schemas.GetWorkflowInput, read_tools.get_workflow, ("read",),
          "The stored definition of a workflow: version, steps and the normalised document.", read_only=True),
    _spec("rerun_execution", schemas.RerunExecutionInput, run_tools.rerun_execution, ("run",),
          "Run a finished execution again, reusing its finished steps up to the failed one (or from_step).",
          tasks=True),
    _spec("register_workflow", admin_tools.RegisterWorkflowInput, admin_tools.register_workflow, ("admin",),
          "Store a workflow document's workflows by name for every caller (admin keys only)."),
]))


@functools.cache
def _schema(name: str) -> dict[str, Any]:
    return schemas.input_schema(TOOLS[name].model)


def listing(*, legacy_tasks: bool) -> list[dict[str, Any]]:
    """The tools/list entries. ``legacy_tasks`` adds the 2025-11-25 ``execution.taskSupport``."""
    out = []
    for spec in TOOLS.values():
        entry: dict[str, Any] = {
            "name": spec.name, "description": spec.description, "inputSchema": _schema(spec.name),
            "outputSchema": OUTPUT_SCHEMAS[spec.name],
            "annotations": {"readOnlyHint": spec.read_only, "destructiveHint": False,
                            "idempotentHint": spec.read_only, "openWorldHint": False},
        }
        if legacy_tasks and spec.tasks:
            entry["execution"] = {"taskSupport": "optional"}
        out.append(entry)
    return out


def call(app: McpApp, caller: Caller, name: str, arguments: Mapping[str, Any], as_task: bool) -> ToolResult:
    """Run tool ``name`` (which must exist). Never raises a WfxError: scope, argument and
    workflow failures come back as ``isError`` results."""
    spec = TOOLS[name]
    missing = [s for s in spec.scopes if not caller.has(s)]
    if missing:
        return error_result(name, "forbidden", f"this key lacks the '{missing[0]}' scope needed by {name}",
                            fix=f"use a key created with --scopes {','.join(spec.scopes)}")
    try:
        args = spec.model.model_validate(dict(arguments))
    except ValidationError as exc:
        return from_validation(name, exc, list(spec.model.model_fields))
    try:
        return spec.handler(app, caller, args, as_task)
    except WfxError as exc:
        res = from_error(name, exc)
        settings = app.services.settings
        return replace(res, structured=relative_paths(settings, res.structured),
                       summary=relative_paths(settings, res.summary))
