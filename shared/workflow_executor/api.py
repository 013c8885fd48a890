"""The Python API (LangSwarm's local-mode ``mcpworkflow_executor``): register, run, start,
status, wait, cancel, rerun, list. The MCP tools and the CLI are thin layers over it."""

from __future__ import annotations

import copy
import logging
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from contextvars import ContextVar
from dataclasses import replace
from pathlib import Path
from typing import Any, cast

from . import access, profiles, reruns, waiting
from .access import LOCAL_PRINCIPAL, SCOPES, Caller
from .engine.outputs import check_input
from .errors import Conflict, InvalidArgument, Issue, NotFound, SpecError, Transient, WfxError
from .models import Budget, ErrorInfo, Execution, ExecutionMode, ExecutionStatus, Page, Progress, StoredWorkflow
from .ports import Event, ExecutionQuery, FoldingStore, TaskRequest
from .services import Services, build
from .settings import Settings
from .spec import check, sources
from .spec.model import WorkflowDocument
from .spec.override import deep_merge
from .spec.partial import with_the_rest
from .spec.validate import Report

WorkflowSource = str | Path | Mapping[str, Any]
log = logging.getLogger(__name__)
# Told about each execution this context creates, before it runs (MCP progress for a sync run).
ON_CREATED: ContextVar[Callable[[Execution], None] | None] = ContextVar("wfx_on_created", default=None)


