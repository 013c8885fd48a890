"""Isolated mode through the Cloud Run Jobs API: the adapter with the official client against the
Cloud Run emulator, whose job runs the real job entrypoint on the same SQLite home. The job
execution's name is recorded, cancel stops that one, start errors are clear, and a job execution
that ends failed, timed out or cancelled ends our execution with the cause."""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from support import eventually
from workflow_executor.adapters.cloud_run import TASK_TIMEOUT_MARGIN_S, CloudRunJobRunner, run_clients
from workflow_executor.api import Executor
from workflow_executor.errors import Forbidden, NotFound, Transient
from workflow_executor.models import ExecutionStatus
from workflow_executor.settings import Settings

from emulators.cloud_run import wfx
from emulators.cloud_run.server import CloudRunEmulator

PARENT = "projects/wfx-test/locations/local"
FIXTURES = "tests.e2e.fixtures"


@pytest.fixture(scope="module")
def emulator() -> Iterator[CloudRunEmulator]:
    with CloudRunEmulator(kill_grace_s=0.5) as em:
        yield em


@pytest.fixture
def jobs(emulator: CloudRunEmulator) -> Iterator[tuple[Any, Any]]:
    clients = run_clients(emulator.address)
    yield clients
    clients[0].transport.close()


def job_id() -> str:
    return f"j{os.urandom(5).hex()}"


def create(jobs: tuple[Any, Any], home: Path, *, command: list[str] | None = None, **template: Any) -> str:
    """A job on the emulator: the real entrypoint (or ``command``) with the env of the home."""
    env = wfx.job_env({"WFX_HOME": str(home), "WFX_STORE": "sqlite", "WFX_FUNCTION_MODULES": FIXTURES})
    job = wfx.job_resource("wfx-test", env, **template)
    if command is not None:
        job["template"]["template"]["containers"][0]["command"] = command
    return str(jobs[0].create_job(parent=PARENT, job_id=job_id(), job=job).result(timeout=10).name)


def executor(tmp_path: Path, emulator: CloudRunEmulator, job: str) -> Executor:
    s = Settings.from_env({"WFX_HOME": str(tmp_path / "home")})
    s = replace(s, store="sqlite", function_modules=(FIXTURES,), jobs="cloud_run", run_job=job,
                run_emulator_host=emulator.address)
    return Executor.local(settings=s)


def runner(ex: Executor) -> CloudRunJobRunner:
    assert isinstance(ex.services.jobs, CloudRunJobRunner)
    return ex.services.jobs


def hold(tmp_path: Path) -> str:
    return f"""
workflows:
  w:
    steps:
      - {{id: first, function: {FIXTURES}.append_line, args: {{path: "{tmp_path}/steps", line: first}}}}
      - {{id: hold, function: {FIXTURES}.wait_for_file,
          args: {{path: "{tmp_path}/gate", log: "{tmp_path}/steps", line: hold, timeout: 60}}}}
      - {{id: last, function: {FIXTURES}.append_line, args: {{path: "{tmp_path}/steps", line: last}}}}
"""


def lines(tmp_path: Path) -> list[str]:
    path = tmp_path / "steps"
    return path.read_text().split() if path.exists() else []


def test_an_isolated_run_starts_one_job_execution_records_it_and_completes(
        tmp_path: Path, emulator: CloudRunEmulator, jobs: Any) -> None:
    job = create(jobs, tmp_path / "home")
    wfx_ = executor(tmp_path, emulator, job)
    try:
        (tmp_path / "gate").touch()
        started = wfx_.submit(mode="isolated", workflow=hold(tmp_path), timeout=20)
        done = wfx_.wait(started.id, timeout=30)
        assert done.status == ExecutionStatus.COMPLETED, done.error
        assert lines(tmp_path) == ["first", "hold", "last"]
        name = runner(wfx_).job_execution(started.id)
        assert name is not None and name.startswith(job + "/executions/")
        job_ex = eventually(lambda: (e := jobs[1].get_execution(name=name)).completion_time and e,
                            what="the job execution to end")
        env = {e.name: e.value for e in job_ex.template.containers[0].env}
        assert env["WFX_EXECUTION_ID"] == started.id
        assert job_ex.template.timeout.total_seconds() == 20 + TASK_TIMEOUT_MARGIN_S
        assert job_ex.succeeded_count == 1 and job_ex.retried_count == 0
    finally:
        wfx_.close()


