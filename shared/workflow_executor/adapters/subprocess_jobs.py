"""Isolated mode on one machine: each execution runs in its own process, in its own process
group and temporary directory, with memory/CPU limits and a scrubbed environment (the local
twin of a Cloud Run job)."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import tempfile
import threading

from ..settings import Settings

# What a job inherits: its own settings and the bare minimum to start Python. Secrets and
# everything else of the server's environment stay behind.
_KEEP = ("PATH", "PYTHONPATH", "LANG", "LC_ALL", "TZ", "VIRTUAL_ENV")


def job_environment(settings: Settings, environ: dict[str, str]) -> dict[str, str]:
    env = {k: v for k, v in environ.items() if k in _KEEP or k.startswith("WFX_")}
    env.pop("WFX_API_KEYS", None)
    env.pop("WFX_WORKER_SECRET", None)
    env.update({k: v for k, v in settings.environ.items()})
    env["WFX_HOME"] = str(settings.home.resolve())
    env.setdefault("WFX_FILES_ROOT", str((settings.home / "files").resolve()))
    # tools: the job runs in its own temporary directory, so roots must not be relative; the
    # variables tools' headers may name go along (only those the operator allowed)
    env.update(dict(settings.tools.header_env))
    if settings.tools.fs_roots:
        env["WFX_FS_ROOTS"] = ",".join(f"{name}={path.resolve()}" for name, path in settings.tools.fs_roots)
    return env


class SubprocessJobRunner:
    """Starts ``python -m workflow_executor.job ID`` detached; ``cancel`` stops its group."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.dir = settings.home / "jobs"

    def start(self, execution_id: str) -> str:
        self.dir.mkdir(parents=True, exist_ok=True)
        workdir = tempfile.mkdtemp(prefix=f"wfx-job-{execution_id[:12]}-")
        env = job_environment(self.settings, dict(os.environ))
        env["HOME"] = env["TMPDIR"] = workdir
        log = open(self.dir / f"{execution_id}.log", "ab")  # noqa: SIM115 - handed to the child
        try:
            proc = subprocess.Popen(
                # The job lowers its own limits first thing (no preexec_fn: unsafe in a threaded server).
                [sys.executable, "-m", "workflow_executor.job", execution_id, "--workdir", workdir,
                 "--memory-mb", str(self.settings.job_memory_mb), "--cpu-s", str(self.settings.job_cpu_s)],
                cwd=workdir, env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True)
        finally:
            log.close()
        # A reaper per job: no zombies in a long-lived server, and the Popen stays referenced
        # until its process ended.
        pid_file = self.dir / f"{execution_id}.pid"
        pid_file.write_text(str(proc.pid))

        def reap() -> None:
            proc.wait()
            pid_file.unlink(missing_ok=True)  # a stale pid could name another process later

        threading.Thread(target=reap, name=f"wfx-reap-{proc.pid}", daemon=True).start()
        return str(proc.pid)

    def cancel(self, execution_id: str) -> None:
        """The run stops itself at the next step boundary when it sees the cancel flag; a job
        stuck inside a step is stopped by its process group after a grace period."""
        pid_file = self.dir / f"{execution_id}.pid"
        if not pid_file.exists():
            return
        pid = int(pid_file.read_text())

        def stop() -> None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(pid, signal.SIGTERM)

        timer = threading.Timer(5.0, stop)
        timer.daemon = True
        timer.start()
