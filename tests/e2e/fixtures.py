"""Step functions the end-to-end and integration workflows run (allowed through
WFX_FUNCTION_MODULES=tests.e2e.fixtures): they leave traces in files the tests read."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any


def append_line(path: str, line: str, value: Any = None) -> Any:
    """Append ``line`` to the file at ``path``; returns ``value`` (or the line)."""
    with open(path, "a", encoding="utf-8") as f:
        f.write(line + "\n")
    return line if value is None else value


def wait_for_file(path: str, log: str, line: str, timeout: float = 60.0) -> str:
    """Log ``line`` to ``log``, then block until ``path`` exists: holds a run mid-step so a test
    can kill its process there."""
    append_line(log, line)
    end = time.monotonic() + timeout
    while not Path(path).exists():
        if time.monotonic() > end:
            raise TimeoutError(f"{path} did not appear within {timeout} s")
        time.sleep(0.01)
    return line


def pause(seconds: float) -> float:
    """Sleep ``seconds`` (a long step, for the hand-over test)."""
    time.sleep(seconds)
    return seconds


def environment() -> dict[str, str]:
    """The running process's environment (what an isolated job can see)."""
    import os

    return dict(os.environ)


def library_and_exit_mark(path: str) -> str:
    """Where the running process's library comes from; the process writes ``path`` in its exit
    handlers (whether an isolated job runs them as it ends)."""
    import atexit

    import workflow_executor

    atexit.register(lambda: Path(path).write_text("exited"))
    return str(Path(workflow_executor.__file__).resolve().parent)