def test_a_job_runs_this_checkouts_library_and_ends_after_its_exit_handlers_with_its_log_written(
        tmp_path: Path, emulator: CloudRunEmulator, jobs: Any) -> None:
    job = create(jobs, tmp_path / "home")
    wfx_ = executor(tmp_path, emulator, job)
    try:
        mark = tmp_path / "exited"
        started = wfx_.submit(mode="isolated", workflow=f"""
workflows:
  w:
    steps:
      - {{id: where, function: {FIXTURES}.library_and_exit_mark, args: {{path: "{mark}"}}}}
""")
        done = wfx_.wait(started.id, timeout=30)
        assert done.status == ExecutionStatus.COMPLETED, done.error
        assert done.result == str(Path(wfx.ROOT, "shared", "workflow_executor"))  # as the image has it installed
        name = runner(wfx_).job_execution(started.id)
        assert name is not None
        job_ex = eventually(lambda: (e := jobs[1].get_execution(name=name)).completion_time and e,
                            what="the job execution to end")
        assert job_ex.succeeded_count == 1  # exit code 0
        assert mark.read_text() == "exited"
        log = Path(job_ex.log_uri.removeprefix("file://")).read_text()
        assert f"execution {started.id}: completed" in log
    finally:
        wfx_.close()


def test_cancel_stops_the_recorded_job_execution_by_name_without_listing_executions(
        tmp_path: Path, emulator: CloudRunEmulator, jobs: Any) -> None:
    job = create(jobs, tmp_path / "home")
    wfx_ = executor(tmp_path, emulator, job)
    emulator.store.deny = frozenset({"ListExecutions"})  # a scan would fail: only the name is used
    try:
        started = wfx_.submit(mode="isolated", workflow=hold(tmp_path))
        eventually(lambda: "hold" in lines(tmp_path), timeout=30, what="the job to reach the held step")
        assert wfx_.cancel(started.id).status == ExecutionStatus.CANCELLED
        name = runner(wfx_).job_execution(started.id)
        job_ex = eventually(lambda: (e := jobs[1].get_execution(name=name)).completion_time and e,
                            timeout=10, what="the job execution to end")
        assert job_ex.cancelled_count == 1 and job_ex.running_count == 0
        assert wfx_.status(started.id).status == ExecutionStatus.CANCELLED
    finally:
        emulator.store.deny = frozenset()
        wfx_.close()


def test_start_errors_are_clear_and_a_refused_start_ends_the_execution(
        tmp_path: Path, emulator: CloudRunEmulator, jobs: Any) -> None:
    missing = executor(tmp_path, emulator, f"{PARENT}/jobs/missing")
    try:
        with pytest.raises(NotFound) as not_found:
            missing.submit(mode="isolated", workflow=hold(tmp_path))
        assert "WFX_RUN_JOB" in (not_found.value.fix or "")
        failed = missing.executions(status="failed").items
        assert [e.error.code for e in failed if e.error] == ["job_start_failed"]
    finally:
        missing.close()
    job = create(jobs, tmp_path / "home")
    wfx_ = executor(tmp_path / "b", emulator, job)
    try:
        emulator.store.deny = frozenset({"RunJob"})
        with pytest.raises(Forbidden) as denied:
            wfx_.submit(mode="isolated", workflow=hold(tmp_path))
        assert "roles/run.developer" in (denied.value.fix or "")
        emulator.store.deny = frozenset()
        emulator.store.max_active_executions = 0
        with pytest.raises(Transient) as quota:
            wfx_.submit(mode="isolated", workflow=hold(tmp_path))
        assert quota.value.retryable and "quota" in quota.value.message
        assert [e.status for e in wfx_.executions().items] == [ExecutionStatus.QUEUED, ExecutionStatus.FAILED]
    finally:
        emulator.store.deny, emulator.store.max_active_executions = frozenset(), 100
        wfx_.close()


