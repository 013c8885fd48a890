"""Clocks: the real one, and a fake one that tests advance by hand (no sleeps in tests)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable


class SystemClock:
    """Wall time; ``sleep`` wakes early when ``until()`` turns true (checked every 50 ms)."""

    def now(self) -> float:
        return time.time()

    def sleep(self, seconds: float, until: Callable[[], bool] | None = None) -> bool:
        end = time.monotonic() + max(seconds, 0.0)
        while True:
            if until is not None and until():
                return True
            left = end - time.monotonic()
            if left <= 0:
                return False
            time.sleep(min(left, 0.05))


class FakeClock:
    """Time moves only when someone sleeps or calls ``advance``; records every sleep."""

    def __init__(self, start: float = 1_700_000_000.0) -> None:
        self._now = start
        self._lock = threading.Lock()
        self.sleeps: list[float] = []

    def now(self) -> float:
        with self._lock:
            return self._now

    def advance(self, seconds: float) -> None:
        with self._lock:
            self._now += seconds

    def sleep(self, seconds: float, until: Callable[[], bool] | None = None) -> bool:
        if until is not None and until():
            return True
        self.sleeps.append(seconds)
        self.advance(seconds)
        return bool(until is not None and until())
