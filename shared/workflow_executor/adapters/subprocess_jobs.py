"""Isolated mode on one machine: each execution runs in its own process, in its own process
group and temporary directory, with memory/CPU limits and a scrubbed environment (the local
twin of a Cloud Run job). An execution profile sets the limits (memory, cores, wall time, runs
at once); a job killed by a signal resumes once on the profile's fallback."""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import deque

from .. import operator_code, placement
from ..errors import Conflict
from ..models import ErrorInfo, ExecutionStatus
from ..ports import ExecutionStore
from ..profiles import Profile
from ..settings import Settings

logger = logging.getLogger(__name__)

# What a job inherits: its own settings and the bare minimum to start Python. Secrets and
# everything else of the server's environment stay behind.
_KEEP = ("PATH", "PYTHONPATH", "LANG", "LC_ALL", "TZ", "VIRTUAL_ENV")


def job_environment(settings: Settings, environ: dict[str, str]) -> dict[str, str]:
    env = {k: v for k, v in environ.items() if k in _KEEP or k.startswith("WFX_")}
    env.pop("WFX_API_KEYS", None)
    env.pop("WFX_WORKER_SECRET", None)
    env.update({k: v for k, v in settings.environ.items()})
    pythonpath = operator_code.with_pythonpath(settings, env.get("PYTHONPATH"))  # the operator's own modules
    if pythonpath:
        env["PYTHONPATH"] = pythonpath
    env["WFX_HOME"] = str(settings.home.resolve())
    env.setdefault("WFX_FILES_ROOT", str((settings.home / "files").resolve()))
    # tools: the job runs in its own temporary directory, so roots must not be relative; the
    # variables tools' headers may name go along (only those the operator allowed)
    env.update(dict(settings.tools.header_env))
    if settings.tools.fs_roots:
        env["WFX_FS_ROOTS"] = ",".join(f"{name}={path.resolve()}" for name, path in settings.tools.fs_roots)
    return env


