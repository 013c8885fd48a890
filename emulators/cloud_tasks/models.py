"""Mutable in-memory records for queues and tasks, plus the per-queue token bucket.

Records are only touched while holding the TaskStore's lock; everything handed to callers is a copy.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .http_dispatch import HttpCall


@dataclass
class TokenBucket:
    """Classic token bucket: holds up to `capacity` tokens, refilled at `rate` tokens per second."""

    rate: float
    capacity: int
    tokens: float
    updated_at: float

    @classmethod
    def full(cls, rate: float, capacity: int, now: float) -> TokenBucket:
        return cls(rate=rate, capacity=capacity, tokens=float(capacity), updated_at=now)

    def reconfigure(self, rate: float, capacity: int, now: float) -> None:
        self.refill(now)
        self.rate, self.capacity = rate, capacity
        self.tokens = min(self.tokens, float(capacity))

    def refill(self, now: float) -> None:
        if now > self.updated_at:
            self.tokens = min(float(self.capacity), self.tokens + (now - self.updated_at) * self.rate)
        self.updated_at = max(self.updated_at, now)

    def try_take(self, now: float) -> bool:
        self.refill(now)
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return True
        return False

    def next_token_at(self, now: float) -> float:
        self.refill(now)
        return now + max(0.0, 1.0 - self.tokens) / self.rate


@dataclass(eq=False)
class TaskRecord:
    task: Any  # raw google.cloud.tasks.v2.Task, FULL view, kept in sync with the fields below
    seq: int  # creation order: list order and page-token cursor
    schedule_at: float  # epoch seconds of task.schedule_time
    in_flight: int = 0  # attempts currently running (RunTask may overlap a scheduled one)
    execution_count: int = 0  # responses other than 5xx, for X-CloudTasks-TaskExecutionCount
    previous_response: int | None = None  # HTTP status of the last answered attempt
    first_attempt_at: float | None = None


@dataclass(eq=False)
class QueueRecord:
    queue: Any  # raw google.cloud.tasks.v2.Queue, normalized (defaults filled in)
    bucket: TokenBucket
    tasks: dict[str, TaskRecord] = field(default_factory=dict)
    # Names of finished/deleted/purged tasks -> removal time; creating one again is ALREADY_EXISTS.
    tombstones: dict[str, float] = field(default_factory=dict)
    in_flight: int = 0


@dataclass(frozen=True, eq=False)
class DispatchJob:
    """One attempt handed to a worker; the record references detect a task deleted meanwhile."""

    queue_record: QueueRecord
    task_record: TaskRecord
    attempt: int  # value of dispatch_count once this attempt started
    call: HttpCall
