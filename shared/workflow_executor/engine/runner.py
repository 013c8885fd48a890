"""The engine: runs (or resumes) one execution to its end behind the ports.

One write per finished step (``save_step``) before the next starts; routing decisions go into
the record so that a redelivery resumes from the records alone. Knows nothing of HTTP,
Firestore or Cloud Tasks.
"""

from __future__ import annotations

import contextlib
import logging
import os
import resource
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Any, cast

from ..access import LOCAL_PRINCIPAL
from ..agents.toolbox import ToolHost
from ..errors import (
    Cancelled,
    Conflict,
    ExecutionTimeout,
    LeaseHeld,
    LeaseLost,
    NotFound,
    StoreUnavailable,
    WfxError,
)
from ..models import Budget, ErrorInfo, Execution, ExecutionStatus, Progress, StepRecord, StepStatus, Usage
from ..ports import AgentRunner, Clock, Event, EventBus, ExecutionStore, FoldingStore, McpBridge, WorkflowRegistry
from ..spec import expr
from ..spec.graph import Graph, graph
from ..spec.model import ExistsCondition, IfCondition, Step, SwitchCondition, Workflow, WorkflowDocument
from ..spec.refs import Scope, UnresolvedReference, parse_ref
from ..usage_view import live_usage
from . import actions, children, inputs
from .agent_steps import budget_of
from .clock import SystemClock
from .frontier import chain_route, is_join, ready_steps, split_user
from .functions import FunctionRegistry
from .heartbeat import Heartbeat
from .key_ledger import KeyLedger
from .ledger import Ledger
from .outages import Outages
from .strays import Strays

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class EngineConfig:
    lease_ttl_s: float = 60.0
    max_parallel: int = 8
    max_child_depth: int = 5
    cancel_poll_s: float = 0.5
    allowed_env: frozenset[str] = frozenset()
    environ: dict[str, str] = field(default_factory=dict)
    # In a process that runs one execution (isolated mode) its rusage is the run's usage.
    measure_process: bool = False
    max_output_bytes: int = 524_288   # a step's output (JSON size), checked when it returns
    max_render_chars: int = 1_048_576  # text one step's ${...} rendering may build
    max_stray_threads: int = 32        # timed-out steps whose threads still run (engine.strays)
    key_daily: Budget | None = None    # each principal's LLM limit per UTC day (WFX_KEY_DAILY_MAX_*)
    completion_cap: int = 4096         # reply cap sent under a budget when the agent sets none
    settle_wait_s: float = 30.0        # a finishing run waits this long for its model calls in flight
    store_outage_max_s: float = 600.0  # how long a run waits out an unreachable store (engine.outages)


class NullBus:
    def publish(self, event: Event) -> None:
        return None