class SubprocessJobRunner:
    """Starts ``python -m workflow_executor.job ID`` detached and watches it: when the job
    exits, its process group is killed, its directory removed, and an execution it left
    unfinished (killed by a limit or a signal, or crashed) ends ``failed`` with the cause.
    ``cancel`` stops the group after a short grace."""

    def __init__(self, settings: Settings, store: ExecutionStore | None = None, grace_s: float = 2.0) -> None:
        self.settings = settings
        self.store = store
        self.grace_s = grace_s
        self.dir = settings.home / "jobs"
        self._lock = threading.Lock()
        self._live: dict[str, int] = {}  # runs of each profile with a job now
        self._waiting: dict[str, deque[str]] = {}  # runs waiting for a slot of their profile

    def start(self, execution_id: str) -> str:
        """Start the job on the run's profile (where its last start went); a profile at its
        ``max_parallel`` keeps the run queued until one of its jobs ends. Returns the pid (or
        ``waiting:<profile>``)."""
        head = self.store.get_head(execution_id) if self.store is not None else None
        name = placement.current(head, self.store) if head is not None and self.store is not None else None
        return self._start(execution_id, self.settings.profiles.get(name) if name else None)

    def _start(self, execution_id: str, profile: Profile | None, recovered_from: str | None = None,
               cause: str | None = None) -> str:
        if profile is not None:
            with self._lock:
                if profile.max_parallel and self._live.get(profile.name, 0) >= profile.max_parallel:
                    self._waiting.setdefault(profile.name, deque()).append(execution_id)
                    return f"waiting:{profile.name}"
                self._live[profile.name] = self._live.get(profile.name, 0) + 1
        self.dir.mkdir(parents=True, exist_ok=True)
        workdir = tempfile.mkdtemp(prefix=f"wfx-job-{execution_id[:12]}-")
        env = job_environment(self.settings, dict(os.environ))
        env["HOME"] = env["TMPDIR"] = workdir
        memory = profile.memory_mb if profile is not None and profile.memory_mb else self.settings.job_memory_mb
        argv = [sys.executable, "-m", "workflow_executor.job", execution_id, "--workdir", workdir,
                "--memory-mb", str(memory), "--cpu-s", str(self.settings.job_cpu_s), "--resume"]
        if profile is not None:
            env["WFX_PROFILE"] = profile.name  # the operator's code may ask where it runs
            argv += ["--cpus", str(profile.cpu)] if profile.cpu else []
        log = open(self.dir / f"{execution_id}.log", "ab")  # noqa: SIM115 - handed to the child
        try:
            # The job lowers its own limits first thing (no preexec_fn: unsafe in a threaded server).
            proc = subprocess.Popen(argv, cwd=workdir, env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                                    start_new_session=True)
        except OSError:
            self._freed(profile)
            raise
        finally:
            log.close()
        if profile is not None and self.store is not None:
            placement.record(self.store, execution_id, profile.name, job=f"pid:{proc.pid}",
                             recovered_from=recovered_from, cause=cause)
        # A reaper per job: no zombies in a long-lived server, and the Popen stays referenced
        # until its process ended.
        pid_file = self.dir / f"{execution_id}.pid"
        pid_file.write_text(str(proc.pid))

        def reap() -> None:
            timed_out = False
            try:
                code = proc.wait(timeout=profile.timeout_s if profile is not None else None)
            except subprocess.TimeoutExpired:  # the profile's wall time: the job is stopped like a task
                timed_out = True
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(proc.pid, signal.SIGKILL)
                code = proc.wait()
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(proc.pid, signal.SIGKILL)  # whatever the job's steps started goes too
            pid_file.unlink(missing_ok=True)  # a stale pid could name another process later
            shutil.rmtree(workdir, ignore_errors=True)
            try:
                self._freed(profile)
                self._ended(execution_id, proc.pid, code, timed_out)
            except Exception:  # a watcher thread: log, never raise into nothing
                logger.exception("could not end execution %s after its job exited", execution_id)

        threading.Thread(target=reap, name=f"wfx-reap-{proc.pid}", daemon=True).start()
        return str(proc.pid)

    def _ended(self, execution_id: str, pid: int, code: int, timed_out: bool = False) -> None:
        """End the execution the job left unfinished, with the cause; leave it alone when it
        finished, or when another live runner holds it (a duplicate job that found it busy)."""
        if self.store is None:
            return
        ex = self.store.get_head(execution_id)
        if ex is None or ex.finished:
            return
        owner_pid = (ex.lease_owner or "").split(":")[1:2]
        if ex.lease_owner and owner_pid != [str(pid)] and ex.status == ExecutionStatus.RUNNING:
            return
        if timed_out:
            with contextlib.suppress(Conflict):
                self.store.finish(execution_id, None, ExecutionStatus.TIMEOUT, now_s=time.time(), error=ErrorInfo(
                    code="timeout", message="the isolated job reached its profile's timeout_s and was stopped"))
            return
        cause = self._cause(code)
        killed = code < 0 and not ex.cancel_requested
        target = placement.fallback(self.settings, self.store, ex) if killed else None
        if target is not None:  # killed (memory, a limit, an operator): resume on the fallback, once
            logger.warning("isolated execution %s resumes on profile %s: %s", execution_id, target.name, cause)
            self._start(execution_id, target, recovered_from=placement.current(ex, self.store), cause=cause)
            return
        status = ExecutionStatus.CANCELLED if ex.cancel_requested else ExecutionStatus.FAILED
        with contextlib.suppress(Conflict):
            self.store.finish(execution_id, None, status, now_s=time.time(), error=ErrorInfo(
                code="cancelled" if status == ExecutionStatus.CANCELLED else "job_failed",
                message=f"the isolated job ended before its execution did: {cause}"))
        logger.warning("isolated execution %s ended %s: %s", execution_id, status.value, cause)

    def _freed(self, profile: Profile | None) -> None:
        """A job of ``profile`` ended: the next run waiting for that profile starts."""
        if profile is None:
            return
        with self._lock:
            self._live[profile.name] = max(0, self._live.get(profile.name, 0) - 1)
            waiting = self._waiting.get(profile.name)
            following = waiting.popleft() if waiting else None
        if following is not None:
            try:
                self.start(following)
            except Exception:  # a watcher thread: log; the sweeper starts it again
                logger.exception("could not start waiting execution %s", following)

    def _cause(self, code: int) -> str:
        if code < 0:
            sig = signal.Signals(-code)
            if sig == signal.SIGXCPU:
                return f"killed by {sig.name}: its CPU limit of {self.settings.job_cpu_s} s (WFX_JOB_CPU_S)"
            if sig == signal.SIGKILL:
                return (f"killed by SIGKILL (the CPU hard limit of {self.settings.job_cpu_s} s, the system's "
                        "memory killer, or an operator)")
            return f"killed by {sig.name}"
        if code == 1:
            return (f"exited with code 1 (a crash; MemoryError means its memory limit of "
                    f"{self.settings.job_memory_mb} MB, WFX_JOB_MEMORY_MB; see jobs/<id>.log)")
        return f"exited with code {code}"

    def cancel(self, execution_id: str) -> None:
        """The run stops itself at the next step boundary when it sees the cancel; a job stuck
        inside a step gets SIGTERM after ``grace_s`` and SIGKILL after twice that (its watcher
        then removes its directory)."""
        pid_file = self.dir / f"{execution_id}.pid"
        try:
            pid = int(pid_file.read_text())
        except (OSError, ValueError):
            return

        def stop(sig: signal.Signals) -> None:
            if pid_file.exists():  # still the same job (its watcher removes the file when it ends)
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(pid, sig)

        for delay, sig in ((self.grace_s, signal.SIGTERM), (2 * self.grace_s, signal.SIGKILL)):
            timer = threading.Timer(delay, stop, args=(sig,))
            timer.daemon = True
            timer.start()
