"""Persisted records: executions, their step records, stored workflows.

Pydantic because these cross the wire and the store. Every time is a float of seconds since
the epoch and its field name ends in ``_s``.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class ExecutionStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    WAITING = "waiting"  # parked at a wait step: no runner, no lease (engine/waits.py)
    COMPLETED = "completed"
    FAILED = "failed"
    TIMEOUT = "timeout"
    CANCELLED = "cancelled"

    @property
    def terminal(self) -> bool:
        return self in TERMINAL


TERMINAL = frozenset(
    {ExecutionStatus.COMPLETED, ExecutionStatus.FAILED, ExecutionStatus.TIMEOUT, ExecutionStatus.CANCELLED}
)


class ExecutionMode(StrEnum):
    SYNC = "sync"
    ASYNC = "async"
    ISOLATED = "isolated"


class StepStatus(StrEnum):
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"
    SKIPPED = "skipped"


class ErrorInfo(BaseModel):
    """A persisted error: stable code, a message for people, and where it happened."""

    model_config = ConfigDict(frozen=True)

    code: str
    message: str
    step: str | None = None
    details: dict[str, Any] = Field(default_factory=dict)


class Usage(BaseModel):
    """Resources spent: LLM tokens and cost, CPU seconds, peak memory."""

    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0
    cpu_s: float = 0.0
    peak_memory_kb: int = 0

    def add(self, other: Usage) -> Usage:
        # the validating constructor: in pydantic 2 it is several times faster than model_construct
        return Usage(
            prompt_tokens=self.prompt_tokens + other.prompt_tokens,
            completion_tokens=self.completion_tokens + other.completion_tokens,
            cost_usd=self.cost_usd + other.cost_usd,
            cpu_s=self.cpu_s + other.cpu_s,
            peak_memory_kb=max(self.peak_memory_kb, other.peak_memory_kb),
        )


class Budget(BaseModel):
    """Limits on LLM spending, checked before each model call; None: no limit."""

    model_config = ConfigDict(frozen=True)

    max_tokens: int | None = Field(default=None, ge=1)
    max_cost_usd: float | None = Field(default=None, gt=0)

    def tighter(self, other: Budget | None) -> Budget:
        """The stricter of both, limit by limit."""
        if other is None:
            return self

        def low(a: Any, b: Any) -> Any:
            return b if a is None else a if b is None else min(a, b)

        return Budget(max_tokens=low(self.max_tokens, other.max_tokens),
                      max_cost_usd=low(self.max_cost_usd, other.max_cost_usd))

    @property
    def empty(self) -> bool:
        return self.max_tokens is None and self.max_cost_usd is None


class KeyHold(BaseModel):
    """A model call's reservation against a principal's daily limit (tokens and USD it may
    still cost); it lapses at ``expires_at_s`` (epoch seconds) if its runner died."""

    tokens: int = 0
    cost_usd: float = 0.0
    expires_at_s: float = 0.0


class KeyUsage(BaseModel):
    """One principal's LLM spending in one UTC day (``day``: YYYY-MM-DD) and the reservations of
    calls still in flight. ``version`` counts writes: the store updates it compare-and-set."""

    principal: str
    day: str
    tokens: int = 0
    cost_usd: float = 0.0
    holds: dict[str, KeyHold] = Field(default_factory=dict)
    version: int = 0


class StepRecord(BaseModel):
    """The checkpoint of one step. ``routed_to`` records the routing decision so that a
    resumed run rebuilds the same frontier from the records alone."""

    step_id: str
    status: StepStatus
    attempts: int = 0
    seq: int = 0
    started_at_s: float | None = None
    ended_at_s: float | None = None
    output: Any = None
    routed_to: list[str] = Field(default_factory=list)
    to_user: bool = False
    error: ErrorInfo | None = None
    usage: Usage | None = None
    reused: bool = False
    # what LangSwarm-style leniency did here (a condition that could not be read, a null branch)
    warnings: list[str] = Field(default_factory=list)
    input_preview: str | None = None  # the rendered input as JSON, cut (for people; engine.inputs)
    # a loop step: [started_at_s, ended_at_s] of each iteration (the first 1000), also of a failed one
    iterations: list[list[float]] | None = None
    # seconds the run waited for an unreachable store before this checkpoint was written: the
    # run's deadline excludes them, in this pass and in any that resumes it (engine.outages)
    store_wait_s: float = 0.0


class WaitState(BaseModel):
    """What a parked run waits for (``kind`` event, sleep or ask), since and until when (epoch seconds;
    None: no timeout), and once resolved how: the event's payload, or the timeout. ``number``
    counts the run's parks: it names the timer task, so a stale timer never wakes a later wait."""

    step: str
    kind: str = "event"
    event: str | None = None
    match: dict[str, Any] = Field(default_factory=dict)
    payload_schema: dict[str, Any] | None = None
    since_s: float
    until_s: float | None = None
    number: int = 1
    delivered: bool = False
    timed_out: bool = False
    payload: Any = None
    resolved_at_s: float | None = None
    by: str | None = None  # the principal that delivered the event
    # kind "ask" (an agent's ask_human, engine/asking.py): the question, its choices (None: any
    # answer), and the seconds earlier asks of this run were parked (not part of its deadline)
    question: str | None = None
    choices: list[str] | None = None
    asked_s: float = 0.0

    @property
    def resolved(self) -> bool:
        return self.delivered or self.timed_out


