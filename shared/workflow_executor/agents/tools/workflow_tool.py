"""``workflow_executor`` (LangSwarm: ``mcpworkflow_executor``), the meta-tool: an agent generates,
validates, runs and checks child workflows. Each run is a real child execution of the calling
execution (``parent_id``, listed under it), run inline like ``invoke_workflow``; nesting is
bounded by ``WFX_MAX_CHILD_DEPTH`` and the runs of one agent step by ``WFX_TOOL_MAX_CHILDREN``.

Documents an agent writes are untrusted: they pass the same validator (functions, tools,
allow-lists) as any other and are stored only as versions of their own (never what a name means).
"""

from __future__ import annotations

import hashlib
import json
from typing import TYPE_CHECKING, Any, Literal

from pydantic import Field

from ... import access
from ...access import Caller
from ...errors import InvalidArgument, LimitExceeded, NotFound, SpecError, ToolFailed
from ...models import Execution, ExecutionStatus
from ...spec import load_object, load_text, validate
from ...spec.model import Tool, WorkflowDocument
from ...spec.validate import Report
from ..toolbox import ToolCall
from .base import Operation, OperationsKind, ToolArgs, ToolEnv

if TYPE_CHECKING:
    from ...engine.run import Run

GENERATED = "generated"


class GenerateArgs(ToolArgs):
    workflow_description: str = Field(..., min_length=1, max_length=20_000, description="what the workflow must do")
    complexity: Literal["simple", "medium", "complex"] = "simple"
    workflow_name: str | None = Field(None, description="a name for it (letters, digits, _ . -)")


class ValidateArgs(ToolArgs):
    workflow: str | dict[str, Any] = Field(..., description="a workflow document: YAML text or an object")


class ExecuteArgs(ToolArgs):
    workflow: str | dict[str, Any] | None = Field(None, description="a workflow document to run (YAML or object)")
    workflow_name: str | None = Field(None, description="a registered workflow, or one generated before")
    workflow_version: str | None = Field(None, description="the version generate_workflow returned")
    input_data: Any = Field(None, description="the run's input, e.g. {\"user_input\": \"...\"}")


class StatusArgs(ToolArgs):
    execution_id: str = Field(..., description="an execution_id execute_workflow returned")


class ListArgs(ToolArgs):
    pass


def _run_of(ctx: ToolCall, scope: str, action: str) -> Run:
    """The calling run, once the one gate agrees that its caller holds ``scope``. Errors:
    ToolFailed outside a run, Forbidden without the scope."""
    if ctx.run is None:
        raise ToolFailed("workflow_executor can only be used inside a running workflow",
                         fix="call it from an agent or tool step")
    run: Run = ctx.run
    access.require(Caller.of_run(run.ex), scope, action)
    return run


def _check(run: Run, source: str | dict[str, Any]) -> tuple[WorkflowDocument, Report]:
    """Load and validate like ``Executor.check``. Errors: SpecError, LimitExceeded."""
    eng = run.engine
    doc = load_text(source, source="<agent>") if isinstance(source, str) else load_object(source, source="<agent>")
    report = validate(doc, function_checker=eng.functions.check,
                      known_workflow=lambda n: eng.registry.get(n) is not None,
                      allowed_env=eng.config.allowed_env, tool_checker=getattr(eng.tools, "check", None),
                      tool_discovery=getattr(eng.tools, "discover", None))
    return doc, report


def _spec_answer(exc: SpecError) -> dict[str, Any]:
    return {"validation_status": "invalid", "errors": [i.to_dict() for i in exc.issues[:30]],
            "warnings": [w.to_dict() for w in exc.warnings[:30]]}


def _view(ex: Execution) -> dict[str, Any]:
    out: dict[str, Any] = {"execution_id": ex.id, "workflow_name": ex.workflow_name, "status": ex.status.value,
                           "progress": ex.progress.describe(ex.finished),
                           "steps": [{"id": sid, "status": r.status.value,
                                      **({"error": r.error.message} if r.error else {})}
                                     for sid, r in sorted(ex.steps.items(), key=lambda kv: kv[1].seq)]}
    if ex.status == ExecutionStatus.COMPLETED:
        out["result"] = ex.result
    if ex.error is not None:
        out["error"] = {"code": ex.error.code, "message": ex.error.message, "step": ex.error.step}
    return out


