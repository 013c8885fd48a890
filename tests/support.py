"""Shared test helpers (import as `support`): one bounded wait, used instead of sleeps."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def eventually(probe: Callable[[], T], timeout: float = 10.0, interval: float = 0.01, what: str = "") -> T:
    """Call ``probe`` until it returns something truthy; fail after ``timeout`` seconds."""
    end = time.monotonic() + timeout
    last: T = probe()
    while not last:
        if time.monotonic() > end:
            raise AssertionError(f"timed out after {timeout} s waiting for {what or probe}")
        time.sleep(interval)
        last = probe()
    return last
