"""Step code under a timeout, and the threads that timeouts leave behind.

A Python thread cannot be killed: a step that overruns its timeout is abandoned and keeps its
thread until its own code returns. ``Strays`` runs such code, counts the abandoned threads
still alive (reported by ``/healthz``) and bounds them: at the limit, a step with a timeout
fails at once instead of adding one more.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from ..errors import LimitExceeded


class Strays:
    """The engine's abandoned step threads; ``limit`` bounds how many may be alive at once."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._lock = threading.Lock()
        self._alive: set[int] = set()  # tokens of abandoned threads whose code still runs
        self._next = 0

    def count(self) -> int:
        """Abandoned step threads still running."""
        with self._lock:
            return len(self._alive)

    def call(self, fn: Callable[[], Any], timeout_s: float, name: str, step_id: str) -> tuple[bool, Any]:
        """Run ``fn`` in a thread of its own for at most ``timeout_s``: (True, its result), or
        (False, None) when it overran (its thread is abandoned and counted until it ends).
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

        def target() -> None:
            try:
                box["ok"] = fn()
            except BaseException as exc:  # handed back to the waiting thread below
                box["err"] = exc
            finally:
                with self._lock:  # under the lock: ``abandon`` sees either done or not, never between
                    done.set()
                    self._alive.discard(token)

        threading.Thread(target=target, name=name, daemon=True).start()
        if not done.wait(timeout_s):
            with self._lock:
                if not done.is_set():
                    self._alive.add(token)
                    return False, None
        if "err" in box:
            raise box["err"]
        return True, box["ok"]
