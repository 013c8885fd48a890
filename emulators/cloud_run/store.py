"""The emulator's state: jobs, their executions and the long-running operations that report on
them. Every method takes and returns raw protobuf messages; errors are ApiError (a gRPC status)."""

from __future__ import annotations

import copy
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grpc

from emulators.cloud_tasks.errors import ApiError, already_exists, invalid_argument

from . import limits, pb
from .names import check_job_id, new_execution_id, not_found, parse_execution, parse_job, parse_location
from .tasks import TaskPlan, TaskRunner

DEFAULT_TIMEOUT_S = 600.0  # the service's default task timeout
DEFAULT_MAX_RETRIES = 3
MAX_TIMEOUT_S = 7 * 24 * 3600.0


@dataclass
class _Execution:
    message: Any  # pb.Execution, updated in place under the store's lock
    runner: TaskRunner
    operations: list[str] = field(default_factory=list)


@dataclass
class _Operation:
    name: str
    execution: str | None = None  # reports on this execution; else a finished job operation
    done: Any = None  # pb.Operation of a job operation


def _stamp(ts: Any, at: float) -> None:
    ts.FromNanoseconds(int(at * 1e9))


def _seconds(duration: Any) -> float:
    return float(duration.seconds) + duration.nanos / 1e9


class RunStore:
    """All jobs, executions and operations, under one lock.

    ``max_active_executions`` bounds executions running at once (RESOURCE_EXHAUSTED beyond, like a
    quota); ``deny`` names RPCs that answer PERMISSION_DENIED (a caller without the IAM role).
    """

    def __init__(self, *, kill_grace_s: float = 10.0, log_dir: Path | None = None,
                 max_active_executions: int = 100, deny: frozenset[str] = frozenset()) -> None:
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._jobs: dict[str, Any] = {}
        self._executions: dict[str, _Execution] = {}
        self._operations: dict[str, _Operation] = {}
        self.kill_grace_s = kill_grace_s
        self.log_dir = log_dir or Path(tempfile.mkdtemp(prefix="cloud-run-emulator-"))
        self.max_active_executions = max_active_executions
        self.deny = deny

    def check_allowed(self, method: str, resource: str) -> None:
        if method in self.deny:
            raise ApiError(grpc.StatusCode.PERMISSION_DENIED,
                           f"Permission denied on resource '{resource}' for {method} (or it may not exist).")

    # Jobs
    def create_job(self, parent: str, job_id: str, job: Any) -> Any:
        project, location = parse_location(parent)
        check_job_id(job_id)
        name = f"{parent}/jobs/{job_id}"
        containers = job.template.template.containers
        if len(containers) != 1:
            raise invalid_argument("template.template.containers must hold exactly one container")
        try:
            limits.parse(containers[0].resources.limits)
        except ValueError as exc:
            raise invalid_argument(str(exc)) from None
        if not containers[0].command:
            raise invalid_argument("the emulator runs no images: set the container's command "
                                   "(and args) to the entrypoint the image would run")
        _timeout(job.template.template.timeout if job.template.template.HasField("timeout") else None)
        now = time.time()
        stored = copy.deepcopy(job)
        stored.name, stored.uid, stored.generation = name, str(uuid.uuid4()), 1
        stored.observed_generation, stored.etag = 1, f'"{uuid.uuid4().hex}"'
        _stamp(stored.create_time, now)
        _stamp(stored.update_time, now)
        stored.terminal_condition.type_ = "Ready"
        stored.terminal_condition.state = pb.CONDITION_SUCCEEDED
        with self._lock:
            if name in self._jobs:
                raise already_exists(f"Resource '{job_id}' already exists.")
            self._jobs[name] = stored
            return self._finished_operation(project, location, stored)

    def get_job(self, name: str) -> Any:
        parse_job(name)
        with self._lock:
            return copy.deepcopy(self._job(name))

    def list_jobs(self, parent: str) -> list[Any]:
        parse_location(parent)
        with self._lock:
            return [copy.deepcopy(j) for n, j in self._jobs.items() if n.startswith(parent + "/jobs/")]

    def delete_job(self, name: str) -> Any:
        project, location, _ = parse_job(name)
        with self._lock:
            job = self._job(name)
            if any(e.message.job == job.name.rsplit("/", 1)[1] and not e.message.HasField("completion_time")
                   for n, e in self._executions.items() if n.startswith(name + "/")):
                raise ApiError(grpc.StatusCode.FAILED_PRECONDITION,
                               "the job has running executions; cancel them first")
            del self._jobs[name]
            for n in [n for n in self._executions if n.startswith(name + "/executions/")]:
                del self._executions[n]
            return self._finished_operation(project, location, job)

    # Executions
    def run_job(self, request: Any) -> Any:
        """Start an execution of the job with the request's overrides; returns its operation."""
        project, location, job_id = parse_job(request.name)
        with self._lock:
            job = self._job(request.name)
            if request.etag and request.etag != job.etag:
                raise ApiError(grpc.StatusCode.ABORTED, f"etag {request.etag} does not match the job's {job.etag}")
            active = sum(1 for e in self._executions.values() if not e.message.HasField("completion_time"))
            if active >= self.max_active_executions and not request.validate_only:
                raise ApiError(grpc.StatusCode.RESOURCE_EXHAUSTED,
                               f"Quota exceeded: at most {self.max_active_executions} job executions may run "
                               "at once in this project and region.")
            template = copy.deepcopy(job.template)
        task_template = template.template
        container = task_template.containers[0]
        overrides = request.overrides
        for co in overrides.container_overrides:
            if co.name and co.name != container.name:
                raise invalid_argument(f"container override '{co.name}' names no container of the job")
            if co.clear_args or co.args:
                del container.args[:]
                container.args.extend(co.args)
            _merge_env(container, co.env)
        if overrides.task_count < 0:
            raise invalid_argument("overrides.task_count must not be negative")
        if overrides.task_count:
            template.task_count = overrides.task_count
        if overrides.HasField("timeout"):
            task_template.timeout.CopyFrom(overrides.timeout)
        timeout_s = _timeout(task_template.timeout if task_template.HasField("timeout") else None)
        if not task_template.HasField("timeout"):
            task_template.timeout.FromNanoseconds(int(timeout_s * 1e9))
        task_count = template.task_count or 1
        max_retries = task_template.max_retries if task_template.HasField("max_retries") else DEFAULT_MAX_RETRIES
        if request.validate_only:
            with self._lock:
                message = self._new_execution_message(job, template, task_count, project, location, job_id)
                return self._execution_operation(project, location, message, register=None)
        env = {e.name: e.value for e in container.env if not e.HasField("value_source")}
        with self._lock:
            message = self._new_execution_message(job, template, task_count, project, location, job_id)
            short = message.name.rsplit("/", 1)[1]
            log_path = self.log_dir / f"{short}.log"
            message.log_uri = log_path.as_uri()
            plan = TaskPlan(execution_id=short, job_id=job_id, argv=[*container.command, *container.args], env=env,
                            working_dir=container.working_dir, task_count=task_count,
                            parallelism=template.parallelism, max_retries=max_retries, timeout_s=timeout_s,
                            log_path=log_path, limits=limits.parse(container.resources.limits))
            runner = TaskRunner(plan, self._lock, lambda: self._refresh(message.name), self.kill_grace_s)
            record = _Execution(message, runner)
            self._executions[message.name] = record
            job.execution_count += 1
            job.latest_created_execution.name = message.name
            job.latest_created_execution.create_time.CopyFrom(message.create_time)
            job.latest_created_execution.completion_status = pb.STATUS_RUNNING
            operation = self._execution_operation(project, location, message, register=record)
        runner.start()
        return operation

    def get_execution(self, name: str) -> Any:
        parse_execution(name)
        with self._lock:
            return copy.deepcopy(self._execution(name).message)

    def list_executions(self, parent: str, page_size: int, page_token: str) -> tuple[list[Any], str]:
        parse_job(parent)
        with self._lock:
            self._job(parent)
            names = sorted((n for n in self._executions if n.startswith(parent + "/executions/")),
                           key=lambda n: (-self._executions[n].message.create_time.ToNanoseconds(), n))
            start = int(page_token) if page_token.isdigit() else 0
            if page_token and not page_token.isdigit():
                raise invalid_argument("page_token is not one this emulator returned")
            size = page_size if page_size > 0 else 100
            page = [copy.deepcopy(self._executions[n].message) for n in names[start:start + size]]
            more = start + size < len(names)
            return page, str(start + size) if more else ""

    def cancel_execution(self, name: str) -> Any:
        _, _ = parse_execution(name)
        parts = name.split("/")
        with self._lock:
            record = self._execution(name)
            if record.message.HasField("completion_time"):
                raise ApiError(grpc.StatusCode.FAILED_PRECONDITION,
                               f"Execution '{parts[-1]}' has already finished; it cannot be cancelled.")
            cond = _completed(record.message)
            cond.execution_reason = pb.REASON_CANCELLING
            cond.message = "The execution is being cancelled."
            operation = self._execution_operation(parts[1], parts[3], record.message, register=record)
        record.runner.cancel()
        return operation

    def shutdown(self) -> None:
        """Cancel every running execution and wait (bounded) for their tasks to be gone."""
        with self._lock:
            runners = [e.runner for e in self._executions.values() if not e.runner.done.is_set()]
        for runner in runners:
            runner.cancel()
        for runner in runners:
            runner.done.wait(self.kill_grace_s + 5)

    # Operations
    def get_operation(self, name: str) -> Any:
        with self._lock:
            return self._operation(name)

    def wait_operation(self, name: str, timeout_s: float) -> Any:
        end = time.monotonic() + timeout_s
        with self._lock:
            while True:
                op = self._operation(name)
                left = end - time.monotonic()
                if op.done or left <= 0:
                    return op
                self._changed.wait(left)

    # Internals (called with the lock held)
    def _job(self, name: str) -> Any:
        job = self._jobs.get(name)
        if job is None:
            raise not_found("JOB", name)
        return job

    def _execution(self, name: str) -> _Execution:
        record = self._executions.get(name)
        if record is None:
            raise not_found("EXECUTION", name)
        return record

    def _new_execution_message(self, job: Any, template: Any, task_count: int, project: str, location: str,
                               job_id: str) -> Any:
        now = time.time()
        message = pb.Execution(name=f"{job.name}/executions/{new_execution_id(job_id)}", uid=str(uuid.uuid4()),
                               generation=1, job=job_id, parallelism=template.parallelism or task_count,
                               task_count=task_count, reconciling=True, observed_generation=1,
                               etag=f'"{uuid.uuid4().hex}"')
        message.labels.update(template.labels)
        message.annotations.update(template.annotations)
        message.template.CopyFrom(template.template)
        _stamp(message.create_time, now)
        _stamp(message.update_time, now)
        cond = _completed(message)
        cond.state = pb.CONDITION_PENDING
        _stamp(cond.last_transition_time, now)
        return message

    def _execution_operation(self, project: str, location: str, message: Any,
                             register: _Execution | None) -> Any:
        name = f"projects/{project}/locations/{location}/operations/{uuid.uuid4()}"
        if register is None:  # validate_only: reported, never run
            op = pb.Operation(name=name, done=True)
            op.metadata.Pack(message)
            op.response.Pack(message)
            return op
        register.operations.append(name)
        self._operations[name] = _Operation(name, execution=message.name)
        return self._operation(name)

    def _finished_operation(self, project: str, location: str, resource: Any) -> Any:
        name = f"projects/{project}/locations/{location}/operations/{uuid.uuid4()}"
        op = pb.Operation(name=name, done=True)
        op.metadata.Pack(resource)
        op.response.Pack(resource)
        self._operations[name] = _Operation(name, done=op)
        return copy.deepcopy(op)

    def _operation(self, name: str) -> Any:
        entry = self._operations.get(name)
        if entry is None:
            raise not_found("OPERATION", name)
        if entry.execution is None:
            return copy.deepcopy(entry.done)
        message = self._executions[entry.execution].message
        op = pb.Operation(name=name)
        op.metadata.Pack(message)
        if message.HasField("completion_time"):
            op.done = True
            cond = _completed(message)
            if cond.state == pb.CONDITION_SUCCEEDED:
                op.response.Pack(message)
            else:
                code = grpc.StatusCode.CANCELLED if cond.execution_reason == pb.REASON_CANCELLED \
                    else grpc.StatusCode.UNKNOWN
                op.error.CopyFrom(pb.Status(code=code.value[0], message=cond.message))
        return op

    def _refresh(self, name: str) -> None:
        """Copy the runner's progress into the execution message (the runner calls this after a change)."""
        with self._lock:
            record = self._executions.get(name)
            if record is None:
                return
            message, progress, runner = record.message, record.runner.progress, record.runner
            now = time.time()
            outcomes = progress.outcomes
            message.running_count = progress.running
            message.retried_count = progress.retried
            message.succeeded_count = sum(1 for o in outcomes if o.status == "succeeded")
            message.failed_count = sum(1 for o in outcomes if o.status == "failed")
            message.cancelled_count = sum(1 for o in outcomes if o.status == "cancelled")
            if progress.started_at is not None and not message.HasField("start_time"):
                _stamp(message.start_time, progress.started_at)
                started = message.conditions.add(type_="Started", state=pb.CONDITION_SUCCEEDED)
                _stamp(started.last_transition_time, progress.started_at)
            _stamp(message.update_time, now)
            if runner.done.is_set() and not message.HasField("completion_time"):
                self._complete(message, runner, now)
            self._changed.notify_all()

    def _complete(self, message: Any, runner: TaskRunner, now: float) -> None:
        # Tasks cancelled before they started count as cancelled too.
        message.cancelled_count += runner.plan.task_count - len(runner.progress.outcomes)
        cond = _completed(message)
        failed = [o for o in runner.progress.outcomes if o.status == "failed"]
        job = self._jobs.get(message.name.split("/executions/")[0])
        if runner.cancelled:
            cond.state, cond.execution_reason = pb.CONDITION_FAILED, pb.REASON_CANCELLED
            cond.severity, cond.message = pb.SEVERITY_ERROR, "The execution was cancelled."
            status = pb.STATUS_CANCELLED
        elif failed:
            cond.state, cond.execution_reason = pb.CONDITION_FAILED, pb.REASON_NON_ZERO_EXIT
            cond.severity = pb.SEVERITY_ERROR
            first = min(failed, key=lambda o: o.index)
            cond.message = (first.message if len(failed) == 1
                            else f"{len(failed)} tasks failed to complete. {first.message}")
            status = pb.STATUS_FAILED
        else:
            cond.state, cond.severity = pb.CONDITION_SUCCEEDED, pb.SEVERITY_INFO
            cond.execution_reason = 0
            cond.message = f"Execution completed successfully in {now - _seconds_of(message.create_time):.1f}s."
            status = pb.STATUS_SUCCEEDED
        _stamp(cond.last_transition_time, now)
        _stamp(message.completion_time, now)
        message.reconciling = False
        if job is not None and job.latest_created_execution.name == message.name:
            job.latest_created_execution.completion_time.CopyFrom(message.completion_time)
            job.latest_created_execution.completion_status = status


def _seconds_of(ts: Any) -> float:
    return float(ts.ToNanoseconds()) / 1e9


def _completed(message: Any) -> Any:
    """The execution's terminal condition ("Completed"), added when missing."""
    for cond in message.conditions:
        if cond.type_ == "Completed":
            return cond
    return message.conditions.add(type_="Completed")


def _merge_env(container: Any, overrides: Any) -> None:
    """An override replaces the variable of the same name and adds the others."""
    by_name = {e.name: i for i, e in enumerate(container.env)}
    for env in overrides:
        if not env.name:
            raise invalid_argument("an env override has no name")
        if env.name in by_name:
            container.env[by_name[env.name]].CopyFrom(env)
        else:
            by_name[env.name] = len(container.env)
            container.env.add().CopyFrom(env)


def _timeout(duration: Any | None) -> float:
    if duration is None:
        return DEFAULT_TIMEOUT_S
    seconds = _seconds(duration)
    if seconds <= 0 or seconds > MAX_TIMEOUT_S:
        raise invalid_argument(f"timeout must be more than 0 s and at most {MAX_TIMEOUT_S:.0f} s (7 days)")
    return seconds
