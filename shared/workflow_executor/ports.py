"""Ports: what the engine and the MCP layer need from the outside world.

Every backend (memory, SQLite, Firestore, Cloud Tasks, Pub/Sub, Cloud Run, local threads and
subprocesses) implements these Protocols in ``adapters/``; ``services.py`` picks one of each.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from .models import (
    ErrorInfo,
    Execution,
    ExecutionStatus,
    KeyUsage,
    Page,
    Progress,
    StepRecord,
    StoredWorkflow,
    Usage,
    WaitState,
)

if TYPE_CHECKING:
    from .settings_llm import ModelPrice

Turns = list[dict[str, Any]]  # an agent step's journal (a name: ``list`` is a store method below)


@dataclass(frozen=True)
class ExecutionQuery:
    """Which executions ``ExecutionStore.list`` answers, newest first. The search filters
    (adapters/search.py): ``created_from_s`` / ``created_to_s`` bound the creation time (Unix
    seconds, both inclusive); ``id_prefix`` (4 characters at least) the id's start; ``error_text``
    keeps runs whose error (code and message) holds each of its words, case-insensitive (SQLite
    and memory also match part of a word; Firestore whole words)."""

    status: ExecutionStatus | None = None
    workflow_name: str | None = None
    principal: str | None = None
    limit: int = 50
    cursor: str | None = None
    created_from_s: float | None = None
    created_to_s: float | None = None
    id_prefix: str | None = None
    error_text: str | None = None


@runtime_checkable
class ExecutionStore(Protocol):
    """Durable executions. All mutations are compare-and-set; a finished execution is frozen.

    Errors: ``NotFound`` for an unknown id, ``Conflict`` when a precondition fails,
    ``LeaseHeld`` / ``LeaseLost`` for lease violations.
    """

    def create(self, execution: Execution) -> tuple[Execution, bool]:
        """Store a new execution. If one with the same (principal, idempotency_key) exists,
        return it and False instead; same for an existing id."""

    def get(self, execution_id: str) -> Execution | None: ...

    def get_head(self, execution_id: str) -> Execution | None:
        """The execution without its step records: the cheap read for polls and projections.
        Exact once finished; for a live one, progress, lease and version may lag behind the
        latest checkpoints (status, cancel flag, input and result never do)."""

    def list(self, query: ExecutionQuery) -> Page:
        """Newest first; ``cursor`` is opaque and comes from the previous page."""

    def acquire_lease(self, execution_id: str, owner: str, ttl_s: float, now_s: float) -> Execution:
        """Take the lease when free, expired or already ours, and move queued -> running.
        Raises LeaseHeld while another live owner holds it, Conflict if finished."""

    def save_step(
        self, execution_id: str, owner: str, record: StepRecord, progress: Progress, lease_until_s: float
    ) -> None:
        """The one write per step: the record, the progress, the renewed lease. LeaseLost if the
        lease is no longer ours."""

    def finish(
        self,
        execution_id: str,
        owner: str | None,
        status: ExecutionStatus,
        *,
        result: Any = None,
        error: ErrorInfo | None = None,
        usage: Usage | None = None,
        now_s: float,
    ) -> Execution:
        """Move a non-terminal execution to a terminal status (owner None: no lease needed,
        e.g. cancelling a queued run). Conflict if already terminal."""

    def request_cancel(self, execution_id: str, now_s: float) -> Execution:
        """Set the cancel flag; a queued execution becomes cancelled at once."""

    def release_lease(self, execution_id: str, owner: str) -> None:
        """Give the lease up without finishing (a hand-over to a follow-up task)."""

    def park(self, execution_id: str, owner: str, wait: WaitState, progress: Progress, now_s: float) -> Execution:
        """running -> waiting at a wait step, the lease given up (adapters.waits.parked). LeaseLost
        if not ours; Conflict if finished or a cancel is requested."""

    def wake(self, execution_id: str, *, event: str | None = None, number: int | None = None,
             payload: Any = None, by: str | None = None, now_s: float) -> Execution:
        """waiting -> queued with the wait resolved, exactly once: by ``event`` and its payload, or
        (``event`` None) by the due timer of wait ``number``. AlreadyDelivered, NotWaiting, NotFound."""

    def record_turn(self, execution_id: str, key: str, index: int, turn: dict[str, Any]) -> dict[str, Any]:
        """Journal one turn of an agent step (``key`` names the step attempt) unless turn
        ``index`` is already stored; returns the stored turn (the first writer wins). Durable
        before it returns. NotFound for an unknown execution."""

    def load_turns(self, execution_id: str, key: str) -> Turns:
        """The turns journaled under ``key``, by index (0, 1, ...; stops at the first gap)."""

    def key_usage(self, principal: str, day: str) -> KeyUsage | None:
        """``principal``'s LLM spending on ``day`` (UTC, YYYY-MM-DD); None while none is stored."""

    def put_key_usage(self, usage: KeyUsage, expected_version: int) -> bool:
        """Compare-and-set: store ``usage`` for its (principal, day) when the stored version is
        ``expected_version`` (0: nothing stored yet); the stored copy gets version
        ``expected_version + 1``. False when another writer came first (read again and retry)."""


