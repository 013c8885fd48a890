"""Isolated mode never leaves an execution ``running``: the runner watches its job, and a job
that dies (a CPU limit, a signal, a crash) ends its execution ``failed`` with the cause; a
cancel ends in ``cancelled`` within seconds with the job's process group gone and its directory
removed; after a restart an isolated run is resumed only as a job, never in the server."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest
from executors import make_executor
from support import eventually
from workflow_executor.api import Executor
from workflow_executor.models import ExecutionMode, ExecutionStatus

HERE = Path(__file__).parent


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(HERE), os.environ.get("PYTHONPATH", "")]))
    monkeypatch.setenv("WFX_FUNCTION_MODULES", "engine_fns")


def job_pid(wfx: Executor, execution_id: str) -> int:
    pid_file = wfx.services.settings.home / "jobs" / f"{execution_id}.pid"
    return int(eventually(lambda: pid_file.exists() and pid_file.read_text(), what="the job's pid"))


def alive(pid: int) -> bool:
    try:
        os.killpg(pid, 0)
    except ProcessLookupError:
        return False
    return True


def hold(gate: Path) -> str:
    return f"""
workflows:
  w:
    steps:
      - {{id: first, function: builtins.noop}}
      - {{id: hold, function: engine_fns.wait_for_file, args: {{path: "{gate}", timeout: 60}}}}
      - {{id: after, function: builtins.noop}}
"""


@pytest.mark.usefixtures("env")
def test_a_job_killed_by_a_signal_or_its_cpu_limit_ends_its_execution_with_the_cause(tmp_path: Path) -> None:
    wfx = make_executor(tmp_path, "sqlite", job_cpu_s=1)
    try:
        burn = wfx.submit(mode="isolated", workflow="""
workflows: {w: {steps: [{id: spin, function: engine_fns.spin, args: {seconds: 30}}]}}""")
        done = wfx.wait(burn.id, timeout=30)
        assert done.status == ExecutionStatus.FAILED and done.error is not None
        assert done.error.code == "job_failed" and "CPU limit" in done.error.message, done.error
        killed = wfx.submit(mode="isolated", workflow=hold(tmp_path / "never"))
        eventually(lambda: wfx.status(killed.id).progress.completed == 1, timeout=30, what="the job to run")
        os.killpg(job_pid(wfx, killed.id), signal.SIGKILL)
        done = wfx.wait(killed.id, timeout=30)
        assert done.status == ExecutionStatus.FAILED and done.error is not None
        assert "SIGKILL" in done.error.message
        assert wfx.status(killed.id).progress.describe() == "Running step 2 of 3: hold"
    finally:
        wfx.close()


@pytest.mark.usefixtures("env")
def test_cancelling_a_job_stuck_in_a_step_ends_cancelled_with_its_group_and_directory_gone(tmp_path: Path) -> None:
    wfx = make_executor(tmp_path, "sqlite")
    try:
        started = wfx.submit(mode="isolated", workflow=hold(tmp_path / "never"))
        eventually(lambda: wfx.status(started.id).progress.completed == 1, timeout=30, what="the job to run")
        pid = job_pid(wfx, started.id)
        workdirs = [p for p in Path(os.environ.get("TMPDIR", "/tmp")).glob(f"wfx-job-{started.id[:12]}-*")]
        assert wfx.cancel(started.id).status == ExecutionStatus.CANCELLED
        eventually(lambda: not alive(pid), timeout=10, what="the job's process group to be gone")
        eventually(lambda: not any(p.exists() for p in workdirs), timeout=5, what="its directory removed")
        assert workdirs and wfx.status(started.id).status == ExecutionStatus.CANCELLED
    finally:
        wfx.close()


@pytest.mark.usefixtures("env")
def test_after_a_restart_an_isolated_run_is_resumed_as_a_job_never_in_the_server(tmp_path: Path) -> None:
    wfx = make_executor(tmp_path, "sqlite")
    try:
        ex = wfx.submit(mode="isolated", dispatch=False, workflow="""
workflows: {w: {steps: [{id: look, function: engine_fns.environment}]}}""")
        assert ex.mode == ExecutionMode.ISOLATED and ex.status == ExecutionStatus.QUEUED
        assert wfx.resume_pending() == [ex.id]
        done = wfx.wait(ex.id, timeout=30)
        assert done.status == ExecutionStatus.COMPLETED, done.error
        assert done.result["pid"] != str(os.getpid()) and Path(done.result["cwd"]).name.startswith("wfx-job-")
    finally:
        wfx.close()
