"""Functions the engine tests allow through WFX_FUNCTION_MODULES-style allow-listing.

State lives in files named by the caller (never module globals), so that a test - or a
process killed mid-run - can count exactly how often each step ran.
"""

from __future__ import annotations

import threading
import time
import uuid
from pathlib import Path
from typing import Any

_gates: dict[str, threading.Event] = {}


def mark(log: str, name: str, value: Any = None) -> Any:
    """Append ``name`` to the file ``log`` (one line per call) and return ``value``."""
    with open(log, "a", encoding="utf-8") as f:
        f.write(name + "\n")
    return value if value is not None else name


def slow_mark(log: str, name: str, seconds: float) -> str:
    time.sleep(seconds)
    return str(mark(log, name))


def count(log: str, name: str) -> int:
    p = Path(log)
    return p.read_text().splitlines().count(name) if p.exists() else 0


def fail_until(log: str, name: str, successes_after: int) -> str:
    """Fail (retryably) until called ``successes_after`` times."""
    mark(log, name)
    n = count(log, name)
    if n < successes_after:
        raise RuntimeError(f"attempt {n} fails")
    return f"ok after {n}"


def fail_if(flag: str) -> str:
    """Fail while the file ``flag`` exists."""
    if Path(flag).exists():
        raise ValueError("flag file present")
    return "passed"


def wait_for_file(path: str, timeout: float = 10.0) -> str:
    end = time.monotonic() + timeout
    while not Path(path).exists():
        if time.monotonic() > end:
            raise TimeoutError(path)
        time.sleep(0.01)
    return "released"


def barrier(log: str, name: str, partner: str, timeout: float = 5.0) -> str:
    """Prove parallelism: wait until ``partner`` has started too."""
    mark(log, "start:" + name)
    end = time.monotonic() + timeout
    while count(log, "start:" + partner) == 0:
        if time.monotonic() > end:
            raise TimeoutError(f"{partner} never started while {name} ran")
        time.sleep(0.005)
    return name


def hang(seconds: float = 30.0) -> None:
    time.sleep(seconds)


def environment() -> dict[str, str]:
    """What the process running the step can see: its environment keys and working directory."""
    import os

    return {"keys": ",".join(sorted(os.environ)), "cwd": os.getcwd(), "pid": str(os.getpid())}


def allocate(mb: int) -> int:
    """Hold ``mb`` MiB for a moment (to meet a memory limit)."""
    block = bytearray(mb * 1024 * 1024)
    return len(block) // (1024 * 1024)


def plain_object() -> object:
    """An output no store can hold (not JSON data)."""
    return object()


def gate_then_mark(gate: str, log: str, name: str) -> str:
    """Wait for the file ``gate``, then mark ``name`` (a step still running when a cancel comes)."""
    wait_for_file(gate)
    return str(mark(log, name))


def spin(seconds: float = 30.0) -> int:
    """Burn CPU (for CPU limits)."""
    end = time.monotonic() + seconds
    n = 0
    while time.monotonic() < end:
        n += 1
    return n


_THREAD = threading.local()


def thread_id(step: int = 0) -> list[Any]:
    """[a token of the thread that runs the step (new for every new thread), its ident]; ``step``
    only tells calls apart."""
    if not hasattr(_THREAD, "token"):
        _THREAD.token = uuid.uuid4().hex
    return [_THREAD.token, threading.get_ident()]