@dataclass(frozen=True)
class WorkflowHour:
    """One workflow's aggregates over one UTC hour (``hour``: Unix seconds // 3600); ``counts``
    maps a counter name ([a-z0-9_]) to its sum (see ``workflow_stats`` for the names)."""

    workflow: str
    hour: int
    counts: Mapping[str, float]


@runtime_checkable
class StatsStore(Protocol):
    """Aggregates kept as runs finish, so metrics pages never scan executions. Adds are atomic
    increments (two processes adding at once both count)."""

    def add_stats(self, workflow: str, hour: int, counts: Mapping[str, float]) -> None:
        """Add each of ``counts`` to the (workflow, hour) row, creating it when missing."""

    def stats(self, since_hour: int) -> list[WorkflowHour]:
        """Every row whose hour is ``since_hour`` or later (any order)."""


@runtime_checkable
class PauseStore(Protocol):
    """Schedules and triggers an admin paused (keys like ``schedule:<workflow>:<index>``)."""

    def paused(self) -> set[str]:
        """Every paused key."""

    def set_paused(self, key: str, paused: bool) -> None:
        """Pause (True) or resume (False) ``key``; idempotent."""


@runtime_checkable
class FoldingStore(Protocol):
    """An ExecutionStore that folds a run's first and last writes into their neighbours, so a
    sync run of n steps costs n commits (a store where each commit is an fsync wants this):

    - ``create_running``: create the execution already ``running`` under ``owner``'s lease
      (create + acquire_lease in one write; the same (existing, False) rule as ``create``);
    - ``finish_with_step``: checkpoint the last step and finish in one transaction (save_step +
      finish: either both are stored or neither; the same errors as they raise); it may return
      the final execution without its step records (the runner holds them).
    """

    def create_running(self, execution: Execution, owner: str, ttl_s: float, now_s: float) -> tuple[Execution, bool]:
        ...

    def finish_with_step(
        self,
        execution_id: str,
        owner: str,
        status: ExecutionStatus,
        record: StepRecord,
        progress: Progress,
        *,
        result: Any = None,
        error: ErrorInfo | None = None,
        usage: Usage | None = None,
        now_s: float,
    ) -> Execution:
        ...


@runtime_checkable
class WorkflowRegistry(Protocol):
    """Workflow definitions by name, versioned by content hash."""

    def put(self, name: str, document: dict[str, Any], *, source: str | None = None,
            description: str | None = None, latest: bool = True,
            source_text: str | None = None) -> StoredWorkflow:
        """Store ``document`` as a version of ``name`` (the same content returns the version it
        already has, with the text it was first stored with). With ``latest`` that version becomes
        what ``name`` means for ``get(name)`` and ``list()``; without, it is only reachable by its
        hash (a run's own variant). ``source_text``: the document as the user wrote it."""

    def get(self, name: str, workflow_hash: str | None = None) -> StoredWorkflow | None:
        """The latest version, or the one with ``workflow_hash``."""

    def list(self) -> list[StoredWorkflow]:
        """The latest version of each name, sorted by name."""


@dataclass(frozen=True)
class TaskRequest:
    """What the queue delivers to the worker handler."""

    execution_id: str
    segment: int = 0
    delay_s: float = 0.0
    # Local only: the embedded server knows the previous lease owner died with the process.
    takeover: bool = False
    # Local only: the fairness group (the workflow name): the local queue takes groups in turn.
    group: str = ""


class TaskQueue(Protocol):
    def enqueue(self, request: TaskRequest) -> None:
        """Deliver at least once to the worker. The same (execution_id, segment) enqueued twice
        starts one delivery at most (dedup by name)."""

    def cancel(self, execution_id: str) -> None:
        """Best effort: drop queued deliveries of this execution."""


class JobRunner(Protocol):
    def start(self, execution_id: str) -> str:
        """Start an isolated run; returns a handle (job execution name or pid)."""

    def cancel(self, execution_id: str) -> None: ...


@dataclass(frozen=True)
class Event:
    type: str
    execution_id: str
    workflow: str
    data: dict[str, Any] = field(default_factory=dict)
    attributes: dict[str, str] = field(default_factory=dict)


FINISHED_FIELDS = ("parent_id", "principal", "ended_at_s")


def finished_fields(ex: Execution) -> dict[str, Any]:
    """What a finished execution's event carries besides its own data (FINISHED_FIELDS): the
    fields of the events function's view and parent check (events.py), so it needs no read."""
    return {k: getattr(ex, k) for k in FINISHED_FIELDS}


class EventBus(Protocol):
    def publish(self, event: Event) -> None:
        """Fire and forget from the engine's point of view; must not raise on a backend hiccup
        (log and drop), since events are projections, not the source of truth."""


class Clock(Protocol):
    def now(self) -> float: ...

    def sleep(self, seconds: float, until: Callable[[], bool] | None = None) -> bool:
        """Sleep up to ``seconds``; wake early (returning True) when ``until()`` turns true."""


@dataclass(frozen=True)
class AgentReply:
    output: Any
    usage: Usage = field(default_factory=Usage)


