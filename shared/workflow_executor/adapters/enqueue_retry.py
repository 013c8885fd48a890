"""Prompt retries of task enqueues that failed: one background thread tries each again with
backoff for a bounded time; what is still not queued then is left to the sweeper (sweeper.py)."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from ..ports import TaskRequest

log = logging.getLogger(__name__)

BACKOFF_S, MAX_BACKOFF_S = 0.2, 5.0  # the first retry's delay, doubling up to the cap


@dataclass
class _Pending:
    request: TaskRequest
    since: float  # monotonic time of the first failure
    due: float
    delay: float


class EnqueueRetrier:
    """Holds failed enqueues and tries them again. ``attempt(request)`` returns when the task is
    queued (or already was) and raises when it is not; ``retry_for_s`` bounds how long one
    request is retried; at most ``max_pending`` are held (past it a new one is left to the sweeper)."""

    def __init__(self, attempt: Callable[[TaskRequest], None], *, retry_for_s: float,
                 max_pending: int = 10_000) -> None:
        self._attempt = attempt
        self._retry_for_s = retry_for_s
        self._max = max_pending
        self._pending: dict[tuple[str, int], _Pending] = {}
        self._cond = threading.Condition()
        self._closed = False
        self._thread: threading.Thread | None = None
        self.queued = self.given_up = 0  # counts: queued by a retry, left to the sweeper

    def add(self, request: TaskRequest) -> None:
        """Retry ``request`` soon (the same one twice is held once)."""
        key = (request.execution_id, request.segment)
        now = time.monotonic()
        with self._cond:
            if self._closed or key in self._pending:
                return
            if len(self._pending) >= self._max:
                self.given_up += 1
                log.warning("%d enqueues are being retried already: %s is left to the sweeper",
                            self._max, request.execution_id)
                return
            self._pending[key] = _Pending(request, now, now + BACKOFF_S, BACKOFF_S)
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="wfx-enqueue-retry", daemon=True)
                self._thread.start()
            self._cond.notify_all()

    def discard(self, execution_id: str) -> None:
        """Retry nothing more for ``execution_id`` (it was cancelled)."""
        with self._cond:
            for key in [k for k in self._pending if k[0] == execution_id]:
                del self._pending[key]

    def pending(self) -> int:
        with self._cond:
            return len(self._pending)

    def close(self) -> None:
        """Stop retrying; what is still held is left to the sweeper (logged)."""
        with self._cond:
            self._closed = True
            left = len(self._pending)
            self._pending.clear()
            self._cond.notify_all()
        if left:
            log.warning("%d enqueues were still being retried at close: left to the sweeper", left)
        if self._thread is not None:
            self._thread.join(5)

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._closed:
                    now = time.monotonic()
                    due = [p for p in self._pending.values() if p.due <= now]
                    if due:
                        break
                    nearest = min((p.due for p in self._pending.values()), default=now + 60)
                    self._cond.wait(nearest - now)
                if self._closed:
                    return
            for p in sorted(due, key=lambda p: p.since):  # oldest first: queued in submit order
                self._try(p)

    def _try(self, p: _Pending) -> None:
        key = (p.request.execution_id, p.request.segment)
        try:
            self._attempt(p.request)
        except Exception as exc:  # the thread must survive anything: retried or given up below
            now = time.monotonic()
            with self._cond:
                if self._pending.get(key) is not p:
                    return  # discarded meanwhile
                if now - p.since >= self._retry_for_s:
                    del self._pending[key]
                    self.given_up += 1
                    log.error("enqueue of %s failed for %.0f s (%s): left to the sweeper",
                              p.request.execution_id, now - p.since, exc)
                    return
                p.delay = min(p.delay * 2, MAX_BACKOFF_S)
                p.due = now + p.delay
            return
        with self._cond:
            if self._pending.get(key) is p:
                del self._pending[key]
            self.queued += 1
        log.info("execution %s queued by a retry after %.1f s", p.request.execution_id, time.monotonic() - p.since)
