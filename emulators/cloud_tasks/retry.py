"""Retry policy of a queue (or task): backoff schedule and when to give up, as the real service does."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from .timeutil import from_duration


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int  # -1 = unlimited
    min_backoff: float
    max_backoff: float
    max_doublings: int
    max_retry_duration: float  # 0 = unlimited

    @classmethod
    def effective(cls, queue_config: Any, task_config: Any | None = None) -> RetryPolicy:
        """Queue RetryConfig, overridden field by field by a task-level RetryConfig when one is set.

        Both arguments are raw `google.cloud.tasks.v2.RetryConfig` messages; the queue one already
        carries defaults (see queue_config.normalize_queue), so unset task fields fall back to it.
        """
        queue_policy = cls(
            max_attempts=queue_config.max_attempts,
            min_backoff=from_duration(queue_config.min_backoff),
            max_backoff=from_duration(queue_config.max_backoff),
            max_doublings=queue_config.max_doublings,
            max_retry_duration=from_duration(queue_config.max_retry_duration),
        )
        if task_config is None:
            return queue_policy
        return cls(
            max_attempts=task_config.max_attempts or queue_policy.max_attempts,
            min_backoff=(
                from_duration(task_config.min_backoff)
                if task_config.HasField("min_backoff")
                else queue_policy.min_backoff
            ),
            max_backoff=(
                from_duration(task_config.max_backoff)
                if task_config.HasField("max_backoff")
                else queue_policy.max_backoff
            ),
            max_doublings=task_config.max_doublings or queue_policy.max_doublings,
            max_retry_duration=(
                from_duration(task_config.max_retry_duration)
                if task_config.HasField("max_retry_duration")
                else queue_policy.max_retry_duration
            ),
        )

    def backoff(self, failed_attempts: int) -> float:
        """Delay before the next attempt after `failed_attempts` (>= 1) failures.

        The interval starts at min_backoff, doubles max_doublings times, then grows linearly by
        min_backoff * 2**max_doublings, always capped at max_backoff. With min 10s, max 300s and
        3 doublings this yields 10, 20, 40, 80, 160, 240, 300, 300, ... (the API documentation's example).
        """
        retry_index = max(failed_attempts - 1, 0)
        if retry_index <= self.max_doublings:
            interval = self.min_backoff * 2.0**retry_index
        else:
            step = self.min_backoff * 2.0**self.max_doublings
            interval = step * (1 + retry_index - self.max_doublings)
        return min(interval, self.max_backoff)

    def gives_up(self, attempts: int, first_attempt_at: float, now: float) -> bool:
        """True when the task must be dropped after `attempts` dispatches.

        The service stops only when both limits are satisfied: max_attempts reached (trivially true
        for -1 when a duration is set) and max_retry_duration elapsed (trivially true for 0).
        With -1 and 0 the task is retried forever.
        """
        unlimited_attempts = self.max_attempts == -1
        attempts_done = self.max_retry_duration > 0 if unlimited_attempts else attempts >= self.max_attempts
        duration_done = self.max_retry_duration <= 0 or now - first_attempt_at >= self.max_retry_duration
        return attempts_done and duration_done

    def last_attempt_s(self, horizon_s: float = 30 * 86400.0) -> float:
        """When the last attempt of a task that always fails starts, in seconds after its first
        (answer times neglected); ``inf`` when it is still retried after ``horizon_s``."""
        at, attempts = 0.0, 1
        while not self.gives_up(attempts, 0.0, at):
            at += self.backoff(attempts)
            attempts += 1
            if at > horizon_s:
                return math.inf
        return at