class Reservation(Protocol):
    """A model call's reservation: ``max_tokens`` is the completion cap to send (None: none)."""

    @property
    def max_tokens(self) -> int | None: ...


class AgentContext(Protocol):
    """What an agent step gets from the engine: its journal of turns, its budget, cancel-aware
    sleep, its tools and a way to publish progress. One context per attempt of one step."""

    execution_id: str
    step_id: str
    principal: str | None

    def recorded_turns(self) -> list[dict[str, Any]]:
        """The turns this attempt already journaled (a resumed step replays them)."""

    def record_turn(self, index: int, turn: dict[str, Any]) -> dict[str, Any]:
        """Journal turn ``index`` before the next one starts; returns what is stored there (the
        first writer's turn wins, so a stale runner and its replacement agree)."""

    def reserve(self, prompt_tokens: int, max_tokens: int | None, price: ModelPrice | None, *,
                wait_s: float) -> Reservation:
        """Before each model call: reserve the most it can cost (``prompt_tokens``, an upper
        estimate, plus the completion cap) against the execution, its ancestors and the key's
        daily total. ``max_tokens``: the agent's own cap. Waits up to ``wait_s`` for parallel
        calls to settle when it does not fit. Errors: BudgetExceeded when even a minimal reply
        cannot fit (or a cost budget applies and ``price`` is None); Cancelled."""

    def settle(self, hold: Reservation, spent: Usage) -> None:
        """After the call (also a failed one: ``spent`` is then what the server reported, often
        nothing): give the reservation back and count exactly ``spent``."""

    def replayed(self, spent: Usage) -> None:
        """Count a model turn replayed from the journal (paid for by an earlier pass)."""

    def sleep(self, seconds: float) -> None:
        """Wait (a retry backoff); raises Cancelled if the execution is cancelled meanwhile."""

    def toolbox(self, tool_ids: tuple[str, ...]) -> Any:
        """The agents.toolbox.ToolBox for these tool ids. Errors: NotFound, InvalidArgument."""

    def tool_call(self, deadline_s: float | None) -> Any:
        """The agents.toolbox.ToolCall describing where a tool call comes from."""

    def emit(self, type_: str, data: dict[str, Any]) -> None:
        """Publish an event about this step (``agent.turn``): never raises."""


class AgentRunner(Protocol):
    def run(self, agent: Any, prompt: Any, ctx: AgentContext, *,
            output_schema: dict[str, Any] | None = None) -> AgentReply:
        """Run the agent (a spec.Agent) on ``prompt`` (the rendered input) to its final reply: text,
        or JSON valid against ``output_schema`` / the agent's response_format. Errors: WfxError
        subclasses (NoModelConfigured, ModelAuthFailed, ModelNotFound, ModelRateLimited,
        ModelUnavailable, ContextTooLong, ContentFiltered, InvalidModelOutput, BudgetExceeded,
        LimitExceeded), each with a fix."""


class McpBridge(Protocol):
    """How ``mcp_call`` steps reach MCP tools (wired by services; the engine knows no MCP)."""

    def local(self, run: Any, server: str, tool: str, arguments: Mapping[str, Any]) -> Any:
        """Call ``tool`` of ``local://<server>`` (``workflow_executor`` = our own tools) under
        the run's caller; an empty ``tool`` lists the tools."""

    def remote(self, run: Any, url: str, tool: str, arguments: Mapping[str, Any],
               headers: Mapping[str, str]) -> Any:
        """Call ``tool`` of the MCP server at ``url`` (on the operator's allow-list)."""


Listener = Callable[[Event], None]


class VectorIndex(Protocol):
    """Tables of documents with embeddings, searched by cosine similarity: BigQuery, or the
    embedded SQLite index of ``wfx serve``. Names reaching it are validated and allow-listed by
    the tool; values are bound, never written into SQL. Rows are plain JSON data (times as ISO
    8601 text), without the ``embedding`` column.

    Errors: ``NotFound`` for a missing dataset or table, ``InvalidArgument`` for a query the
    backend refuses (an embedding of another dimension), ``ToolFailed`` / ``Transient`` for the
    backend's own failures."""

    name: str

    def tables(self, dataset: str) -> list[str]:
        """The tables of ``dataset`` that have an ``embedding`` column ([] when it has none)."""

    def table_info(self, dataset: str, table: str) -> dict[str, Any]:
        """total_rows, size_bytes, created, modified and table_schema ([{name, type}])."""

    def search(self, dataset: str, table: str, vector: list[float], threshold: float,
               limit: int) -> dict[str, Any]:
        """``{"results": [row + similarity, best first], "scanned_rows"?, "truncated"?}``:
        rows whose cosine similarity to ``vector`` is at least ``threshold``, ``limit`` at most."""

    def get(self, dataset: str, table: str, document_id: str) -> dict[str, Any] | None:
        """The row whose ``document_id`` is ``document_id``, or None."""

    def sample(self, dataset: str, table: str, limit: int) -> list[dict[str, Any]]:
        """Up to ``limit`` rows, newest first: document_id, title, url, content_length, created_at."""