def test_a_job_that_exits_before_finishing_ends_the_execution_failed_with_its_exit_code(
        tmp_path: Path, emulator: CloudRunEmulator, jobs: Any) -> None:
    job = create(jobs, tmp_path / "home", command=["/bin/sh", "-c", "exit 3"], max_retries=0)
    wfx_ = executor(tmp_path, emulator, job)
    try:
        started = wfx_.submit(mode="isolated", workflow=hold(tmp_path))
        done = wfx_.wait(started.id, timeout=15)
        assert done.status == ExecutionStatus.FAILED and done.error is not None
        assert done.error.code == "job_failed" and "exit code of 3" in done.error.message
    finally:
        wfx_.close()


def test_a_job_over_its_task_timeout_ends_the_execution_timeout(
        tmp_path: Path, emulator: CloudRunEmulator, jobs: Any) -> None:
    job = create(jobs, tmp_path / "home", command=["/bin/sh", "-c", "sleep 30"], max_retries=0, timeout_s=1)
    wfx_ = executor(tmp_path, emulator, job)
    try:
        started = wfx_.submit(mode="isolated", workflow=hold(tmp_path))  # no timeout: the job's 1 s applies
        done = wfx_.wait(started.id, timeout=15)
        assert done.status == ExecutionStatus.TIMEOUT and done.error is not None
        assert done.error.code == "timeout" and "task timeout" in done.error.message
    finally:
        wfx_.close()


def test_a_job_execution_cancelled_in_cloud_run_ends_the_execution_cancelled(
        tmp_path: Path, emulator: CloudRunEmulator, jobs: Any) -> None:
    job = create(jobs, tmp_path / "home")
    wfx_ = executor(tmp_path, emulator, job)
    try:
        started = wfx_.submit(mode="isolated", workflow=hold(tmp_path))
        eventually(lambda: "hold" in lines(tmp_path), timeout=30, what="the job to reach the held step")
        jobs[1].cancel_execution(name=runner(wfx_).job_execution(started.id))  # an operator, in the console
        done = wfx_.wait(started.id, timeout=15)
        assert done.status == ExecutionStatus.CANCELLED and done.error is not None
        assert "was cancelled" in done.error.message
    finally:
        wfx_.close()


def test_a_sigkilled_job_is_retried_and_resumes_without_rerunning_finished_steps(
        tmp_path: Path, emulator: CloudRunEmulator, jobs: Any) -> None:
    job = create(jobs, tmp_path / "home", max_retries=1)
    wfx_ = executor(tmp_path, emulator, job)
    try:
        started = wfx_.submit(mode="isolated", workflow=hold(tmp_path))
        eventually(lambda: "hold" in lines(tmp_path), timeout=30, what="the job to reach the held step")
        name = runner(wfx_).job_execution(started.id)
        pids = _job_pids(started.id)
        assert len(pids) == 1
        os.killpg(pids[0], signal.SIGKILL)
        eventually(lambda: jobs[1].get_execution(name=name).retried_count == 1, timeout=10, what="a retry")
        (tmp_path / "gate").touch()
        done = wfx_.wait(started.id, timeout=30)
        assert done.status == ExecutionStatus.COMPLETED, done.error
        assert lines(tmp_path).count("first") == 1 and lines(tmp_path)[-1] == "last"
        eventually(lambda: jobs[1].get_execution(name=name).succeeded_count == 1, what="the retry to succeed")
    finally:
        wfx_.close()


def _job_pids(execution_id: str) -> list[int]:
    """Process-group leaders whose environment names ``execution_id`` (the emulator's tasks)."""
    out = []
    for environ in Path("/proc").glob("[0-9]*/environ"):
        try:
            pid = int(environ.parent.name)
            if f"WFX_EXECUTION_ID={execution_id}".encode() in environ.read_bytes().split(b"\0") \
                    and os.getpgid(pid) == pid:
                out.append(pid)
        except (OSError, ValueError):
            continue  # not ours to read, or gone
    return out