def _operations(tool: Tool, env: ToolEnv) -> list[Operation]:
    max_children = env.settings.max_children

    def generate_workflow(a: GenerateArgs, ctx: ToolCall) -> Any:
        from ...generator import service

        run = _run_of(ctx, "generate", "generate workflows")
        access.check_generate(Caller.of_run(run.ex))
        model = env.model() if env.model is not None else None
        try:
            gen = service.generate(a.workflow_description, validate=lambda d: _check(run, d),
                                   name=a.workflow_name, complexity=a.complexity, model=model,
                                   tool_registry=run.engine.tools,
                                   known_workflow=lambda n: run.engine.registry.get(n) is not None)
        finally:
            if model is not None:
                model[0].close()
        doc = gen.document
        doc.setdefault("project_name", GENERATED)
        try:
            loaded, report = _check(run, doc)
        except SpecError as exc:
            return {"workflow_name": gen.name, "generator": gen.generator, **_spec_answer(exc)}
        stored = run.engine.registry.put(gen.name, loaded.model_dump(mode="json"), latest=False,
                                         description=a.workflow_description[:200])
        return {"workflow_name": gen.name, "workflow_version": stored.hash, "generator": gen.generator,
                "validation_status": "valid", "warnings": [w.to_dict() for w in report.warnings[:30]],
                "workflow": doc, "next": "call execute_workflow with this workflow_name and workflow_version"}

    def validate_workflow(a: ValidateArgs, ctx: ToolCall) -> Any:
        run = _run_of(ctx, "read", "validate workflows")
        try:
            doc, report = _check(run, a.workflow)
        except SpecError as exc:
            return _spec_answer(exc)
        return {"validation_status": "valid", "workflows": list(doc.workflows), "errors": [],
                "warnings": [w.to_dict() for w in report.warnings[:30]]}

    def execute_workflow(a: ExecuteArgs, ctx: ToolCall) -> Any:
        run = _run_of(ctx, "run", "run workflows")
        caller = Caller.of_run(run.ex)
        eng = run.engine
        depth = run.ex.depth + 1
        if depth > eng.config.max_child_depth:
            raise LimitExceeded(f"a child workflow here would nest {depth} deep, over the limit of "
                                f"{eng.config.max_child_depth}", fix="do the work in this workflow instead")
        if a.workflow is not None:
            access.check_run(caller, a.workflow_name, inline=True)
            try:
                doc, _ = _check(run, a.workflow)
            except SpecError as exc:
                return {"status": "not_started", **_spec_answer(exc)}
            name = doc.workflow(a.workflow_name).id
            stored = eng.registry.put(name, doc.model_dump(mode="json"), latest=False)
        elif a.workflow_name:
            access.check_use(caller, a.workflow_name)  # before a lookup can tell what exists
            found = eng.registry.get(a.workflow_name, a.workflow_version)
            if found is None:
                which = " in that version" if a.workflow_version else ""
                raise NotFound(f"workflow '{a.workflow_name[:100]}'{which} is not stored",
                               fix="pass the workflow itself, or a name from list_workflows "
                               "(with the version generate_workflow returned)")
            access.check_run(caller, found.name, registry=eng.registry, stored=found)
            stored = found
        else:
            raise InvalidArgument("give workflow (a document) or workflow_name",
                                  fix="pass workflow: <YAML> or workflow_name: <name>", field="workflow")
        child = _child(run, ctx.step_id, stored.name, stored.hash, a.input_data, depth, max_children)
        from ...engine.children import run_child

        if not child.finished:
            child = run_child(run, child)
        return _view(child)

    def check_execution_status(a: StatusArgs, ctx: ToolCall) -> Any:
        run = _run_of(ctx, "read", "look at executions")
        ex = run.store.get(a.execution_id) if a.execution_id.startswith(run.ex.id + ".") else None
        if ex is None or ex.parent_id != run.ex.id:
            raise NotFound(f"no child execution '{a.execution_id[:100]}' of this run",
                           fix="use an execution_id that execute_workflow returned")
        return _view(ex)

    def list_workflows(a: ListArgs, ctx: ToolCall) -> Any:
        run = _run_of(ctx, "read", "list workflows")
        caller = Caller.of_run(run.ex)
        items = [w for w in run.engine.registry.list() if caller.may_use(w.name)]
        return {"workflows": [{"name": w.name, "description": (w.description or "")[:200]} for w in items[:100]],
                "truncated": len(items) > 100}

    return [
        Operation("generate_workflow", "Generate a workflow from a description; returns it validated, with a "
                  "version to run.", GenerateArgs, generate_workflow),
        Operation("validate_workflow", "Validate a workflow document (YAML or object); returns every error with "
                  "its path and fix.", ValidateArgs, validate_workflow),
        Operation("execute_workflow", "Run a workflow (a document, or a name and version) as a child of this run "
                  "and wait for it; returns status, result or error, and its execution_id.", ExecuteArgs,
                  execute_workflow),
        Operation("check_execution_status", "Look at a child run started here.", StatusArgs, check_execution_status),
        Operation("list_workflows", "The registered workflows by name.", ListArgs, list_workflows),
    ]


def _child(run: Run, step_id: str, name: str, wf_hash: str, input_data: Any, depth: int,
           max_children: int) -> Execution:
    """The child execution for this request: ids ``<parent>.<step>.w<k>`` are taken in order, and
    the same workflow with the same input gives the same child back, so a resumed step never pays
    for a child twice; at most ``max_children`` per step. Errors: LimitExceeded."""
    want = hashlib.sha256(json.dumps([wf_hash, input_data], sort_keys=True, default=str).encode()).hexdigest()
    for k in range(max_children):
        cid = f"{run.ex.id}.{step_id}.w{k}"
        have = run.store.get(cid)
        if have is None:
            now = run.clock.now()
            child = Execution(id=cid, workflow_name=name, workflow_hash=wf_hash, mode=run.ex.mode, input=input_data,
                              **access.inherited(run.ex), parent_id=run.ex.id, parent_step=step_id, depth=depth,
                              timeout_s=run.time_left(), created_at_s=now, updated_at_s=now)
            stored, _ = run.store.create(child)
            return stored
        same = hashlib.sha256(json.dumps([have.workflow_hash, have.input], sort_keys=True,
                                         default=str).encode()).hexdigest()
        if same == want:
            return have  # asked for before (this step was resumed): the same child, finished or run on
    raise LimitExceeded(f"step '{step_id}' has already run {max_children} child workflows",
                        fix="do more in each child workflow; the operator sets WFX_TOOL_MAX_CHILDREN")


KIND = OperationsKind("workflow_executor", "generate, validate, run and check child workflows of this run",
                      _operations, aliases=("mcpworkflow_executor", "workflow", "workflows"))
