"""Tools that start runs or create workflows: execute_workflow, generate_workflow,
execute_generated_workflow, rerun_execution. Every check that can reject a call runs before
anything is stored."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .. import access, profiles
from ..access import Caller
from ..errors import Conflict, InvalidArgument, NotFound, SpecError, WfxError
from ..models import Budget, Execution, ExecutionMode, StoredWorkflow
from .app import McpApp
from .files import defining_files, find_file, under_roots
from .overrides import override_notes
from .results import ToolResult, error_result, from_error
from .schemas import ExecuteGeneratedWorkflowInput, ExecuteWorkflowInput, GenerateWorkflowInput, RerunExecutionInput
from .views import run_result

if TYPE_CHECKING:  # the generator is imported by the tools that generate (its patterns cost a cold start)
    from ..generator.service import Generation


def effective_mode(app: McpApp, requested: str, as_task: bool, profiled: bool = False) -> ExecutionMode:
    """The mode to run in: a task-augmented sync call runs async (the task is its handle);
    ``profiled`` (a target_instance without an execution_mode) runs isolated.
    Errors: InvalidArgument when this server cannot run that mode."""
    mode = ExecutionMode.ISOLATED if profiled else ExecutionMode(requested)
    if as_task and mode == ExecutionMode.SYNC:
        mode = ExecutionMode.ASYNC
    services = app.services
    if mode == ExecutionMode.ASYNC and services.queue is None:
        raise InvalidArgument("async mode needs a task queue, and this server has none",
                              fix="use execution_mode 'sync'", field="execution_mode")
    if mode == ExecutionMode.ISOLATED and services.jobs is None:
        raise InvalidArgument("isolated mode is not configured on this server",
                              fix="use execution_mode 'sync' or 'async' (the operator can configure WFX_JOBS)",
                              field="execution_mode")
    return mode


def _profiled(args: ExecuteWorkflowInput | ExecuteGeneratedWorkflowInput) -> bool:
    """A target_instance given without an execution_mode means an isolated run."""
    return args.target_instance is not None and "execution_mode" not in args.model_fields_set


def _known_profile(app: McpApp, target_instance: str | None, mode: ExecutionMode) -> None:
    """Errors: InvalidArgument when the profile is unknown (listing the known) or the mode not isolated."""
    settings = app.services.settings
    profiles.choose(settings.profiles, None, target_instance, None, mode == ExecutionMode.ISOLATED)


def owned(app: McpApp, caller: Caller, execution_id: str) -> Execution:
    """The execution if the caller may see it. Errors: NotFound (also for another caller's)."""
    try:
        ex = app.executor.status(execution_id)
    except NotFound:
        ex = None
    if ex is None or not access.may_see(caller, ex):
        raise NotFound(f"no execution with id '{execution_id[:200]}'",
                       fix="use an execution_id returned to you (list_executions shows yours)",
                       field="execution_id")
    return ex


def resolve_workflow(app: McpApp, caller: Caller, name: str) -> tuple[str, StoredWorkflow | None]:
    """The registered name to run for ``name`` (a registered workflow, a file under a root by
    path, or a workflow defined in a file under a root, registered on first use), and its stored
    version when that is already known."""
    ex = app.executor
    stored = ex.registry.get(name)
    if stored is not None:
        access.check_use(caller, name)
        src = Path(stored.source) if stored.source else None
        if src is not None and src.exists() and under_roots(app.services.settings, src):
            ex.register(src)  # keep a file-backed workflow in step with its file
            return name, None
        return name, stored
    path = find_file(app.services.settings, name)
    if path is not None:
        doc, _ = ex.check(path)
        first = doc.workflow().id
        access.check_use(caller, first)
        ex.register(path)
        return first, None
    for _root, f in defining_files(app.services.settings):
        try:
            doc, _ = ex.check(f)
        except WfxError:
            continue
        if name in doc.workflows:
            access.check_use(caller, name)
            ex.register(f)
            return name, None
    raise NotFound(f"workflow '{name[:200]}' is not registered and no file under the workflow roots defines it",
                   fix="call list_workflows to see the names, or pass an inline workflow", field="workflow_name")


def _defines(path: Path, name: str, app: McpApp) -> bool:
    try:
        doc, _ = app.executor.check(path)
    except WfxError:
        return False
    return name in doc.workflows


def _submit(app: McpApp, caller: Caller, name: str | None, input_data: Any, mode: ExecutionMode,
            timeout: int, workflow: Any = None, override: dict[str, Any] | None = None,
            idempotency_key: str | None = None, stored: StoredWorkflow | None = None,
            budget: Budget | None = None, target_instance: str | None = None) -> Execution:
    cap = app.services.settings.sync_max_s
    if mode == ExecutionMode.SYNC and cap and timeout > cap:
        raise InvalidArgument(f"a sync run may take at most {cap:g} s here (the request itself would be cut off)",
                              fix=f"use execution_mode async, or a timeout of at most {cap:g}", field="timeout")
    return app.executor.submit(name, input_data, workflow=workflow, mode=mode, timeout=float(timeout),
                               idempotency_key=idempotency_key, caller=caller, config_override=override,
                               stored=stored, budget=budget, target_instance=target_instance)


def execute_workflow(app: McpApp, caller: Caller, args: ExecuteWorkflowInput, as_task: bool) -> ToolResult:
    """Run a named or inline workflow in the requested mode. Errors: NotFound, Forbidden,
    SpecError, InvalidArgument; a failed run is an ``isError`` result carrying its execution."""
    tool = "execute_workflow"
    mode = effective_mode(app, args.execution_mode, as_task, _profiled(args))
    _known_profile(app, args.target_instance, mode)
    # the gate (access.check_run, in submit) decides; checked here too before a file is registered
    access.check_run(caller, None, inline=args.workflow is not None, override=bool(args.config_override),
                     profile=args.target_instance)
    if args.workflow is not None:
        name, stored = args.workflow_name, None
    else:
        name, stored = resolve_workflow(app, caller, args.workflow_name or "")
    ex = _submit(app, caller, name, args.input_data, mode, args.timeout, args.workflow,
                 args.config_override, args.idempotency_key, stored,
                 Budget(max_tokens=args.max_tokens, max_cost_usd=args.max_cost_usd), args.target_instance)
    notes = override_notes(app, name, args.workflow, args.config_override, stored)
    return run_result(tool, ex, app.now(), **notes)


@dataclass
class _Generated:
    name: str
    document: dict[str, Any]
    warnings: list[dict[str, Any]]
    generation: Generation
    version: int | None

    def fields(self) -> dict[str, Any]:
        """What every generation answer says about how the workflow came to be."""
        return {"generator": self.generation.generator, "validation_status": "valid", "version": self.version,
                "generation": self.generation.summary()}


def _generate(app: McpApp, caller: Caller, description: str, name: str | None, agents: dict[str, Any] | None,
              tools: dict[str, Any] | None, complexity: str) -> _Generated:
    """Generate (the LLM generator when the server has a model, else or as its fallback the
    template), validate and store. Errors: SpecError (invalid result, with ``generation`` in its
    details), Conflict (would replace a hand-written workflow), Forbidden, InvalidArgument."""
    from ..generator import service as generation
    from ..generator.service import model_for
    from ..generator.tasks import default_name
    from ..generator.template import GENERATED

    access.check_generate(caller)
    name = name or default_name(description)
    model = model_for(app.services.settings)
    try:
        gen = generation.generate(description, validate=lambda d: app.executor.check(d, name=name), name=name,
                                  agents_config=agents, tools_config=tools, complexity=complexity, model=model,
                                  tool_registry=app.services.engine.tools,
                                  known_workflow=lambda n: app.executor.registry.get(n) is not None)
    finally:
        if model is not None:
            model[0].close()
    doc = gen.document
    doc.setdefault("settings", {})["generated_by"] = caller.principal
    try:
        _, report = app.executor.check(doc, name=name)
    except SpecError as exc:
        exc.details["generation"] = gen.summary()
        raise
    existing = app.executor.registry.get(name)
    taken = Conflict(f"workflow '{name}' already exists and is not yours to replace",
                     fix="choose another workflow_name", field="workflow_name")
    if existing is not None:
        if existing.document.get("project_name") != GENERATED:
            raise taken
        owner = (existing.document.get("settings") or {}).get("generated_by")
        if owner != caller.principal and not caller.admin:
            raise taken
    # a file under the roots that defines the name is registered lazily: it must win too
    if find_file(app.services.settings, name) is not None or any(
            _defines(f, name, app) for _root, f in defining_files(app.services.settings)):
        raise taken
    stored = app.executor.register(doc, name=name)
    version = next((s.version for s in stored if s.name == name), None)
    return _Generated(name, doc, [w.to_dict() for w in (*gen.warnings, *report.warnings)], gen, version)


def _invalid(tool: str, exc: SpecError, **extra: Any) -> ToolResult:
    res = from_error(tool, exc)
    summary = exc.details.get("generation") or {}
    res.structured.update(validation_status="invalid", generator=summary.get("generator"), generation=summary,
                          **extra)
    return res


def generate_workflow(app: McpApp, caller: Caller, args: GenerateWorkflowInput, as_task: bool) -> ToolResult:
    """Generate, validate and store a workflow; an invalid one is an error with every issue."""
    tool = "generate_workflow"
    try:
        got = _generate(app, caller, args.workflow_description, args.workflow_name, args.agents_config,
                        args.tools_config, args.complexity)
    except SpecError as exc:
        return _invalid(tool, exc, workflow_name=args.workflow_name)
    name, doc = got.name, got.document
    wf = next(iter(doc["workflows"].values()))
    agents = len({s["agent"] for s in _all_steps(wf["steps"]) if s.get("agent")})
    msg = (f"generated workflow '{name}' ({got.generation.generator}, {len(wf['steps'])} steps, {agents} agents, "
           f"version {got.version}); run it with execute_workflow(workflow_name='{name}', input_data={{...}})")
    return ToolResult({"workflow_name": name, "workflow_config": doc, **got.fields(), "errors": [],
                       "warnings": got.warnings, "message": msg}, msg[:1].upper() + msg[1:] + ".")


def _all_steps(steps: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for s in steps:
        out.append(s)
        out.extend(_all_steps((s.get("loop") or {}).get("body") or []))
    return out


def execute_generated_workflow(app: McpApp, caller: Caller, args: ExecuteGeneratedWorkflowInput,
                               as_task: bool) -> ToolResult:
    """Generate and store a workflow, then run it (as execute_workflow)."""
    tool = "execute_generated_workflow"
    mode = effective_mode(app, args.execution_mode, as_task, _profiled(args))
    _known_profile(app, args.target_instance, mode)  # before anything is generated
    access.check_run(caller, None, profile=args.target_instance)
    try:
        got = _generate(app, caller, args.workflow_description, None, None, None, args.complexity)
    except SpecError as exc:
        return _invalid(tool, exc)
    ex = _submit(app, caller, got.name, args.input_data, mode, args.timeout, target_instance=args.target_instance)
    return run_result(tool, ex, app.now(), workflow_config=got.document, workflow_name=got.name, errors=[],
                      **got.fields())


def rerun_execution(app: McpApp, caller: Caller, args: RerunExecutionInput, as_task: bool) -> ToolResult:
    """Rerun a finished execution of the caller's. Errors: NotFound, Conflict, InvalidArgument."""
    tool = "rerun_execution"
    old = owned(app, caller, args.execution_id)
    access.check_use(caller, old.workflow_name)
    mode = effective_mode(app, old.mode.value, as_task)
    try:
        ex = app.executor.rerun(old.id, args.from_step, mode=mode.value)
    except InvalidArgument as exc:  # the only argument rerun itself checks is from_step
        return error_result(tool, exc.code, exc.message, field="from_step", fix=exc.fix)
    return run_result(tool, ex, app.now(), rerun_of=old.id)