def test_a_duplicate_job_execution_that_finds_the_run_busy_does_not_end_it(
        tmp_path: Path, emulator: CloudRunEmulator, jobs: Any) -> None:
    job = create(jobs, tmp_path / "home", max_retries=0)
    wfx_ = executor(tmp_path, emulator, job)
    try:
        started = wfx_.submit(mode="isolated", workflow=hold(tmp_path))
        eventually(lambda: "hold" in lines(tmp_path), timeout=30, what="the job to reach the held step")
        duplicate = runner(wfx_).start(started.id)  # as the sweeper would, while the first one lives
        job_ex = eventually(lambda: (e := jobs[1].get_execution(name=duplicate)).completion_time and e,
                            timeout=30, what="the duplicate to give up")
        assert job_ex.failed_count == 1  # it found the lease held
        assert runner(wfx_).reconcile(started.id) is None  # what its watcher does when it sees it ended
        assert wfx_.status(started.id).status == ExecutionStatus.RUNNING
        (tmp_path / "gate").touch()
        done = wfx_.wait(started.id, timeout=30)
        assert done.status == ExecutionStatus.COMPLETED, done.error
        assert lines(tmp_path) == ["first", "hold", "last"]
    finally:
        wfx_.close()


def test_the_sweeper_ends_a_run_whose_job_execution_ended_unwatched_with_the_cause(
        tmp_path: Path, emulator: CloudRunEmulator, jobs: Any) -> None:
    from workflow_executor.sweeper import sweep

    job = create(jobs, tmp_path / "home", command=["/bin/sh", "-c", "exit 3"], max_retries=0)
    wfx_ = executor(tmp_path, emulator, job)
    try:
        # an mcp instance whose CPU is throttled after its answer: nothing watches the job execution
        wfx_.services.jobs = CloudRunJobRunner(wfx_.services.settings, wfx_.services.store, clients=jobs, watch=False)
        started = wfx_.submit(mode="isolated", workflow=hold(tmp_path))
        name = runner(wfx_).job_execution(started.id)
        eventually(lambda: jobs[1].get_execution(name=name).completion_time, what="the job execution to end")
        assert wfx_.status(started.id).status == ExecutionStatus.QUEUED
        later = wfx_.services.settings.sweep_queued_after_s + started.created_at_s + 1
        report = sweep(wfx_.services, now_s=later)
        assert report.ended == [started.id] and report.requeued == []
        done = wfx_.status(started.id)
        assert done.status == ExecutionStatus.FAILED and done.error is not None
        assert done.error.code == "job_failed" and "exit code of 3" in done.error.message
        assert [t["name"] for t in wfx_.services.store.load_turns(started.id, "cloud_run_job")] == [name]
    finally:
        wfx_.close()


def test_an_isolated_run_whose_job_cannot_start_answers_with_its_execution_id(
        tmp_path: Path, emulator: CloudRunEmulator, jobs: Any) -> None:
    from workflow_executor.access import LOCAL_PRINCIPAL, SCOPES, Caller
    from workflow_executor.mcp import tools
    from workflow_executor.mcp.app import app_for

    wfx_ = executor(tmp_path, emulator, create(jobs, tmp_path / "home"))
    try:
        emulator.store.max_active_executions = 0  # the Jobs API answers RESOURCE_EXHAUSTED: a Transient
        res = tools.call(app_for(wfx_.services), Caller(LOCAL_PRINCIPAL, frozenset(SCOPES)), "execute_workflow",
                         {"workflow": hold(tmp_path), "input_data": {}, "execution_mode": "isolated"}, False)
        out = res.structured
        assert (res.is_error, out["code"], out.get("status")) == (True, "transient", "queued"), out
        assert out.get("execution_id") == wfx_.executions().items[0].id  # stored before the job was asked for
    finally:
        emulator.store.max_active_executions = 100
        wfx_.close()
