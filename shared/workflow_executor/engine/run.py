"""One pass of the engine over one execution: the step loop, each step's attempt and its
checkpoint (one write per step). Routing is in routing.py, the final write in ending.py."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from typing import TYPE_CHECKING, Any

from ..access import LOCAL_PRINCIPAL
from ..errors import (
    Cancelled,
    Conflict,
    ExecutionTimeout,
    LeaseHeld,
    LeaseLost,
    StoreUnavailable,
    WfxError,
)
from ..models import ErrorInfo, Execution, ExecutionStatus, Progress, StepRecord, StepStatus, Usage
from ..ports import Event
from ..spec.model import Step
from ..spec.refs import Scope
from ..usage_view import live_usage
from . import actions, asking, children, ending, inputs, routing, waits
from .agent_steps import budget_of
from .frontier import is_join, ready_steps
from .key_ledger import KeyLedger
from .ledger import Ledger
from .outages import Outages

if TYPE_CHECKING:
    from .runner import Engine

log = logging.getLogger(__name__)


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
        self.held: list[str] = []  # ready wait steps not resolved yet: the run parks at the first (waits.py)
        self.asking: dict[str, asking.Asking] = {}  # steps whose ask_human has no answer yet (asking.py)
        self.answered: set[str] = set()  # steps whose ask took the answer this pass resumed with
        limit = ex.timeout_s or self.workflow.timeout
        start = ex.started_at_s or self.clock.now()
        # time earlier passes waited for an unreachable store does not count (engine.outages)
        waited = sum(r.store_wait_s for r in self.records.values() if not r.reused) + waits.waited_s(self)
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
                ready = waits.hold(self, ready)
                if not ready and not running:
                    if self.held:
                        return waits.park(self, self.held[0])
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
                polls = [self.engine.config.cancel_poll_s] + ([left] if left is not None else [])
                done, _ = wait(list(running), timeout=min(polls), return_when=FIRST_COMPLETED)
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

    def scope_of(self, step: Step) -> Scope:
        return self._scope(step)

    def end_cancelled(self) -> Execution:
        return self._end(ExecutionStatus.CANCELLED,
                         error=ErrorInfo(code="cancelled", message="execution was cancelled"))

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
        times = waits.record_times(self, step.id) if waits.is_wait(step) else None
        if times is not None:  # a wait step ran from its park to its event (or timeout)
            rec.started_at_s, rec.ended_at_s = times
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
                              routed_to=targets, to_user=to_user, usage=res.usage, warnings=list(scope.notes),
                              iterations=res.iterations or None)
        except asking.Asking as signal:  # ask_human: the run parks at this step (not a failure)
            return asking.asked(self, step, signal, started)
        except (Cancelled, ExecutionTimeout, LeaseHeld, StoreUnavailable):
            raise  # a store outage (say inside a child workflow) ends this pass: redelivered, no step failed
        except WfxError as exc:
            rec = self._failed(step, started, exc.code, exc.message, exc.details.get("attempts", 1), exc.fix)
            if isinstance(exc.details.get("usage"), dict):  # an agent step's spending before it failed
                rec.usage = Usage(**exc.details["usage"])
            rec.iterations = exc.details.get("iterations") or None  # a loop's iterations up to the failure
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
        return routing.route(self, step, output, scope)


    def _complete(self, rec: StepRecord, running: Any) -> list[str]:
        """Checkpoint a finished step (the one write), publish it, and return the new frontier."""
        if rec.status == StepStatus.RUNNING:  # it asked a person (asking.asked): nothing to checkpoint
            return self._ready(running)
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
        ending.flush_last(self)


    def _result(self) -> Any:
        return ending.result_of(self)


    def _end(self, status: ExecutionStatus, *, result: Any = None, error: ErrorInfo | None = None) -> Execution:
        return ending.end(self, status, result=result, error=error)


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
