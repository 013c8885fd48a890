"""Behaviour of the Cloud Run Jobs emulator, driven only through the official google-cloud-run client.

Tasks are small shell scripts that write what they see (their environment, their attempt, the pids
they started) into a directory the test reads back.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest
from google.api_core import exceptions
from google.cloud import run_v2
from google.cloud.run_v2.services.executions.transports.grpc import ExecutionsGrpcTransport
from google.cloud.run_v2.services.jobs.transports.grpc import JobsGrpcTransport
from support import eventually

from emulators.cloud_run.server import CloudRunEmulator

REPO_ROOT = Path(__file__).resolve().parents[2]
PARENT = "projects/emulator-test/locations/local"
Condition = run_v2.Condition


class Api:
    def __init__(self, address: str) -> None:
        self.channel = grpc.insecure_channel(address, options=[("grpc.enable_http_proxy", 0)])
        self.jobs = run_v2.JobsClient(transport=JobsGrpcTransport(channel=self.channel))
        self.executions = run_v2.ExecutionsClient(transport=ExecutionsGrpcTransport(channel=self.channel))

    def job(self, script: str, *, env: dict[str, str] | None = None, max_retries: int | None = None,
            timeout_s: float | None = None, task_count: int = 1, parallelism: int = 0,
            limits: dict[str, str] | None = None, command: list[str] | None = None) -> str:
        """Create a job whose one container runs ``sh -c script`` (or ``command``) within
        ``limits`` (resources.limits); returns its name."""
        template = run_v2.TaskTemplate(containers=[run_v2.Container(
            name="main", image="ignored", command=command or ["/bin/sh", "-c", script],
            resources=run_v2.ResourceRequirements(limits=limits or {}),
            env=[run_v2.EnvVar(name=k, value=v) for k, v in (env or {}).items()])])
        if max_retries is not None:
            template.max_retries = max_retries
        if timeout_s is not None:
            template.timeout = {"seconds": int(timeout_s), "nanos": int((timeout_s % 1) * 1e9)}
        job = run_v2.Job(template=run_v2.ExecutionTemplate(task_count=task_count, parallelism=parallelism,
                                                           template=template))
        job_id = f"j{uuid.uuid4().hex[:10]}"
        created = self.jobs.create_job(parent=PARENT, job_id=job_id, job=job).result(timeout=5)
        return str(created.name)

    def run(self, job: str, *, env: dict[str, str] | None = None, **overrides: Any) -> Any:
        co = {"env": [{"name": k, "value": v} for k, v in (env or {}).items()]} if env else None
        request = run_v2.RunJobRequest(name=job, overrides=run_v2.RunJobRequest.Overrides(
            container_overrides=[co] if co else [], **overrides))
        return self.jobs.run_job(request=request)

    def finished(self, name: str, timeout: float = 15.0) -> Any:
        return eventually(lambda: (ex := self.executions.get_execution(name=name)).completion_time and ex,
                          timeout=timeout, what=f"{name} to finish")


@pytest.fixture(scope="module")
def emulator() -> Iterator[CloudRunEmulator]:
    with CloudRunEmulator(kill_grace_s=0.5, max_active_executions=50) as em:
        yield em


@pytest.fixture
def api(emulator: CloudRunEmulator) -> Iterator[Api]:
    client = Api(emulator.address)
    yield client
    client.channel.close()


def completed(ex: Any) -> Any:
    return next(c for c in ex.conditions if c.type_ == "Completed")


def gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0] == "Z"


def test_a_job_is_created_read_and_listed_and_bad_names_are_refused(api: Api) -> None:
    name = api.job("true", env={"A": "1"}, max_retries=2, timeout_s=30)
    job = api.jobs.get_job(name=name)
    assert job.template.template.max_retries == 2 and job.template.template.timeout.total_seconds() == 30
    assert [(e.name, e.value) for e in job.template.template.containers[0].env] == [("A", "1")]
    assert name in [j.name for j in api.jobs.list_jobs(parent=PARENT)]
    with pytest.raises(exceptions.AlreadyExists):
        api.jobs.create_job(parent=PARENT, job_id=name.rsplit("/", 1)[1], job=job).result()
    with pytest.raises(exceptions.NotFound):
        api.jobs.get_job(name=f"{PARENT}/jobs/nope")
    with pytest.raises(exceptions.InvalidArgument):
        api.jobs.create_job(parent=PARENT, job_id="Bad_Id", job=job)
    no_command = run_v2.Job(template=run_v2.ExecutionTemplate(template=run_v2.TaskTemplate(
        containers=[run_v2.Container(image="python:3.11")])))
    with pytest.raises(exceptions.InvalidArgument):
        api.jobs.create_job(parent=PARENT, job_id="nocommand", job=no_command)


def test_a_run_returns_the_execution_as_operation_metadata_and_ends_succeeded(api: Api) -> None:
    job = api.job("exit 0")
    op = api.run(job)
    assert op.metadata.name.startswith(job + "/executions/" + job.rsplit("/", 1)[1] + "-")
    ex = op.result(timeout=15)
    assert ex.name == op.metadata.name and ex.succeeded_count == 1 and ex.failed_count == 0
    assert completed(ex).state == Condition.State.CONDITION_SUCCEEDED
    assert ex.create_time <= ex.start_time <= ex.completion_time
    assert not ex.reconciling and ex.task_count == 1
    after = api.jobs.get_job(name=job)
    assert after.execution_count == 1 and after.latest_created_execution.name == ex.name
    assert after.latest_created_execution.completion_status == \
        run_v2.ExecutionReference.CompletionStatus.EXECUTION_SUCCEEDED


def test_a_task_sees_only_the_jobs_env_with_overrides_and_the_cloud_run_variables(
        api: Api, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EMULATOR_CANARY_SECRET", "s3cr3t")
    job = api.job(f"env > {tmp_path}/env", env={"KEEP": "job", "REPLACED": "job"}, timeout_s=20)
    ex = api.run(job, env={"REPLACED": "override", "ADDED": "override"}).result(timeout=15)
    env = dict(line.split("=", 1) for line in (tmp_path / "env").read_text().splitlines() if "=" in line)
    assert env["KEEP"] == "job" and env["REPLACED"] == "override" and env["ADDED"] == "override"
    assert env["CLOUD_RUN_EXECUTION"] == ex.name.rsplit("/", 1)[1]
    assert env["CLOUD_RUN_JOB"] == job.rsplit("/", 1)[1]
    assert (env["CLOUD_RUN_TASK_INDEX"], env["CLOUD_RUN_TASK_ATTEMPT"], env["CLOUD_RUN_TASK_COUNT"]) == ("0", "0", "1")
    assert "EMULATOR_CANARY_SECRET" not in env and "s3cr3t" not in (tmp_path / "env").read_text()
    assert not Path(env["HOME"]).exists()  # the task's scratch home is removed with it
    # the execution reports the template it ran, overrides included
    assert [(e.name, e.value) for e in ex.template.containers[0].env] == [
        ("KEEP", "job"), ("REPLACED", "override"), ("ADDED", "override")]


def test_a_failing_task_is_retried_max_retries_times_then_fails_with_its_exit_code(api: Api, tmp_path: Path) -> None:
    job = api.job(f'echo "$CLOUD_RUN_TASK_ATTEMPT" >> {tmp_path}/attempts; exit 3', max_retries=2)
    op = api.run(job)
    with pytest.raises(exceptions.GoogleAPICallError) as failure:
        op.result(timeout=15)
    assert "exit code of 3" in str(failure.value)
    ex = api.executions.get_execution(name=op.metadata.name)
    assert (tmp_path / "attempts").read_text().split() == ["0", "1", "2"]
    assert ex.failed_count == 1 and ex.retried_count == 2 and ex.succeeded_count == 0
    cond = completed(ex)
    assert cond.state == Condition.State.CONDITION_FAILED
    assert cond.execution_reason == Condition.ExecutionReason.NON_ZERO_EXIT_CODE
    assert "exit code of 3" in cond.message


def test_max_retries_defaults_to_three_and_zero_means_one_attempt(api: Api, tmp_path: Path) -> None:
    default = api.job(f"echo x >> {tmp_path}/default; exit 1")
    none = api.job(f"echo x >> {tmp_path}/none; exit 1", max_retries=0)
    runs = [api.run(default).metadata.name, api.run(none).metadata.name]
    assert [api.finished(n).retried_count for n in runs] == [3, 0]
    assert len((tmp_path / "default").read_text().split()) == 4
    assert len((tmp_path / "none").read_text().split()) == 1


def test_a_task_killed_by_sigkill_is_retried_and_the_retry_can_succeed(api: Api, tmp_path: Path) -> None:
    job = api.job(f'echo "$CLOUD_RUN_TASK_ATTEMPT" >> {tmp_path}/attempts; '
                  '[ "$CLOUD_RUN_TASK_ATTEMPT" = 0 ] && kill -9 $$; exit 0', max_retries=1)
    ex = api.run(job).result(timeout=15)
    assert (tmp_path / "attempts").read_text().split() == ["0", "1"]
    assert ex.succeeded_count == 1 and ex.retried_count == 1 and ex.failed_count == 0


def test_what_a_task_leaves_running_is_killed_when_it_ends(api: Api, tmp_path: Path) -> None:
    job = api.job(f"sleep 60 & echo $! > {tmp_path}/child; exit 0")
    ex = api.run(job).result(timeout=15)
    assert ex.succeeded_count == 1
    eventually(lambda: gone(int((tmp_path / "child").read_text())), timeout=5, what="the left-over child to be gone")


def test_a_sigkilled_task_without_retries_reports_exit_code_137(api: Api) -> None:
    job = api.job("kill -9 $$", max_retries=0)
    ex = api.finished(api.run(job).metadata.name)
    assert "exit code of 137" in completed(ex).message


def test_the_task_timeout_stops_the_whole_process_group_and_fails_the_attempt(api: Api, tmp_path: Path) -> None:
    job = api.job(f"sleep 30 & echo $! > {tmp_path}/child; sleep 30", max_retries=0, timeout_s=600)
    started = time.monotonic()
    op = api.run(job, timeout={"seconds": 1})  # the override wins over the job's 600 s
    ex = api.finished(op.metadata.name, timeout=10)
    assert time.monotonic() - started < 5
    assert ex.template.timeout.total_seconds() == 1
    assert ex.failed_count == 1 and "timeout was reached" in completed(ex).message
    eventually(lambda: gone(int((tmp_path / "child").read_text())), timeout=5, what="the task's child to be gone")


def test_a_timed_out_attempt_is_retried_like_any_other_failure(api: Api, tmp_path: Path) -> None:
    job = api.job(f'echo "$CLOUD_RUN_TASK_ATTEMPT" >> {tmp_path}/attempts; '
                  '[ "$CLOUD_RUN_TASK_ATTEMPT" = 0 ] && sleep 30; exit 0', max_retries=1, timeout_s=1)
    ex = api.run(job).result(timeout=15)
    assert ex.retried_count == 1 and ex.succeeded_count == 1
    assert (tmp_path / "attempts").read_text().split() == ["0", "1"]


def test_cancel_stops_a_running_execution_within_seconds_with_its_group_gone(api: Api, tmp_path: Path) -> None:
    job = api.job(f"sleep 60 & echo $! > {tmp_path}/child; trap '' TERM; sleep 60", max_retries=3)
    op = api.run(job)
    eventually(lambda: (tmp_path / "child").exists(), timeout=10, what="the task to start")
    assert api.executions.get_execution(name=op.metadata.name).running_count == 1
    started = time.monotonic()
    api.executions.cancel_execution(name=op.metadata.name)
    ex = api.finished(op.metadata.name, timeout=10)
    assert time.monotonic() - started < 5  # SIGTERM is ignored: SIGKILL after the grace
    cond = completed(ex)
    assert cond.state == Condition.State.CONDITION_FAILED
    assert cond.execution_reason == Condition.ExecutionReason.CANCELLED
    assert ex.cancelled_count == 1 and ex.retried_count == 0  # a cancel is never retried
    assert gone(int((tmp_path / "child").read_text()))
    with pytest.raises(exceptions.Cancelled):
        op.result(timeout=5)
    with pytest.raises(exceptions.FailedPrecondition):
        api.executions.cancel_execution(name=op.metadata.name)
    assert api.jobs.get_job(name=job).latest_created_execution.completion_status == \
        run_v2.ExecutionReference.CompletionStatus.EXECUTION_CANCELLED


def test_task_count_runs_every_index_once_within_the_parallelism(api: Api, tmp_path: Path) -> None:
    job = api.job(f'echo "$CLOUD_RUN_TASK_INDEX $CLOUD_RUN_TASK_COUNT" >> {tmp_path}/tasks', parallelism=2)
    ex = api.run(job, task_count=3).result(timeout=15)
    assert sorted((tmp_path / "tasks").read_text().splitlines()) == ["0 3", "1 3", "2 3"]
    assert ex.task_count == 3 and ex.succeeded_count == 3 and ex.parallelism == 2


def test_tasks_within_the_parallelism_run_at_the_same_time(api: Api, tmp_path: Path) -> None:
    # each task waits (bounded) until the other one has started: only concurrent tasks both succeed
    job = api.job(f'touch {tmp_path}/$CLOUD_RUN_TASK_INDEX; other=$((1 - CLOUD_RUN_TASK_INDEX)); '
                  f'for i in $(seq 100); do [ -e {tmp_path}/$other ] && exit 0; sleep 0.05; done; exit 1',
                  parallelism=2, max_retries=0)
    ex = api.run(job, task_count=2).result(timeout=15)
    assert ex.succeeded_count == 2


def test_executions_are_listed_newest_first_in_pages_and_unknown_ones_are_not_found(api: Api) -> None:
    job = api.job("exit 0")
    names = [api.run(job).metadata.name for _ in range(3)]
    pager = api.executions.list_executions(request=run_v2.ListExecutionsRequest(parent=job, page_size=2))
    assert [e.name for e in pager] == names[::-1]
    fresh = api.executions.list_executions(request=run_v2.ListExecutionsRequest(parent=job, page_size=2))
    assert [len(page.executions) for page in fresh.pages] == [2, 1]
    with pytest.raises(exceptions.NotFound):
        api.executions.get_execution(name=f"{job}/executions/nope-00000")
    with pytest.raises(exceptions.NotFound):
        api.jobs.run_job(name=f"{PARENT}/jobs/missing")
    with pytest.raises(exceptions.NotFound):
        list(api.executions.list_executions(parent=f"{PARENT}/jobs/missing"))


def test_too_many_running_executions_answer_resource_exhausted_and_denied_calls_permission_denied(
        tmp_path: Path) -> None:
    with CloudRunEmulator(kill_grace_s=0.2, max_active_executions=1, deny=frozenset({"CancelExecution"})) as em:
        api = Api(em.address)
        job = api.job(f"echo $$ > {tmp_path}/pid; sleep 30")
        first = api.run(job)
        pid = int(eventually(lambda: (tmp_path / "pid").exists() and (tmp_path / "pid").read_text(),
                             what="the task to start"))
        with pytest.raises(exceptions.ResourceExhausted):
            api.run(job)
        with pytest.raises(exceptions.PermissionDenied):
            api.executions.cancel_execution(name=first.metadata.name)
        api.channel.close()
    assert gone(pid)  # stopping the emulator stops what it runs


def test_the_command_line_emulator_serves_until_sigterm_and_stops_its_tasks(tmp_path: Path) -> None:
    proc = subprocess.Popen([sys.executable, "-m", "emulators.cloud_run", "--port", "0", "--kill-grace", "0.2",
                             "--log-dir", str(tmp_path / "logs")],
                            cwd=REPO_ROOT, stdout=subprocess.PIPE, text=True, start_new_session=True)
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert line.startswith("cloud-run-emulator listening on 127.0.0.1:"), line
        api = Api(line.rsplit(" ", 1)[1].strip())
        job = api.job(f"echo $$ > {tmp_path}/pid; echo hello; sleep 60")
        name = api.run(job).metadata.name
        pid = int(eventually(lambda: (tmp_path / "pid").exists() and (tmp_path / "pid").read_text(),
                             timeout=10, what="the task to start"))
        log = Path(api.executions.get_execution(name=name).log_uri.removeprefix("file://"))
        assert log.parent == tmp_path / "logs"
        eventually(lambda: "hello" in log.read_text(), what="the task's output in its log")
        api.channel.close()
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0
        assert gone(pid)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()


def test_a_task_over_its_memory_limit_is_killed_with_exit_code_137_and_says_so(api: Api, tmp_path: Path) -> None:
    grow = "b = bytearray(300 * 2**20); b[::4096] = b'x' * len(b[::4096]); import time; time.sleep(30)"
    job = api.job("", command=[sys.executable, "-c", grow], limits={"memory": "128Mi"}, max_retries=0)
    ex = api.finished(api.run(job).metadata.name, timeout=20)
    done = completed(ex)
    assert (ex.failed_count, done.execution_reason) == (1, Condition.ExecutionReason.NON_ZERO_EXIT_CODE)
    assert "Memory limit of 128 MiB exceeded" in done.message


def test_a_task_within_its_memory_limit_runs_to_the_end(api: Api, tmp_path: Path) -> None:
    small = "b = bytearray(20 * 2**20); b[::4096] = b'x' * len(b[::4096])"
    job = api.job("", command=[sys.executable, "-c", small], limits={"memory": "256Mi"}, max_retries=0)
    assert api.finished(api.run(job).metadata.name).succeeded_count == 1


def test_a_task_runs_on_as_many_cores_as_its_cpu_limit(api: Api, tmp_path: Path) -> None:
    out = tmp_path / "cores"
    count = f"import os; open({str(out)!r}, 'w').write(str(len(os.sched_getaffinity(0))))"
    job = api.job("", command=[sys.executable, "-c", count], limits={"cpu": "500m"}, max_retries=0)
    assert api.finished(api.run(job).metadata.name).succeeded_count == 1
    assert out.read_text() == "1"


def test_a_job_with_a_limit_that_is_no_quantity_is_refused(api: Api) -> None:
    with pytest.raises(exceptions.InvalidArgument):
        api.job("true", limits={"memory": "lots"})