class Progress(BaseModel):
    completed: int = 0
    total: int = 0
    current: list[str] = Field(default_factory=list)

    def describe(self, finished: bool = False) -> str:
        """'Running step 2 of 5: transform' while it runs, '5 of 5 steps ran' once finished."""
        if finished or (self.total and self.completed >= self.total and not self.current):
            return f"{self.completed} of {self.total} steps ran"
        if self.total == 0:
            return "Running its first step"  # progress is written with the first checkpoint
        k = min(self.completed + 1, self.total)
        names = ", ".join(self.current[:3]) + (", ..." if len(self.current) > 3 else "")
        return f"Running step {k} of {self.total}" + (f": {names}" if names else "")


class Execution(BaseModel):
    """One run of one workflow. Transitions are compare-and-set in the store; a finished
    execution never changes again."""

    id: str
    workflow_name: str
    workflow_hash: str
    mode: ExecutionMode = ExecutionMode.SYNC
    input: Any = None
    status: ExecutionStatus = ExecutionStatus.QUEUED
    idempotency_key: str | None = None
    principal: str | None = None
    # The caller's workflow allow-list (None: not limited); checked again as each child starts.
    allowed_workflows: list[str] | None = None
    # The caller's scopes (None: every scope - an admin, the operator, or a run stored before
    # scopes were recorded); what its agents' workflow_executor tool may do (access.Caller.of_run).
    scopes: list[str] | None = None
    # The caller's execution profiles (None: any); ``profile``: where this isolated run goes
    # (its target_instance; the job runner may move it to the profile's fallback once).
    allowed_profiles: list[str] | None = None
    profile: str | None = None
    parent_id: str | None = None
    parent_step: str | None = None
    depth: int = 0
    # publish -> trigger links behind this run (0: not started by a message a run published);
    # what its own publishes carry on as ``wfx_hops`` + 1 (the loop guard of triggers.py)
    trigger_hops: int = 0
    rerun_of: str | None = None
    timeout_s: float | None = None
    budget: Budget | None = None  # from the request and the caller's API key
    progress: Progress = Field(default_factory=Progress)
    steps: dict[str, StepRecord] = Field(default_factory=dict)
    result: Any = None
    error: ErrorInfo | None = None
    usage: Usage = Field(default_factory=Usage)
    cancel_requested: bool = False
    wait: WaitState | None = None  # the current (or last) wait of a run with wait steps
    lease_owner: str | None = None
    lease_expires_at_s: float | None = None
    created_at_s: float
    started_at_s: float | None = None
    ended_at_s: float | None = None
    updated_at_s: float
    version: int = 0

    @property
    def finished(self) -> bool:
        return self.status in TERMINAL

    def describe(self) -> str:
        """Where the run is, in its status's words: 'Queued: 6 steps to run', 'Running step 2
        of 6: transform', '6 of 6 steps ran'."""
        if self.status == ExecutionStatus.QUEUED:
            return f"Queued: {self.progress.total} steps to run" if self.progress.total else "Queued"
        return self.progress.describe(self.finished)


class StoredWorkflow(BaseModel):
    """A workflow definition kept by name, one version per distinct content hash."""

    name: str
    version: int
    hash: str
    document: dict[str, Any]
    source: str | None = None  # the file or folder it was registered from (a path, or None)
    # the YAML (or JSON) text as written, comments and all: what the web view shows; None for a
    # document registered as an object, or from a folder of section files
    source_text: str | None = None
    description: str | None = None
    created_at_s: float

    def step_count(self) -> int:
        """The steps of this workflow (0 when the document has another shape): a run's progress
        says 'of N' from the start, not '0 of 0' until its first checkpoint."""
        try:
            return len(self.document["workflows"][self.name]["steps"])
        except (KeyError, TypeError):
            return 0


class Page(BaseModel):
    items: list[Execution]
    next_cursor: str | None = None