class Engine:
    """Shared by every run in a process: holds the ports, caches parsed documents."""

    def __init__(
        self,
        store: ExecutionStore,
        registry: WorkflowRegistry,
        *,
        events: EventBus | None = None,
        clock: Clock | None = None,
        functions: FunctionRegistry | None = None,
        agents: AgentRunner | None = None,
        config: EngineConfig | None = None,
        tools: ToolHost | None = None,
    ) -> None:
        self.store = store
        self.registry = registry
        self.events: EventBus = events or NullBus()
        self.clock: Clock = clock or SystemClock()
        self.functions = functions or FunctionRegistry()
        self.agents = agents
        self.tools = tools  # agents' tools and tool: steps (agents/tools); None: only type function
        self.config = config or EngineConfig()
        self.mcp: McpBridge | None = None  # for mcp_call steps; services wires it
        self._docs: OrderedDict[str, tuple[WorkflowDocument, dict[str, tuple[Graph, dict[str, int]]]]] = (
            OrderedDict())
        self._docs_lock = threading.Lock()
        self._cancel_flags: dict[str, threading.Event] = {}
        self.heartbeat = Heartbeat(self)
        self.strays = Strays(self.config.max_stray_threads)
        self.folds = isinstance(store, FoldingStore)  # once: a runtime Protocol check is slow

    def new_owner(self) -> str:
        return f"{os.uname().nodename}:{os.getpid()}:{uuid.uuid4().hex[:8]}"

    @staticmethod
    def owner_dead(owner: str | None) -> bool:
        """True only when ``owner`` names a process of this host that no longer exists (a lease
        of another host, or of a live process, is never taken over early)."""
        if not owner:
            return True
        host, _, rest = owner.partition(":")
        pid_text = rest.partition(":")[0]
        if host != os.uname().nodename or not pid_text.isdigit():
            return False
        try:
            os.kill(int(pid_text), 0)
        except ProcessLookupError:
            return True
        except PermissionError:
            return False
        return False

    def document(self, name: str, workflow_hash: str) -> WorkflowDocument:
        """The parsed document of a stored workflow version (cached by hash)."""
        with self._docs_lock:
            hit = self._docs.get(workflow_hash)
            if hit:
                self._docs.move_to_end(workflow_hash)
                return hit[0]
        stored = self.registry.get(name, workflow_hash)
        if stored is None:
            raise NotFound(f"workflow '{name}' version {workflow_hash[:12]} is not stored",
                           fix="register the workflow again")
        # The registry holds the normalised, validated dump: no need to re-run the loader.
        doc = WorkflowDocument.model_validate(stored.document)
        with self._docs_lock:
            self._docs[workflow_hash] = (doc, {})
            while len(self._docs) > 256:
                self._docs.popitem(last=False)
        return doc

    def plan(self, workflow_hash: str, doc: WorkflowDocument, wf: Workflow) -> tuple[Graph, dict[str, int]]:
        with self._docs_lock:
            entry = self._docs.get(workflow_hash)
            plans = entry[1] if entry else {}
            if wf.id not in plans:
                plans[wf.id] = (graph(wf), {s.id: i for i, s in enumerate(wf.steps)})
            return plans[wf.id]

    def signal_cancel(self, execution_id: str) -> None:
        """Wake a run of this process at once (the store flag reaches other processes and
        runs that start later)."""
        flag = self._cancel_flags.get(execution_id)
        if flag is not None:
            flag.set()

    def run(self, execution_id: str, *, owner: str | None = None, now_s: float | None = None,
            budget_s: float | None = None, parent_cancelled: Callable[[], bool] | None = None,
            parent: Run | None = None, leased: Execution | None = None) -> Execution:
        """Run or resume ``execution_id`` to a terminal status and return it. With ``budget_s``
        the run stops between steps once that much time has passed, gives the lease up and
        returns the unfinished execution (the caller hands over to a follow-up task).

        Errors: NotFound, LeaseHeld (another live runner has it), LeaseLost (taken over
        mid-run: this runner stops writing). Workflow failures are not errors: they end in
        the returned execution's status. ``leased``: the execution as created already running
        under ``owner``'s lease (``FoldingStore.create_running``), so no lease write is needed."""
        owner = owner or self.new_owner()
        now = self.clock.now() if now_s is None else now_s
        if leased is not None and leased.id == execution_id and leased.lease_owner == owner:
            ex = leased
        else:
            ex = self.store.acquire_lease(execution_id, owner, self.config.lease_ttl_s, now)
        flag = self._cancel_flags.setdefault(execution_id, threading.Event())
        if ex.cancel_requested:  # stored before this delivery: no step may start
            flag.set()
        try:
            run = Run(self, ex, owner, flag, budget_s, parent_cancelled, takeover=now_s is not None, parent=parent)
        except NotFound as exc:
            # Its workflow version is not stored: no delivery can ever run it, so end it with the
            # cause (else every redelivery and sweep would find it running again).
            self._cancel_flags.pop(execution_id, None)
            return self._unrunnable(execution_id, owner, exc)
        except BaseException:
            self._cancel_flags.pop(execution_id, None)
            with contextlib.suppress(WfxError):
                self.store.release_lease(execution_id, owner)
            raise
        self.heartbeat.add(run)
        try:
            return run.execute()
        except LeaseLost:
            raise  # not ours any more: nothing to give back
        except BaseException as exc:
            if isinstance(exc, WfxError):  # as last known: it stays running until a redelivery resumes it
                exc.details["status"] = ExecutionStatus.RUNNING.value
            # A transient fault (or a child's live lease) ends this pass without an outcome:
            # give the lease back so that the redelivery need not wait for it to expire.
            with contextlib.suppress(WfxError):
                self.store.release_lease(execution_id, owner)
            raise
        finally:
            self.heartbeat.remove(run)
            self._cancel_flags.pop(execution_id, None)

    def _unrunnable(self, execution_id: str, owner: str, exc: WfxError) -> Execution:
        error = ErrorInfo(code=exc.code, message=exc.message, details={"fix": exc.fix} if exc.fix else {})
        try:
            ex = self.store.finish(execution_id, owner, ExecutionStatus.FAILED, error=error, now_s=self.clock.now())
        except Conflict:  # ended meanwhile (a cancel): report what is stored
            cur = self.store.get(execution_id)
            if cur is None:
                raise
            return cur
        with contextlib.suppress(Exception):  # events are projections
            self.events.publish(Event(type="execution.failed", execution_id=ex.id, workflow=ex.workflow_name,
                                      data={"error": error.model_dump()}))
        return ex