class Executor:
    """One object per process; thread-safe. Errors are ``WfxError`` subclasses."""

    def __init__(self, services: Services) -> None:
        self.services = services
        if services.executor is None:
            services.executor = self  # the one the MCP app and in-run starts use (services.py)
        self.store = services.store
        self.registry = services.registry
        self.engine = services.engine
        self._changed = threading.Condition()
        subscribe = getattr(services.events, "subscribe", None)
        if subscribe is not None:
            subscribe(self._on_event)

    @classmethod
    def local(cls, path: str | Path | None = None, *, home: str | Path | None = None,
              memory: bool = False, settings: Settings | None = None) -> Executor:
        """Embedded backends (SQLite under ``home``, or memory); registers ``path`` if given."""
        s = settings or Settings.from_env()
        if home is not None:
            s = replace(s, home=Path(home))
        s = replace(s, store="memory" if memory else ("sqlite" if s.store == "firestore" else s.store),
                    queue="local", events="local")
        ex = cls(build(s))
        if path is not None:
            ex.register(Path(path))
        return ex

    def close(self) -> None:
        self.services.close()

    def __enter__(self) -> Executor:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    # -- workflows -------------------------------------------------------------------------

    def check(self, source: WorkflowSource, *, name: str | None = None) -> tuple[WorkflowDocument, Report]:
        """Load and validate. The report's warnings start with what the loader accepted but
        does not act on (ignored LangSwarm keys). Errors: SpecError listing every problem."""
        notes: list[Issue] = []

        def semantic(doc: WorkflowDocument) -> Report:
            return check(doc, source=str(source) if isinstance(source, Path) else name,
                         function_checker=self.engine.functions.check,
                         known_workflow=lambda n: self.registry.get(n) is not None,
                         allowed_env=self.services.settings.allowed_env,
                         tool_checker=getattr(self.engine.tools, "check", None),
                         schedule_min_interval_s=self.services.settings.schedule_min_interval_s,
                         wait_max_s=self.services.settings.wait_max_s,
                         tool_discovery=getattr(self.engine.tools, "discover", None))

        try:
            doc = self._load(source, name, notes)
        except SpecError as err:  # wrong in shape: what else is wrong is said at once too
            raise with_the_rest(err, semantic) from None
        report = semantic(doc)
        if isinstance(source, Path) and source.is_dir():  # point each finding at its section file
            from .spec.folder import attribute_all
            report = Report(errors=attribute_all(report.errors, source),
                            warnings=attribute_all(report.warnings, source))
        if report.errors:
            raise SpecError(report.errors, warnings=notes + report.warnings)
        return doc, Report(errors=[], warnings=notes + report.warnings)

    def register(self, source: WorkflowSource, *, name: str | None = None,
                 source_text: str | None = None) -> list[StoredWorkflow]:
        """Validate and store every workflow of a document, each under its own id (all share
        the document, so child workflows resolve). ``source`` is a Path, YAML text, a mapping,
        or a one-line str that names a file (``"flows/report.yaml"``); the text of a file or of
        inline YAML is kept with the version (``source_text`` gives it for a mapping that was
        parsed from text elsewhere). Returns the stored versions."""
        source = sources.as_path(source)
        doc, _ = self.check(source, name=name)
        return self._store_doc(doc, source=str(source) if isinstance(source, Path) else None,
                               text=source_text or sources.text_of(source))

    def _store_doc(self, doc: WorkflowDocument, source: str | None, latest: bool = True,
                   text: str | None = None) -> list[StoredWorkflow]:
        data = doc.model_dump(mode="json")
        kept = text if text is not None and len(text) <= sources.MAX_SOURCE_TEXT else None
        return [self.registry.put(wid, data, source=source, description=wf.description or doc.description,
                                  latest=latest, source_text=kept)
                for wid, wf in doc.workflows.items()]

    def _load(self, source: WorkflowSource, name: str | None, notes: list[Issue]) -> WorkflowDocument:
        from .spec import load_object, load_path, load_text  # on first use: the isolated job never loads one

        if isinstance(source, Path):
            return load_path(source, warnings=notes)
        if isinstance(source, Mapping):
            return load_object(dict(source), source=name or "<object>", warnings=notes)
        return load_text(source, source=name or "<inline>", warnings=notes)

    def workflows(self) -> list[StoredWorkflow]:
        return self.registry.list()

    def workflow(self, name: str) -> StoredWorkflow:
        stored = self.registry.get(name)
        if stored is None:
            known = ", ".join(w.name for w in self.registry.list()[:20]) or "none"
            raise NotFound(f"workflow '{name}' is not registered (known: {known})",
                           fix="register it, or pass the workflow inline")
        return stored

    # -- executions ------------------------------------------------------------------------

    def submit(
        self,
        workflow_name: str | None = None,
        input: Any = None,
        *,
        workflow: WorkflowSource | None = None,
        mode: str | ExecutionMode = ExecutionMode.SYNC,
        timeout: float | None = None,
        idempotency_key: str | None = None,
        principal: str | None = None,
        config_override: Mapping[str, Any] | None = None,
        dispatch: bool = True,
        stored: StoredWorkflow | None = None,
        budget: Budget | None = None,
        caller: Caller | None = None,
        trigger_hops: int = 0,
        target_instance: str | None = None,
    ) -> Execution:
        """Create the execution record, then run it inline (sync), queue it (async) or start a
        job (isolated); ``dispatch=False`` only stores it (the caller hands it on). Returns the
        execution (finished for sync). ``stored``: the version the caller already looked up
        for ``workflow_name`` (saves a registry read); ``budget``: LLM limits of this run (the
        workflow's own apply too, the stricter wins, and the caller's); ``caller``: who starts it
        (default: the operator as ``principal``), checked by the one gate (``access.check_run``)
        and recorded, so that every child is checked against the same rights as it starts;
        ``trigger_hops``: publish -> trigger links behind it (triggers.py, the loop guard).
        ``target_instance``: the execution profile of an isolated run (else the workflow's
        ``settings.target_instance``, else WFX_DEFAULT_PROFILE).
        Errors: NotFound, SpecError, InvalidArgument, Forbidden."""
        try:
            mode = ExecutionMode(mode)
        except ValueError:
            raise InvalidArgument(f"execution_mode '{mode}' is not one of sync, async, isolated",
                                  fix="use sync, async or isolated") from None
        if timeout is not None and timeout <= 0:
            raise InvalidArgument("timeout must be a positive number of seconds")
        if dispatch:
            self._check_mode(mode)  # before anything is stored
        check_input(input)
        # the operator's own runs (CLI, Python API, triggers, schedules) hold every right
        recorded = caller.run_fields() if caller is not None else {"principal": principal}
        caller = caller or Caller(principal or LOCAL_PRINCIPAL, frozenset(SCOPES))
        settings = self.services.settings
        isolated = mode == ExecutionMode.ISOLATED
        requested = profiles.choose(settings.profiles, None, target_instance, None, isolated)
        access.check_run(caller, workflow_name, inline=workflow is not None, override=bool(config_override),
                         registry=self.registry, stored=stored, profile=requested)
        stored = self._resolve(workflow_name, workflow, config_override, stored)
        profile = profiles.choose(settings.profiles, settings.default_profile, requested, stored.document, isolated)
        if profile != requested:  # the workflow's or the operator's default: the same rule
            access.check_profile(caller, profile)
        budget = access.run_budget(caller, budget)
        now = self.engine.clock.now()
        ex = Execution(id=uuid.uuid4().hex, workflow_name=stored.name, workflow_hash=stored.hash, mode=mode,
                       input=input, idempotency_key=idempotency_key, timeout_s=timeout,
                       budget=None if budget.empty else budget, trigger_hops=trigger_hops,
                       profile=profile, **recorded, progress=Progress(total=stored.step_count()),
                       created_at_s=now, updated_at_s=now)
        owner: str | None = None
        if dispatch and mode == ExecutionMode.SYNC and self.engine.folds:
            # Run here and now: stored already running under this runner's lease (one commit, not two).
            owner = self.engine.new_owner()
            ex, created = cast(FoldingStore, self.store).create_running(ex, owner, self.engine.config.lease_ttl_s, now)
        else:
            ex, created = self.store.create(ex)
        try:
            return self._after_create(ex, created, dispatch, owner)
        except WfxError as exc:  # the run exists: the answer names it (the caller can poll or resubmit)
            exc.about(ex.id, str(exc.details.get("status") or ex.status.value))  # running once the engine had it
            raise

    def _after_create(self, ex: Execution, created: bool, dispatch: bool, owner: str | None) -> Execution:
        if created:
            self._publish("execution.queued", ex)
            _created(ex)
        if not created:
            # A repeat of an idempotent request never starts a second runner; only a queued async
            # run (whose first dispatch may have been lost) is queued again, deduplicated by name.
            if dispatch and ex.status == ExecutionStatus.QUEUED and ex.mode == ExecutionMode.ASYNC:
                self._dispatch(ex)
            if dispatch and ex.mode == ExecutionMode.SYNC and not ex.finished:
                return self._rejoin(self.status(ex.id))
            return ex
        if not dispatch:
            return ex
        if owner is not None:
            return self.engine.run(ex.id, owner=owner, leased=ex)
        return self._dispatch(ex)

    def run(self, workflow_name: str | None = None, input: Any = None, **kw: Any) -> Execution:
        return self.submit(workflow_name, input, mode=ExecutionMode.SYNC, **kw)

    def start(self, workflow_name: str | None = None, input: Any = None, **kw: Any) -> Execution:
        kw.setdefault("mode", ExecutionMode.ASYNC)
        return self.submit(workflow_name, input, **kw)

    def _resolve(self, name: str | None, workflow: WorkflowSource | None,
                 override: Mapping[str, Any] | None, known: StoredWorkflow | None = None) -> StoredWorkflow:
        if workflow is not None:
            doc, _ = self.check(workflow, name=name)
            # A file, inline text or an object is stored only as this run's version: running a
            # document never changes what a name means to others (``register`` does that).
            is_file = isinstance(workflow, Path)
            stored = self._store_doc(doc, source=str(workflow) if is_file else None, latest=False,
                                     text=sources.text_of(workflow))
            pick = doc.workflow(name).id
            base = next(s for s in stored if s.name == pick)
        elif name:
            base = known if known is not None and known.name == name else self.workflow(name)
        else:
            raise InvalidArgument("give workflow_name or an inline workflow",
                                  fix="pass workflow_name='...' or workflow='<yaml>'")
        if not override:
            return base
        merged = deep_merge(copy.deepcopy(base.document), override)
        doc, _ = self.check(merged, name=base.name)
        # An override makes this run's variant; the name keeps meaning what it meant.
        return next(s for s in self._store_doc(doc, source=base.source, latest=False) if s.name == base.name)

    def _check_mode(self, mode: ExecutionMode) -> None:
        if mode == ExecutionMode.ASYNC and self.services.queue is None:
            raise InvalidArgument("async mode needs a task queue, and this process has none",
                                  fix="use execution_mode sync, or run the server with a queue")
        if mode == ExecutionMode.ISOLATED and self.services.jobs is None:
            raise InvalidArgument("isolated mode is not configured on this server",
                                  fix="use execution_mode sync or async, or configure WFX_JOBS")

    def _dispatch(self, ex: Execution) -> Execution:
        if ex.mode == ExecutionMode.SYNC:
            if ex.finished:
                return ex
            return self.engine.run(ex.id)
        self._check_mode(ex.mode)
        if ex.mode == ExecutionMode.ASYNC:
            assert self.services.queue is not None
            try:
                self.services.queue.enqueue(TaskRequest(ex.id, group=ex.workflow_name))
            except Transient as exc:
                # The run is stored and the queue retries the enqueue in the background (the
                # sweeper is the last resort): the caller gets its id at once, not an error to retry.
                log.warning("execution %s is stored but not queued yet (%s)", ex.id, exc)
            return ex
        assert self.services.jobs is not None
        self.services.jobs.start(ex.id)
        return ex

    def _rejoin(self, ex: Execution) -> Execution:
        """A retry of a sync request whose run is unfinished. While a live runner holds it, the
        answer is the running execution (poll it); once nothing runs it (the instance that did
        crashed and its lease lapsed) the retry resumes it here, from its checkpoints."""
        now = self.engine.clock.now()
        if ex.status == ExecutionStatus.RUNNING and (ex.lease_expires_at_s or 0.0) > now:
            return ex
        try:
            return self.engine.run(ex.id)
        except Conflict:  # taken or ended in between (LeaseHeld is a Conflict): report what is stored
            return self.status(ex.id)

    def status(self, execution_id: str) -> Execution:
        ex = self.store.get(execution_id)
        if ex is None:
            raise NotFound(f"no execution with id '{execution_id}'", fix="check the id returned at start")
        return ex

    def wait(self, execution_id: str, timeout: float = 60.0) -> Execution:
        """Block until the execution is finished or ``timeout`` passed; returns its state."""
        end = time.monotonic() + timeout
        pause = 0.05
        while True:
            ex = self.store.get_head(execution_id)  # polls need no step records
            if ex is None:
                return self.status(execution_id)  # NotFound, with the fix
            left = end - time.monotonic()
            if ex.finished or left <= 0:
                return self.status(execution_id)
            with self._changed:  # local runs notify at once; remote ones are polled, less and less often
                self._changed.wait(min(left, pause))
            pause = min(pause * 1.5, 1.0)

    def _publish(self, type_: str, ex: Execution) -> None:
        try:
            self.services.events.publish(Event(type=type_, execution_id=ex.id, workflow=ex.workflow_name,
                                               data={"mode": ex.mode.value}))
        except Exception:  # events are projections: a bus hiccup must not fail the request
            log.exception("event %s for %s was not published", type_, ex.id)

    def _on_event(self, event: Event) -> None:
        if event.type.startswith("execution."):
            with self._changed:
                self._changed.notify_all()

    def cancel(self, execution_id: str) -> Execution:
        """Cancel at once: the execution is ``cancelled`` when this returns (MCP tasks/cancel
        must move the task before it answers). A runner still inside a step stops at its next
        boundary and its result is discarded (the store refuses writes to a finished run)."""
        now = self.engine.clock.now()
        ex = self.store.request_cancel(execution_id, now)
        if not ex.finished:
            try:
                ex = self.store.finish(execution_id, None, ExecutionStatus.CANCELLED, error=ErrorInfo(
                    code="cancelled", message="execution was cancelled"), now_s=now)
                self._publish("execution.cancelled", ex)
            except Conflict:  # it ended on its own in between: report how
                ex = self.status(execution_id)
        self.engine.signal_cancel(execution_id)
        # Drop the queued delivery only once the run has ended: until then it may be the last
        # redelivery that can end it (its runner died). Best effort: the run is cancelled already.
        if self.services.queue is not None and ex.finished:
            try:
                self.services.queue.cancel(execution_id)
            except Transient as exc:
                log.warning("the queued task of cancelled execution %s stays (%s): it will find it ended",
                            execution_id, exc)
        if self.services.jobs is not None and ex.mode == ExecutionMode.ISOLATED:
            self.services.jobs.cancel(execution_id)  # a job stuck in a step is stopped after a grace
        return ex

    def send_event(self, execution_id: str, event: str, payload: Any = None, *, by: str | None = None) -> Execution:
        """Resume the run waiting for ``event`` (waiting.deliver; the caller checked who may)."""
        return waiting.deliver(self.services, execution_id, event, payload, by=by)

    def executions(self, *, status: str | None = None, workflow_name: str | None = None,
                   principal: str | None = None, limit: int = 50, cursor: str | None = None,
                   **search: Any) -> Page:
        """A page of executions, newest first; ``search``: ExecutionQuery's created_from_s,
        created_to_s, id_prefix, error_text. Errors: InvalidArgument."""
        try:
            st = ExecutionStatus(status) if status else None
        except ValueError:
            raise InvalidArgument(f"status '{status}' is not one of "
                                  + ", ".join(s.value for s in ExecutionStatus)) from None
        return self.store.list(ExecutionQuery(status=st, workflow_name=workflow_name, principal=principal,
                                              limit=limit, cursor=cursor, **search))

    def rerun(self, execution_id: str, from_step: str | None = None, *, mode: str | None = None) -> Execution:
        """A new execution of the same workflow version and input that reuses the finished
        steps of ``execution_id`` up to its failed step (or up to ``from_step``), for the same
        caller and budget. Errors: NotFound, Conflict (still running), InvalidArgument."""
        new = reruns.prepare(self.engine, self.status(execution_id), from_step, mode)
        _created(new)
        return self._dispatch(self.status(new.id))

    def resume_pending(self) -> list[str]:
        """Queue every queued or running execution again, taking over leases of a dead
        process (only the one embedded server of a home may call this). Returns their ids."""
        return reruns.resume_pending(self.services)


def _created(ex: Execution) -> None:
    hook = ON_CREATED.get()
    if hook is not None:
        hook(ex)


