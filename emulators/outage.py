"""Outages for tests: hold a process group stopped (SIGSTOP) for a while, as a hung service
is, and let it go on (SIGCONT) afterwards. Only groups the caller started are ever signalled."""

from __future__ import annotations

import contextlib
import os
import signal
from collections.abc import Iterator


@contextlib.contextmanager
def paused(pgid: int) -> Iterator[None]:
    """SIGSTOP the process group ``pgid`` for the block; SIGCONT it on the way out, whatever
    happened inside (a test that fails must not leave a stopped emulator behind)."""
    os.killpg(pgid, signal.SIGSTOP)
    try:
        yield
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pgid, signal.SIGCONT)
