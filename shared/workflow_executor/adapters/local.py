"""Local twins of the cloud transports: an in-process event bus and a thread-pool task queue
that calls the same worker handler the Cloud Tasks target calls."""

from __future__ import annotations

import heapq
import logging
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from ..ports import Event, Listener, TaskRequest

log = logging.getLogger(__name__)


class LocalEventBus:
    """Delivers each event synchronously to every subscribed listener; a failing listener is
    logged and skipped (events are projections, never the source of truth)."""

    def __init__(self) -> None:
        self._listeners: list[Listener] = []

    def subscribe(self, listener: Listener) -> None:
        self._listeners.append(listener)

    def publish(self, event: Event) -> None:
        for listener in self._listeners:
            try:
                listener(event)
            except Exception:  # one bad listener must not stop the others
                log.exception("event listener failed on %s", event.type)


class LocalTaskQueue:
    """A thread pool; a request named like one already accepted is dropped (the dedup
    Cloud Tasks gives by task name). Waiting requests are taken fairly: one of each group
    (workflow) in turn, so a flood of one workflow cannot starve the others."""

    def __init__(self, handler: Callable[[TaskRequest], object], workers: int = 4) -> None:
        self._handler = handler
        self._workers = max(workers, 1)
        self._pool = ThreadPoolExecutor(self._workers, thread_name_prefix="wfx-queue")
        self._ready: OrderedDict[str, deque[TaskRequest]] = OrderedDict()
        self._busy = 0
        self._seen: set[tuple[str, int]] = set()
        self._lock = threading.Lock()
        self._cancelled: set[str] = set()
        # Delayed requests (retries, the timers of parked runs) in one heap served by one thread
        # started on first use: a hundred waiting runs hold no hundred threads.
        self._due: list[tuple[float, int, TaskRequest]] = []
        self._due_seq = 0
        self._due_cv = threading.Condition(self._lock)
        self._timer_thread: threading.Thread | None = None
        self._closing = False

    def enqueue(self, request: TaskRequest) -> None:
        key = (request.execution_id, request.segment)
        with self._lock:
            if key in self._seen:
                return
            self._seen.add(key)
        if request.delay_s > 0:
            with self._lock:
                self._due_seq += 1
                heapq.heappush(self._due, (time.monotonic() + request.delay_s, self._due_seq, request))
                if self._timer_thread is None:
                    self._timer_thread = threading.Thread(target=self._timers, name="wfx-queue-timers", daemon=True)
                    self._timer_thread.start()
                self._due_cv.notify()
        else:
            self._submit(request)

    def _timers(self) -> None:
        """Submit each delayed request when it is due (the one timer thread)."""
        while True:
            with self._lock:
                while not self._closing and (not self._due or self._due[0][0] > time.monotonic()):
                    self._due_cv.wait(None if not self._due else self._due[0][0] - time.monotonic())
                if self._closing:
                    return
                request = heapq.heappop(self._due)[2]
            self._submit(request)

    def delayed(self) -> int:
        """How many delayed requests wait for their time (the timers of parked runs among them)."""
        with self._lock:
            return len(self._due)

    def threads(self) -> int:
        """The threads this queue holds now: its workers in flight and its timer thread."""
        with self._lock:
            return self._busy + (1 if self._timer_thread is not None else 0)

    def _submit(self, request: TaskRequest) -> None:
        if request.execution_id in self._cancelled:
            return
        with self._lock:
            self._ready.setdefault(request.group or request.execution_id, deque()).append(request)
            self._pump()

    def _pump(self) -> None:
        """Hand waiting requests to free workers, a group at a time (caller holds the lock)."""
        while self._busy < self._workers and self._ready and not self._closing:
            group, waiting = next(iter(self._ready.items()))
            request = waiting.popleft()
            if waiting:
                self._ready.move_to_end(group)  # its next request waits for the other groups' turn
            else:
                del self._ready[group]
            if request.execution_id in self._cancelled:  # dropped unseen: forget it as a delivery would
                self._seen.discard((request.execution_id, request.segment))
                self._cancelled.discard(request.execution_id)
                continue
            self._busy += 1
            self._pool.submit(self._deliver, request)

    def _deliver(self, request: TaskRequest) -> None:
        try:
            self._handler(request)
        except Exception:  # the handler maps errors itself; this is a last guard for the pool
            if self._closing:  # the store closed under a run still in flight
                log.warning("task for %s stopped by shutdown; the run resumes at the next start",
                            request.execution_id)
            else:
                log.exception("task for %s failed", request.execution_id)
        finally:
            # Dedup guards against concurrent duplicates; once delivered, a repeat finds the
            # execution finished (a no-op), so the name can be forgotten (no unbounded growth).
            with self._lock:
                self._seen.discard((request.execution_id, request.segment))
                self._cancelled.discard(request.execution_id)
                self._busy -= 1
                self._pump()

    def cancel(self, execution_id: str) -> None:
        self._cancelled.add(execution_id)

    def close(self, wait: bool = True) -> None:
        """Stop; with ``wait=False`` runs in flight are left (they resume at the next start)."""
        with self._lock:
            self._closing = True
            self._due.clear()  # timers of parked runs are armed again at the next start
            self._ready.clear()  # never started: they resume at the next start
            self._due_cv.notify_all()
        self._pool.shutdown(wait=wait, cancel_futures=not wait)
