"""The engine: runs (or resumes) one execution to its end behind the ports (a pass over one
execution is a Run, engine/run.py).

One write per finished step (``save_step``) before the next starts; routing decisions go into
the record so that a redelivery resumes from the records alone. Knows nothing of HTTP,
Firestore or Cloud Tasks.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import os
import threading
import uuid
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field

from ..agents.toolbox import ToolHost
from ..errors import (
    Conflict,
    LeaseLost,
    NotFound,
    WfxError,
)
from ..models import Budget, ErrorInfo, Execution, ExecutionStatus
from ..ports import AgentRunner, Clock, Event, EventBus, ExecutionStore, FoldingStore, McpBridge, WorkflowRegistry
from ..spec.graph import Graph, graph
from ..spec.model import Workflow, WorkflowDocument
from .clock import SystemClock
from .functions import FunctionRegistry
from .heartbeat import Heartbeat
from .run import Run
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
        # called with a run that just parked at a wait step: arms its timer (services wires it)
        self.on_park: Callable[[Execution], None] | None = None
        self._docs: OrderedDict[str, tuple[WorkflowDocument, dict[str, tuple[Graph, dict[str, int]]]]] = (
            OrderedDict())
        self._docs_lock = threading.Lock()
        # a runner's name: this host, this process, a random token of this engine and a count (no
        # system call per run: under concurrency each one hands the GIL to another thread)
        self._host, self._token = os.uname().nodename, uuid.uuid4().hex[:8]
        self._owners = itertools.count(1)
        self._cancel_flags: dict[str, threading.Event] = {}
        self.heartbeat = Heartbeat(self)
        self.strays = Strays(self.config.max_stray_threads)
        self.folds = isinstance(store, FoldingStore)  # once: a runtime Protocol check is slow

    def new_owner(self) -> str:
        """A name no other run pass of any process uses: ``host:pid:token+count``."""
        return f"{self._host}:{os.getpid()}:{self._token}{next(self._owners):x}"

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
