"""Dispatch loop: one scheduler thread waiting on the store's condition, plus a small pool of HTTP workers."""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable

from google.rpc import code_pb2

from .http_dispatch import Outcome, send
from .models import DispatchJob
from .store import TaskStore

log = logging.getLogger(__name__)

# The wake time computed from the token bucket can land a hair before the token is really there.
_WAKE_SLACK_S = 1e-4


class WorkerPool:
    """Fixed set of daemon threads, so an attempt stuck on a slow target never blocks interpreter exit
    (concurrent.futures joins its workers at exit, which could take up to a 30-minute dispatch deadline)."""

    def __init__(self, size: int, name: str) -> None:
        self._work: queue.SimpleQueue[Callable[[], None] | None] = queue.SimpleQueue()
        self._threads = [
            threading.Thread(target=self._run, name=f"{name}-{index}", daemon=True) for index in range(size)
        ]

    def start(self) -> None:
        for thread in self._threads:
            thread.start()

    def submit(self, work: Callable[[], None]) -> None:
        self._work.put(work)

    def shutdown(self) -> None:
        for _ in self._threads:
            self._work.put(None)

    def _run(self) -> None:
        while (work := self._work.get()) is not None:
            try:
                work()
            except Exception:  # a bug in one attempt must not kill the worker
                log.exception("dispatch worker failed")


class Scheduler:
    def __init__(self, store: TaskStore, workers: int) -> None:
        self._store = store
        self._pool = WorkerPool(workers, "cloud-tasks-dispatch")
        self._thread = threading.Thread(target=self._run, name="cloud-tasks-scheduler", daemon=True)

    def start(self) -> None:
        self._pool.start()
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._store.close()
        self._thread.join(timeout)
        self._pool.shutdown()

    def submit(self, job: DispatchJob) -> None:
        """Run an attempt the store already started (RunTask uses this directly)."""
        self._pool.submit(lambda: self._execute(job))

    def _run(self) -> None:
        store = self._store
        with store.cond:
            while not store.closed:
                jobs, wake_at = store.take_due(store.now())
                for job in jobs:
                    self.submit(job)
                # No polling: sleep until the next schedule_time/token, or until a state change notifies.
                timeout = None if wake_at is None else max(0.0, wake_at - store.now()) + _WAKE_SLACK_S
                store.cond.wait(timeout)

    def _execute(self, job: DispatchJob) -> None:
        call = job.call
        try:
            outcome = send(call)
        except Exception as exc:  # never leave the attempt counted as in flight
            log.exception("unexpected error dispatching %s", call.url)
            outcome = Outcome(None, code_pb2.INTERNAL, f"emulator error: {exc!r}")
        log.info(
            "%s %s -> %s (%s)",
            call.method,
            call.url,
            outcome.http_status if outcome.http_status is not None else "no response",
            outcome.message,
        )
        self._store.complete(job, outcome)
