"""Runs the tasks of one job execution as local process groups: the task timeout and the
container's CPU and memory limits are enforced, failed attempts are retried up to
``max_retries``, and a cancel stops every running group."""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from .limits import Limits, MemoryWatch

log = logging.getLogger(__name__)

# What a container image would provide besides the job's own env: a PATH and a HOME.
DEFAULT_PATH = "/usr/local/bin:/usr/bin:/bin"


@dataclass
class TaskPlan:
    """What every task of one execution runs, fixed when the execution is created."""

    execution_id: str  # short id (CLOUD_RUN_EXECUTION)
    job_id: str
    argv: list[str]
    env: dict[str, str]
    working_dir: str
    task_count: int
    parallelism: int
    max_retries: int
    timeout_s: float
    log_path: Path
    limits: Limits = field(default_factory=Limits)


@dataclass
class TaskOutcome:
    index: int
    status: str  # succeeded | failed | cancelled
    exit_code: int | None = None
    message: str = ""


@dataclass
class Progress:
    """Counters and outcomes, read under the owner's lock."""

    running: int = 0
    retried: int = 0
    started_at: float | None = None
    outcomes: list[TaskOutcome] = field(default_factory=list)


class TaskRunner:
    """Runs one execution's tasks; ``on_change`` is called (under no lock) after every change."""

    def __init__(self, plan: TaskPlan, lock: threading.Lock, on_change: Callable[[], None],
                 kill_grace_s: float) -> None:
        self.plan = plan
        self.lock = lock
        self.on_change = on_change
        self.kill_grace_s = kill_grace_s
        self.progress = Progress()
        self.cancelled = False
        self._procs: dict[int, subprocess.Popen[bytes]] = {}
        self._slots = threading.Semaphore(plan.parallelism or plan.task_count)
        self.done = threading.Event()

    def start(self) -> None:
        threading.Thread(target=self._run_all, name=f"cloud-run-{self.plan.execution_id}", daemon=True).start()

    def cancel(self) -> None:
        """Stop every running task group (SIGTERM, then SIGKILL after the grace); start no more."""
        with self.lock:
            self.cancelled = True
            procs = list(self._procs.values())
        for proc in procs:
            _signal_group(proc, signal.SIGTERM)
            timer = threading.Timer(self.kill_grace_s, _signal_group, args=(proc, signal.SIGKILL))
            timer.daemon = True
            timer.start()

    def _run_all(self) -> None:
        threads = [threading.Thread(target=self._run_task, args=(i,), daemon=True,
                                    name=f"cloud-run-{self.plan.execution_id}-task{i}")
                   for i in range(self.plan.task_count)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        self.done.set()
        self.on_change()

    def _run_task(self, index: int) -> None:
        with self._slots:
            outcome = self._attempts(index)
        with self.lock:
            self.progress.outcomes.append(outcome)
        self.on_change()

    def _attempts(self, index: int) -> TaskOutcome:
        attempt = 0
        while True:
            with self.lock:
                if self.cancelled:
                    return TaskOutcome(index, "cancelled", message="The task was cancelled.")
            code, timed_out, killed_why = self._attempt(index, attempt)
            with self.lock:
                if self.cancelled:
                    return TaskOutcome(index, "cancelled", code, "The task was cancelled.")
                if code == 0 and not timed_out:
                    return TaskOutcome(index, "succeeded", 0)
                if attempt < self.plan.max_retries:
                    attempt += 1
                    self.progress.retried += 1
                    retry = True
                else:
                    retry = False
            if not retry:
                task = f"{self.plan.execution_id}-task{index}"
                why = ("The configured timeout was reached." if timed_out
                       else killed_why or f"The container exited with an exit code of {code}.")
                return TaskOutcome(index, "failed", code, f"Task {task} failed with message: {why}")
            self.on_change()

    def _attempt(self, index: int, attempt: int) -> tuple[int, bool, str | None]:
        """Run one attempt; returns (exit code as Cloud Run reports it, timed out, why the
        platform killed it: its memory limit)."""
        plan = self.plan
        home = tempfile.mkdtemp(prefix=f"cloud-run-{plan.execution_id}-{index}-")
        env = {"PATH": DEFAULT_PATH, "HOME": home, **plan.env,
               "CLOUD_RUN_JOB": plan.job_id, "CLOUD_RUN_EXECUTION": plan.execution_id,
               "CLOUD_RUN_TASK_INDEX": str(index), "CLOUD_RUN_TASK_ATTEMPT": str(attempt),
               "CLOUD_RUN_TASK_COUNT": str(plan.task_count)}
        with open(plan.log_path, "ab") as out:
            out.write(f"--- task {index} attempt {attempt} ---\n".encode())
            out.flush()
            try:
                proc = subprocess.Popen(plan.limits.argv(plan.argv), env=env, cwd=plan.working_dir or home,
                                        stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                                        start_new_session=True)
            except OSError as exc:  # a missing command fails the attempt like a container that cannot start
                out.write(f"cannot start {plan.argv[0]!r}: {exc}\n".encode())
                shutil.rmtree(home, ignore_errors=True)
                return 127, False, None
        memory = MemoryWatch(proc, plan.limits.memory_bytes)
        with self.lock:
            self._procs[index] = proc
            self.progress.running += 1
            if self.progress.started_at is None:
                self.progress.started_at = time.time()
            cancelled = self.cancelled
        if cancelled:  # a cancel that came between the check and the start
            _signal_group(proc, signal.SIGKILL)
        self.on_change()
        timed_out = False
        try:
            code = proc.wait(timeout=plan.timeout_s)
        except subprocess.TimeoutExpired:
            timed_out = True
            _signal_group(proc, signal.SIGTERM)
            try:
                code = proc.wait(timeout=self.kill_grace_s)
            except subprocess.TimeoutExpired:
                _signal_group(proc, signal.SIGKILL)
                code = proc.wait()
        finally:
            memory.stop()
            # whatever the task started goes with it, as when a container stops
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(proc.pid, signal.SIGKILL)
            shutil.rmtree(home, ignore_errors=True)
            with self.lock:
                self._procs.pop(index, None)
                self.progress.running -= 1
        return (128 - code if code < 0 else code), timed_out, memory.message()


def _signal_group(proc: subprocess.Popen[bytes], sig: signal.Signals) -> None:
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, sig)
