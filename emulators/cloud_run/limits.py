"""A container's CPU and memory limits, enforced on a task's process group as Cloud Run does:
the task runs on that many cores (rounded up), and a task whose memory (the resident set of
its whole process tree) passes the limit is killed with SIGKILL (exit code 137)."""

from __future__ import annotations

import contextlib
import math
import os
import re
import signal
import subprocess
import sys
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

_QUANTITY = re.compile(r"^(\d+(?:\.\d+)?)(m|Ki|Mi|Gi|Ti|k|K|M|G|T)?$")
_FACTOR = {None: 1, "Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "k": 10**3, "K": 10**3, "M": 10**6,
           "G": 10**9, "T": 10**12}
POLL_S = 0.05
# Sets the task's cores, then becomes the task: children inherit the affinity.
_LAUNCH = ("import os, sys; n = int(sys.argv[1]); os.sched_setaffinity(0, sorted(os.sched_getaffinity(0))[:n]); "
           "os.execvp(sys.argv[2], sys.argv[2:])")


@dataclass(frozen=True)
class Limits:
    cpus: int | None = None  # whole cores the task may run on
    memory_bytes: int | None = None

    def argv(self, argv: list[str]) -> list[str]:
        """The command that runs ``argv`` within the CPU limit."""
        if not self.cpus or not hasattr(os, "sched_setaffinity"):
            return argv
        return [sys.executable, "-c", _LAUNCH, str(self.cpus), *argv]


def parse(limits: Any) -> Limits:
    """``{"cpu": "1", "memory": "512Mi"}`` (the container's resources.limits) as Limits.
    Errors: ValueError naming the bad quantity."""
    cpu, memory = limits.get("cpu"), limits.get("memory")
    out_cpu = out_memory = None
    if cpu:
        m = _QUANTITY.match(cpu)
        if m is None or m.group(2) not in (None, "m") or float(m.group(1)) <= 0:
            raise ValueError(f"resources.limits.cpu {cpu!r} is not a CPU quantity (e.g. \"1\", \"2\", \"500m\")")
        out_cpu = max(1, math.ceil(float(m.group(1)) / (1000 if m.group(2) == "m" else 1)))
    if memory:
        m = _QUANTITY.match(memory)
        if m is None or m.group(2) == "m" or float(m.group(1)) <= 0:
            raise ValueError(f"resources.limits.memory {memory!r} is not a memory quantity (e.g. \"512Mi\")")
        out_memory = int(float(m.group(1)) * _FACTOR[m.group(2)])
    return Limits(out_cpu, out_memory)


def resident_bytes(pid: int) -> int:
    """The resident memory of ``pid`` and every process below it."""
    total, todo, page = 0, [pid], os.sysconf("SC_PAGE_SIZE")
    while todo:
        current = todo.pop()
        with contextlib.suppress(OSError, ValueError, IndexError):
            total += int(Path(f"/proc/{current}/statm").read_text().split()[1]) * page
            for task in Path(f"/proc/{current}/task").iterdir():
                todo.extend(int(c) for c in (task / "children").read_text().split())
    return total


class MemoryWatch:
    """Kills ``proc``'s group once its resident memory passes ``limit_bytes``; ``used_bytes``
    then says how much it had."""

    def __init__(self, proc: subprocess.Popen[bytes], limit_bytes: int | None) -> None:
        self.proc, self.limit = proc, limit_bytes
        self.used_bytes: int | None = None
        self._stop = threading.Event()
        if limit_bytes:
            threading.Thread(target=self._watch, daemon=True, name=f"cloud-run-memory-{proc.pid}").start()

    def _watch(self) -> None:
        assert self.limit is not None
        while not self._stop.wait(POLL_S) and self.proc.poll() is None:
            used = resident_bytes(self.proc.pid)
            if used > self.limit:
                self.used_bytes = used
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(self.proc.pid, signal.SIGKILL)
                return

    def stop(self) -> None:
        self._stop.set()

    def message(self) -> str | None:
        """Cloud Run's words for a task killed for memory, or None."""
        if self.used_bytes is None or self.limit is None:
            return None
        return (f"Memory limit of {self.limit // 2**20} MiB exceeded with {self.used_bytes // 2**20} MiB used. "
                "Consider increasing the memory limit.")