class Run:
    """One pass of the engine over one execution."""

    def __init__(self, engine: Engine, ex: Execution, owner: str, flag: threading.Event,
                 budget_s: float | None = None, parent_cancelled: Callable[[], bool] | None = None,
                 takeover: bool = False, parent: Run | None = None) -> None:
        # Taking over from a runner known to be dead (the embedded server at start): its
        # children's leases are dead too.
        self.takeover = takeover
        self.renewed_at = time.monotonic()
        self.done = False  # set before the final write: the heartbeat leaves the lease alone then
        # The last step's checkpoint, held back to go out with the finish in one commit when the
        # store can fold them (FoldingStore): (record, progress, step event data).
        self.folds = engine.folds
        self.last: tuple[StepRecord, Progress, dict[str, Any]] | None = None
        # A child run stops when its parent is cancelled (the parent waits inside the child).
        self.parent_cancelled = parent_cancelled
        self.budget_end = time.monotonic() + budget_s if budget_s is not None else None
        self.engine = engine
        self.ex = ex
        self.owner = owner
        self.flag = flag
        self.clock = engine.clock
        self.store = engine.store
        self.document = engine.document(ex.workflow_name, ex.workflow_hash)
        self.workflow = self.document.workflow(ex.workflow_name)
        self.graph, self.index = engine.plan(ex.workflow_hash, self.document, self.workflow)
        self.records: dict[str, StepRecord] = dict(ex.steps)
        self.outputs: dict[str, Any] = {k: r.output for k, r in self.records.items()
                                        if r.status in (StepStatus.COMPLETED, StepStatus.SKIPPED)}
        self.seq = max((r.seq for r in self.records.values()), default=0)
        self.input_names = frozenset(self.workflow.inputs)
        # LangSwarm's ``previous_output``: the output of the step that finished last (kept as steps end)
        done = [r for r in self.records.values() if r.status == StepStatus.COMPLETED]
        self.previous = max(done, key=lambda r: r.seq).output if done else None
        self.finished_count = sum(1 for r in self.records.values() if r.status != StepStatus.FAILED)
        self.lock = threading.Lock()
        limit = ex.timeout_s or self.workflow.timeout
        start = ex.started_at_s or self.clock.now()
        # time earlier passes waited for an unreachable store does not count (engine.outages)
        waited = sum(r.store_wait_s for r in self.records.values() if not r.reused)
        self.deadline = start + limit + waited if limit else None
        self.outages = Outages(self, engine.config.store_outage_max_s)
        self._next_poll = time.monotonic() + engine.config.cancel_poll_s
        self.usage = ex.usage
        # LLM budgets: model calls reserve on this ledger, which is linked to the parent's (a child
        # counts against its parent: ``parent`` is the run of the parent execution in this process).
        self.parent = parent
        self.ledger = self._ledger(engine, parent)

    def _ledger(self, engine: Engine, parent: Run | None) -> Ledger:
        cfg = engine.config
        key = None
        if parent is None and cfg.key_daily is not None and not cfg.key_daily.empty:
            key = KeyLedger(self.store, self.ex.principal or LOCAL_PRINCIPAL, cfg.key_daily)
        # a resumed run's total is not stored yet: its finished steps' records hold what it spent
        return Ledger(self.ex.id, budget_of(self), live_usage(self.ex), parent.ledger if parent is not None else None,
                      key=key, completion_cap=cfg.completion_cap)

    # -- cancellation and deadline -------------------------------------------------------

    def cancel_requested(self) -> bool:
        if self.flag.is_set():
            return True
        if self.parent_cancelled is not None and self.parent_cancelled():
            self.flag.set()
            return True
        if time.monotonic() >= self._next_poll:
            self._next_poll = time.monotonic() + self.engine.config.cancel_poll_s
            try:
                cur = self.store.get_head(self.ex.id)  # no step records needed
            except StoreUnavailable:  # not known to be cancelled: the next poll asks again
                return False
            if cur is not None and (cur.cancel_requested or cur.status == ExecutionStatus.CANCELLED):
                self.flag.set()
        return self.flag.is_set()

    def check_cancel(self) -> None:
        if self.cancel_requested():
            raise Cancelled("execution was cancelled")

    def time_left(self) -> float | None:
        return None if self.deadline is None else max(self.deadline - self.clock.now(), 0.0)

    # -- the loop ------------------------------------------------------------------------

    def execute(self) -> Execution:
        self._emit("execution.running", {})
        running: dict[Future[StepRecord], str] = {}
        pool: ThreadPoolExecutor | None = None
        # A resumed run whose failed step was recorded before the runner died fails the same way.
        failed: StepRecord | None = next((r for r in self.records.values() if r.status == StepStatus.FAILED),
                                         None)
        ready = [] if failed else self._ready(running.values())
        try:
            while True:
                if self.cancel_requested():
                    return self._end(ExecutionStatus.CANCELLED, error=ErrorInfo(
                        code="cancelled", message="execution was cancelled"))
                left = self.time_left()
                if left is not None and left <= 0:
                    raise ExecutionTimeout("execution exceeded its timeout")
                if not ready and not running:
                    break
                if self.budget_end is not None and time.monotonic() >= self.budget_end:
                    # Past the budget: start nothing new, let what runs finish, then hand over.
                    if not running:
                        with self.lock:
                            self.done = True
                        self.store.release_lease(self.ex.id, self.owner)
                        return self.store.get(self.ex.id) or self.ex
                    ready = []
                if not running and len(ready) == 1 and self._step(ready[0]).timeout is None:
                    rec = self._run_step(self._step(ready[0]))  # hot path: no thread hop
                    ready = self._complete(rec, ())
                    if rec.status == StepStatus.FAILED:
                        failed = rec
                        break
                    continue
                if pool is None:
                    pool = ThreadPoolExecutor(self.engine.config.max_parallel, thread_name_prefix="wfx-par")
                for sid in ready:
                    running[pool.submit(self._run_step, self._step(sid))] = sid
                waits = [self.engine.config.cancel_poll_s] + ([left] if left is not None else [])
                done, _ = wait(list(running), timeout=min(waits), return_when=FIRST_COMPLETED)
                for fut in done:
                    running.pop(fut)
                    rec = fut.result()
                    ready = self._complete(rec, running.values())
                    if rec.status == StepStatus.FAILED:
                        failed = rec
                if failed:
                    break
                if not done:
                    ready = []
            if failed is not None:
                err = failed.error or ErrorInfo(code="step_failed", message="step failed")
                return self._end(ExecutionStatus.FAILED, error=err)
            return self._end(ExecutionStatus.COMPLETED, result=self._result())
        except Cancelled:
            return self._end(ExecutionStatus.CANCELLED, error=ErrorInfo(code="cancelled",
                                                                         message="execution was cancelled"))
        except ExecutionTimeout as exc:
            return self._end(ExecutionStatus.TIMEOUT, error=ErrorInfo(code=exc.code, message=exc.message))
        except BaseException:
            self._flush_last()  # a step that finished stays checkpointed, whatever ends this pass
            raise
        finally:
            if pool is not None:
                pool.shutdown(wait=False, cancel_futures=True)

    def _step(self, step_id: str) -> Step:
        return self.workflow.steps[self.index[step_id]]

    def _ready(self, running: Any) -> list[str]:
        return ready_steps(self.workflow, self.graph, self.records, set(running))

    def _scope(self, step: Step) -> Scope:
        branches: dict[str, Any] = {}
        if step.is_fan_in and step.fan_key:
            branches = {b: self.outputs[b] for b in self.graph.branches.get(step.fan_key, ())
                        if b in self.outputs}
        cfg = self.engine.config
        absent = self.graph.ancestors(step.id) if is_join(self.graph, step) else frozenset()
        return Scope(self.ex.input, self.outputs, branches=branches, allowed_env=cfg.allowed_env,
                     environ=cfg.environ, names=self.input_names, previous=self.previous,
                     absent=absent)

    def _run_step(self, step: Step) -> StepRecord:
        started = self.clock.now()
        scope = self._scope(step)
        rec = self._attempt(step, scope, started)
        if rec.status != StepStatus.SKIPPED:
            rec.input_preview = inputs.preview(step, scope)
        return rec

    def _attempt(self, step: Step, scope: Scope, started: float) -> StepRecord:
        try:
            res = actions.run_step(self, step, scope)
            if res.skipped:
                targets, to_user = self._route(step, None, scope)
                return StepRecord(step_id=step.id, status=StepStatus.SKIPPED, started_at_s=started,
                                  ended_at_s=self.clock.now(), routed_to=targets, to_user=to_user,
                                  warnings=list(scope.notes))
            targets, to_user = self._route(step, res.output, scope)
            return StepRecord(step_id=step.id, status=StepStatus.COMPLETED, attempts=res.attempts,
                              started_at_s=started, ended_at_s=self.clock.now(), output=res.output,
                              routed_to=targets, to_user=to_user, usage=res.usage, warnings=list(scope.notes))
        except (Cancelled, ExecutionTimeout, LeaseHeld, StoreUnavailable):
            raise  # a store outage (say inside a child workflow) ends this pass: redelivered, no step failed
        except WfxError as exc:
            rec = self._failed(step, started, exc.code, exc.message, exc.details.get("attempts", 1), exc.fix)
            if isinstance(exc.details.get("usage"), dict):  # an agent step's spending before it failed
                rec.usage = Usage(**exc.details["usage"])
            return rec
        except Exception as exc:  # a routing/render bug in user data must not kill the runner
            return self._failed(step, started, "step_failed", f"{type(exc).__name__}: {exc}", 1)

    def _failed(self, step: Step, started: float, code: str, message: str, attempts: Any,
                fix: str | None = None) -> StepRecord:
        return StepRecord(step_id=step.id, status=StepStatus.FAILED, attempts=int(attempts or 1),
                          started_at_s=started, ended_at_s=self.clock.now(),
                          error=ErrorInfo(code=code, message=message, step=step.id,
                                          details={"fix": fix} if fix else {}))

    def _route(self, step: Step, output: Any, scope: Scope) -> tuple[list[str], bool]:
        if self.graph.chain:
            return chain_route(self.workflow, self.index, step)
        if step.output is None:
            return [], False
        targets = list(step.output.to)
        cond = step.output.condition
        if cond is not None:
            # The condition may read this step's own output by id as well as by ``output``.
            s = scope.replace(outputs={**self.outputs, step.id: output}, step_output=output)
            names = {"output": output}
            try:
                if isinstance(cond, IfCondition):
                    targets += cond.then if expr.evaluate(cond.expr, s, names) else cond.otherwise
                elif isinstance(cond, SwitchCondition):
                    value = expr.evaluate(cond.expr, s, names)
                    key = "null" if value is None else str(value).lower() if isinstance(value, bool) else str(value)
                    targets += cond.cases.get(key, cond.default)
                elif isinstance(cond, ExistsCondition):
                    targets += cond.then if _exists(cond.ref, s) else cond.otherwise
            except (UnresolvedReference, expr.ExpressionError) as exc:
                # LangSwarm leaves an unreadable placeholder in place and the test is false: take
                # the else branch (the default of a switch) and say so on the step record.
                fallback = cond.default if isinstance(cond, SwitchCondition) else cond.otherwise
                targets += fallback
                scope.notes.append(f"output condition could not be evaluated ({exc.message}); took the "
                                   f"{'default' if isinstance(cond, SwitchCondition) else 'else'} branch "
                                   f"({', '.join(fallback) or 'nothing'}), as LangSwarm does")
        return split_user(targets)

    def _complete(self, rec: StepRecord, running: Any) -> list[str]:
        """Checkpoint a finished step (the one write), publish it, and return the new frontier."""
        with self.lock:
            self.seq += 1
            rec.seq = self.seq
            self.records[rec.step_id] = rec
            if rec.status != StepStatus.FAILED:
                self.outputs[rec.step_id] = rec.output
            if rec.status == StepStatus.COMPLETED:
                self.previous = rec.output
            if rec.usage:
                self.usage = self.usage.add(rec.usage)
            if rec.status == StepStatus.FAILED:
                ready = []
            elif self.graph.chain and not running:
                ready = [t for t in rec.routed_to if t not in self.records]  # O(1) for a chain
            else:
                ready = self._ready(running)
            if rec.status != StepStatus.FAILED:
                self.finished_count += 1
            others = set(running)
            progress = Progress(completed=self.finished_count, total=len(self.workflow.steps),
                                current=sorted(others | set(ready)))
            data: dict[str, Any] = {"step": rec.step_id, "attempts": rec.attempts}
            if rec.usage is not None and (rec.usage.prompt_tokens or rec.usage.completion_tokens):
                data["usage"] = rec.usage.model_dump()  # LLM tokens and cost of this step
            if self.folds and not ready and not others:
                # Nothing else runs or can start: the run ends next, and this checkpoint goes out
                # with the finish in one commit (``_end``; ``_flush_last`` if the pass ends otherwise).
                self.last = (rec, progress, data)
                return ready
            def checkpoint() -> None:
                rec.store_wait_s = round(self.outages.current(), 3)  # outage time this record ends
                self.store.save_step(self.ex.id, self.owner, rec, progress,
                                     self.clock.now() + self.engine.config.lease_ttl_s)

            try:
                self.outages.outlast(f"the checkpoint of step '{rec.step_id}'", checkpoint)
            except LeaseLost:
                raise
            except Conflict:
                # Finished under this runner: a cancel ends an execution at once, and the step
                # that was running when it came is discarded.
                raise Cancelled("execution was cancelled") from None
            self.renewed_at = time.monotonic()
        self._emit(f"step.{rec.status.value}", data)
        return ready

    def _flush_last(self) -> None:
        """Write a held-back last checkpoint on its own (best effort: this pass is ending)."""
        with self.lock:
            last, self.last = self.last, None
        if last is None:
            return
        rec, progress, data = last
        try:
            self.store.save_step(self.ex.id, self.owner, rec, progress,
                                 self.clock.now() + self.engine.config.lease_ttl_s)
        except WfxError:
            return  # not ours or finished already: the redelivery decides
        self._emit(f"step.{rec.status.value}", data)

    def _result(self) -> Any:
        finished = sorted((r for r in self.records.values() if r.status != StepStatus.FAILED),
                          key=lambda r: r.seq)
        to_user = [r for r in finished if r.to_user]
        if to_user:
            return to_user[-1].output
        return finished[-1].output if finished else None

    def _end(self, status: ExecutionStatus, *, result: Any = None, error: ErrorInfo | None = None) -> Execution:
        with self.lock:
            self.done = True
        # The stored tokens and cost are exactly what the model calls of this run and its children
        # reported, calls of branches still running when it failed included (they settle first).
        # A cancelled or timed-out run does not wait for them.
        quick = status in (ExecutionStatus.CANCELLED, ExecutionStatus.TIMEOUT)
        spent = self.ledger.close(0.0 if quick else self.engine.config.settle_wait_s)
        self.usage = self.usage.model_copy(update=spent.model_dump(include={"prompt_tokens", "completion_tokens",
                                                                            "cost_usd"}))
        if self.engine.config.measure_process:
            ru = resource.getrusage(resource.RUSAGE_SELF)
            # The process's CPU includes its steps' (already summed): the larger of the two.
            self.usage = self.usage.model_copy(update={"cpu_s": max(self.usage.cpu_s, ru.ru_utime + ru.ru_stime),
                                                        "peak_memory_kb": max(self.usage.peak_memory_kb,
                                                                              ru.ru_maxrss)})
        with self.lock:
            last, self.last = self.last, None
        try:
            if last is not None:
                rec, progress = last[0], last[1]
                head = self.outages.outlast("the finish", lambda: cast(FoldingStore, self.store).finish_with_step(
                    self.ex.id, self.owner, status, rec, progress, result=result, error=error, usage=self.usage,
                    now_s=self.clock.now()))
                # this runner wrote (or read at its start) every step record: no need to read them back
                ex = head.model_copy(update={"steps": dict(self.records)})
            else:
                ex = self.outages.outlast("the finish", lambda: self.store.finish(
                    self.ex.id, self.owner, status, result=result, error=error, usage=self.usage,
                    now_s=self.clock.now()))
        except Conflict:
            # Someone finished it first (a cancel of this run, say): report what is stored.
            cur = self.store.get(self.ex.id)
            if cur is None:
                raise
            ex = cur
            last = None  # its step was discarded with the run
        if last is not None:
            self._emit(f"step.{last[0].status.value}", last[2])
        self._emit(f"execution.{ex.status.value}", {"error": error.model_dump() if error else None,
                                                    "usage": ex.usage.model_dump()})
        return ex

    def emit(self, type_: str, data: dict[str, Any]) -> None:
        """Publish an event of this execution (never raises)."""
        self._emit(type_, data)

    def _emit(self, type_: str, data: dict[str, Any]) -> None:
        try:
            self.engine.events.publish(Event(type=type_, execution_id=self.ex.id,
                                             workflow=self.ex.workflow_name, data=data))
        except Exception:  # events are projections: never let them fail a run
            log.exception("event %s for %s was not published", type_, self.ex.id)

    def invoke_child(self, step: Step, child_input: Any, loop_path: tuple[int, ...]) -> tuple[Any, Usage]:
        return children.invoke(self, step, child_input, loop_path)


def _exists(ref_text: str, scope: Scope) -> bool:
    text = ref_text.strip()
    if text.startswith("${") and text.endswith("}"):
        text = text[2:-1]
    try:
        value = scope.lookup(parse_ref(text))
    except UnresolvedReference:
        return False
    return value not in (None, "", [], {})
