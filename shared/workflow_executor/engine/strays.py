"""Step code under a timeout, and the threads that timeouts leave behind.

A Python thread cannot be killed: a step that overruns its timeout is abandoned and keeps its
thread until its own code returns. ``Strays`` runs such code, counts the abandoned threads
still alive (reported by ``/healthz``) and bounds them: at the limit, a step with a timeout
fails at once instead of adding one more.
"""

from __future__ import annotations

import contextvars
import queue
import threading
from collections.abc import Callable
from typing import Any

from ..errors import LimitExceeded

MAX_IDLE = 8    # worker threads kept for the next step with a timeout
IDLE_S = 30.0   # an idle worker ends after this long


class Strays:
    """The engine's abandoned step threads; ``limit`` bounds how many may be alive at once."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._lock = threading.Lock()
        self._alive: set[int] = set()  # tokens of abandoned threads whose code still runs
        self._next = 0
        self._idle: list[queue.SimpleQueue[Callable[[], None] | None]] = []  # inboxes of idle workers

    def count(self) -> int:
        """Abandoned step threads still running."""
        with self._lock:
            return len(self._alive)

    def call(self, fn: Callable[[], Any], timeout_s: float, name: str, step_id: str) -> tuple[bool, Any]:
        """Run ``fn`` in a worker thread for at most ``timeout_s``: (True, its result), or (False,
        None) when it overran (its thread is abandoned and counted until ``fn`` ends; then it
        serves again).
        Raises what ``fn`` raised; LimitExceeded when the limit of abandoned threads is reached."""
        with self._lock:
            if len(self._alive) >= self.limit:
                raise LimitExceeded(
                    f"step '{step_id}' was not started: {len(self._alive)} timed-out steps are still running "
                    f"in this process (the limit is {self.limit})",
                    fix="wait for them to end or restart the server; make slow steps return, or raise "
                        "WFX_MAX_STRAY_THREADS", step=step_id)
            self._next += 1
            token = self._next
        box: dict[str, Any] = {}
        done = threading.Event()

        def job() -> None:
            threading.current_thread().name = name
            try:
                # a fresh context, as a new thread would have: nothing a step sets leaks to the next
                box["ok"] = contextvars.Context().run(fn)
            except BaseException as exc:  # handed back to the waiting thread below
                box["err"] = exc
            finally:
                with self._lock:  # under the lock: the waiter sees either done or not, never between
                    done.set()
                    self._alive.discard(token)

        self._hand(job)
        if not done.wait(timeout_s):
            with self._lock:
                if not done.is_set():
                    self._alive.add(token)
                    return False, None
        if "err" in box:
            raise box["err"]
        return True, box["ok"]

    def _hand(self, job: Callable[[], None]) -> None:
        """Give ``job`` to an idle worker thread, or to a new one (a handoff costs about half of a
        thread start here, and every step of a run with a deadline goes through it)."""
        with self._lock:
            inbox = self._idle.pop() if self._idle else None
        if inbox is None:
            inbox = queue.SimpleQueue()
            threading.Thread(target=self._work, args=(inbox,), daemon=True).start()
        inbox.put(job)

    def _work(self, inbox: queue.SimpleQueue[Callable[[], None] | None]) -> None:
        """A worker: run jobs; when done, wait idle for the next one, or end after IDLE_S (or when
        MAX_IDLE others already wait)."""
        while True:
            try:
                job = inbox.get(timeout=IDLE_S)
            except queue.Empty:
                with self._lock:
                    if inbox in self._idle:  # nobody picked it meanwhile: leave
                        self._idle.remove(inbox)
                        return
                continue  # picked just now: its job is on the way
            if job is None:
                return
            job()
            with self._lock:
                if len(self._idle) >= MAX_IDLE:
                    return
                self._idle.append(inbox)
