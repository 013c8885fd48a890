"""Isolated mode in the cloud: one Cloud Run job execution per workflow execution, told which
one through the ``WFX_EXECUTION_ID`` environment override (entrypoint: ``workflow_executor.job``).

The job execution's name is journaled on our execution when ``run_job`` answers; cancel stops
that one by name; a watcher (and ``reconcile``) ends an execution whose job execution ended
failed or cancelled without finishing it, with the cause the API reports. A run with an
execution profile goes to that profile's job; one the infrastructure ended (placement.py) resumes
from its checkpoints on the profile's fallback job, once."""

from __future__ import annotations

import contextlib
import logging
import math
import threading
import time
from typing import Any

from .. import placement
from ..errors import Conflict, ExecutionTimeout, Forbidden, InvalidArgument, NotFound, Transient, WfxError
from ..models import ErrorInfo, Execution, ExecutionStatus
from ..ports import ExecutionStore
from ..profiles import Profile
from ..settings import Settings

log = logging.getLogger(__name__)

# The journal key under which each job execution started for one of ours is recorded (index 0,
# 1, ... in start order; the last one is the live one).
JOURNAL_KEY = "cloud_run_job"
# The engine ends an execution `timeout` itself at its deadline, which starts once the job has
# started and taken the lease; the task timeout is the backstop for a job that cannot (wedged or
# killed), so it leaves room for a cold start and the final write.
TASK_TIMEOUT_MARGIN_S = 30
MAX_TASK_TIMEOUT_S = 7 * 24 * 3600
POLL_MIN_S, POLL_MAX_S = 0.25, 5.0  # GetExecution reads count against the Admin API quota


def run_clients(emulator_host: str | None) -> tuple[Any, Any]:
    """(JobsClient, ExecutionsClient); against an emulator through an insecure gRPC channel."""
    from google.cloud import run_v2

    if not emulator_host:
        return run_v2.JobsClient(), run_v2.ExecutionsClient()
    import grpc
    from google.cloud.run_v2.services.executions.transports.grpc import ExecutionsGrpcTransport
    from google.cloud.run_v2.services.jobs.transports.grpc import JobsGrpcTransport

    channel = grpc.insecure_channel(emulator_host, options=[("grpc.enable_http_proxy", 0)])
    return (run_v2.JobsClient(transport=JobsGrpcTransport(channel=channel)),
            run_v2.ExecutionsClient(transport=ExecutionsGrpcTransport(channel=channel)))


def task_timeout_s(execution_timeout_s: float | None) -> int | None:
    """The task timeout for an execution's timeout (None: the job's configured one)."""
    if not execution_timeout_s:
        return None
    return min(math.ceil(execution_timeout_s) + TASK_TIMEOUT_MARGIN_S, MAX_TASK_TIMEOUT_S)


def api_error(exc: Exception, job: str) -> WfxError:
    """Our error for a Cloud Run API error, saying what to do."""
    from google.api_core import exceptions as gexc

    kind = type(exc).__name__
    if isinstance(exc, gexc.ServiceUnavailable):
        return Transient(f"Cloud Run is unavailable for job {job} ({exc.message})",
                         fix="retry later, or give the profile a fallback in another region", job=job)
    if isinstance(exc, gexc.ResourceExhausted):
        return Transient(f"Cloud Run refused to start job {job}: quota exhausted ({exc.message})",
                         fix="retry later, or raise the Cloud Run job quota for the region", job=job)
    if isinstance(exc, gexc.NotFound):
        return NotFound(f"the Cloud Run job {job} does not exist",
                        fix="deploy it (infra/: job.enabled = true after `make image`) or correct WFX_RUN_JOB",
                        job=job)
    if isinstance(exc, gexc.PermissionDenied):
        return Forbidden(f"this service may not run the Cloud Run job {job} ({exc.message})",
                         fix="grant the functions' service account roles/run.developer on the job "
                             "(infra/iam.tf does)", job=job)
    if isinstance(exc, gexc.InvalidArgument):
        return InvalidArgument(f"Cloud Run rejected the run of job {job}: {exc.message}",
                               fix="check the job's configuration against infra/run_job.tf", job=job)
    return Transient(f"could not start the Cloud Run job {job}: {kind}", fix="retry", job=job)


class CloudRunJobRunner:
    """JobRunner on the Cloud Run job ``settings.run_job``. ``store`` (when given) journals each
    job execution's name and lets the watcher end what a failed job execution left unfinished."""

    def __init__(self, settings: Settings, store: ExecutionStore | None = None, *,
                 clients: tuple[Any, Any] | None = None, watch: bool = True) -> None:
        if not settings.run_job and not any(p.job for p in settings.profiles.values()):
            raise InvalidArgument("WFX_JOBS=cloud_run needs the job's name",
                                  fix="set WFX_RUN_JOB=projects/P/locations/L/jobs/J")
        from google.cloud import run_v2

        self._run_v2 = run_v2
        self.settings = settings
        self.job = settings.run_job or ""
        self.store = store
        self.jobs, self.executions = clients or run_clients(settings.run_emulator_host)
        self._watch = watch and store is not None
        self._closed = threading.Event()

    def job_for(self, profile: str | None) -> tuple[str, Profile | None]:
        """The Cloud Run job of a profile (None: WFX_RUN_JOB) and the profile.
        Errors: InvalidArgument when the profile has no job here."""
        found = self.settings.profiles.get(profile) if profile else None
        job = found.job if found is not None else self.job
        if not job:
            raise InvalidArgument(f"execution profile '{profile}' has no Cloud Run job here",
                                  fix="give it a job in WFX_PROFILES (infra/ does, from var.profiles)")
        return job, found

    def start(self, execution_id: str) -> str:
        """Run one job execution for ``execution_id`` on its profile's job (where its last start
        went); returns its name. A start the API refuses for good (job missing, no permission,
        bad configuration) ends the execution failed; one refused for quota or an unavailable
        region goes to the profile's fallback once."""
        head = self.store.get_head(execution_id) if self.store is not None else None
        profile = placement.current(head, self.store) if head is not None and self.store is not None else None
        try:
            return self._start(execution_id, profile, head)
        except Transient as exc:
            moved = self._recover(execution_id, exc.message)
            if moved is None:
                raise
            return moved

    def _start(self, execution_id: str, profile: str | None, head: Execution | None,
               recovered_from: str | None = None, cause: str | None = None) -> str:
        """``head``: the execution as the caller just read it (its timeout and profile)."""
        rv = self._run_v2
        job, found = self.job_for(profile)
        wanted = head.timeout_s if head is not None else None
        if found is not None and found.timeout_s:
            wanted = min(wanted or found.timeout_s, found.timeout_s)
        timeout = task_timeout_s(wanted)
        overrides = rv.RunJobRequest.Overrides(
            container_overrides=[rv.RunJobRequest.Overrides.ContainerOverride(
                env=[rv.EnvVar(name="WFX_EXECUTION_ID", value=execution_id)])], task_count=1)
        if timeout:
            overrides.timeout = {"seconds": timeout}
        try:
            op = self.jobs.run_job(request=rv.RunJobRequest(name=job, overrides=overrides))
            name = str(op.metadata.name)
        except Exception as exc:  # google.api_core errors, mapped to ours
            error = api_error(exc, job)
            if not error.retryable:
                self._end(execution_id, ExecutionStatus.FAILED, "job_start_failed", error.message)
            raise error from None
        if self.store is not None:
            index = len(self.store.load_turns(execution_id, JOURNAL_KEY))
            # the first writer of an index wins: a concurrent start (the sweeper's) takes the next
            while self.store.record_turn(execution_id, JOURNAL_KEY, index,
                                         {"name": name, "at_s": time.time()})["name"] != name:
                index += 1
            if profile is not None:
                placement.record(self.store, execution_id, profile, job=name, recovered_from=recovered_from,
                                 cause=cause)
        if self._watch:
            threading.Thread(target=self._watch_until_done, args=(execution_id, name), daemon=True,
                             name=f"wfx-cloud-run-{execution_id[:12]}").start()
        return name

    def job_execution(self, execution_id: str) -> str | None:
        """The name of the latest job execution started for ``execution_id``, if journaled."""
        if self.store is None:
            return None
        turns = self.store.load_turns(execution_id, JOURNAL_KEY)
        return str(turns[-1]["name"]) if turns else None

    def cancel(self, execution_id: str) -> None:
        """Cancel the execution's job executions by name (never a scan of the job's history). The
        run also stops itself at the next step boundary when it sees the cancel flag in the store;
        this stops one stuck in a step."""
        names = [str(t["name"]) for t in self.store.load_turns(execution_id, JOURNAL_KEY)] if self.store else []
        if not names:
            log.warning("no Cloud Run job execution is recorded for %s: nothing to cancel", execution_id)
            return
        from google.api_core import exceptions as gexc

        for name in reversed(names):  # usually one; more only after a restart by the sweeper
            try:
                self.executions.cancel_execution(name=name)
            except gexc.FailedPrecondition:
                pass  # it had finished already
            except Exception:  # cancellation is cooperative anyway; log and move on
                log.warning("could not cancel the Cloud Run job execution %s of %s", name, execution_id,
                            exc_info=True)

    def reconcile(self, execution_id: str) -> ExecutionStatus | None:
        """If the execution's latest job execution has ended and left it unfinished, end it with
        the cause; returns the status it was given (None when nothing was done)."""
        name = self.job_execution(execution_id)
        if name is None:
            return None
        return self._reconcile(execution_id, name, self.executions.get_execution(name=name))

    def close(self) -> None:
        self._closed.set()

    def _watch_until_done(self, execution_id: str, name: str) -> None:
        pause = POLL_MIN_S
        while not self._closed.wait(pause):
            try:
                job_ex = self.executions.get_execution(name=name)
                if job_ex.completion_time:
                    self._reconcile(execution_id, name, job_ex)
                    return
                head = self.store.get_head(execution_id) if self.store is not None else None
                if head is not None and head.finished and not job_ex.running_count:
                    return  # ours ended; the job execution is winding down
            except Exception:  # a watcher thread: log, never raise into nothing
                log.warning("watching Cloud Run job execution %s failed", name, exc_info=True)
            pause = min(pause * 1.5, POLL_MAX_S)

    def _reconcile(self, execution_id: str, name: str, job_ex: Any) -> ExecutionStatus | None:
        if not job_ex.completion_time:
            return None
        # Another job execution of this run still live (a sweeper's restart, or the one it
        # found busy) may still finish it: only the last one to end speaks.
        others = [t["name"] for t in self.store.load_turns(execution_id, JOURNAL_KEY)] if self.store else []
        if any(not self.executions.get_execution(name=other).completion_time for other in others if other != name):
            return None
        rv = self._run_v2
        done = next((c for c in job_ex.conditions if c.type_ == "Completed"), None)
        message = done.message if done is not None else ""
        if done is not None and done.execution_reason == rv.Condition.ExecutionReason.CANCELLED:
            return self._end(execution_id, ExecutionStatus.CANCELLED, "cancelled",
                             f"the Cloud Run job execution {name} was cancelled: {message}")
        if "timeout was reached" in message:
            return self._end(execution_id, ExecutionStatus.TIMEOUT, ExecutionTimeout.code,
                             f"the Cloud Run job execution {name} reached its task timeout: {message}")
        why = message or f"{job_ex.succeeded_count} task(s) succeeded, {job_ex.failed_count} failed"
        if placement.infrastructure_cause(message) and self._recover(execution_id, why) is not None:
            return ExecutionStatus.RUNNING  # resumed on the fallback: handled (the sweeper starts nothing)
        return self._end(execution_id, ExecutionStatus.FAILED, "job_failed",
                         f"the isolated job ended before its execution did: {why} (job execution {name})")

    def _recover(self, execution_id: str, cause: str) -> str | None:
        """Resume a run the infrastructure stopped on its profile's fallback job, once: the dead
        job's lease is given up (every job execution of the run has ended) so that the new job
        takes the run over at once, from its checkpoints. Returns the new job execution's name."""
        if self.store is None:
            return None
        head = self.store.get_head(execution_id)
        if head is None or head.finished or head.cancel_requested:
            return None
        target = placement.fallback(self.settings, self.store, head)
        if target is None:
            return None
        if head.lease_owner:
            self.store.release_lease(execution_id, head.lease_owner)
        log.warning("isolated execution %s resumes on profile %s: %s", execution_id, target.name, cause)
        try:
            return self._start(execution_id, target.name, head, recovered_from=placement.current(head, self.store),
                               cause=cause)
        except WfxError:
            log.warning("could not start execution %s on its fallback %s", execution_id, target.name, exc_info=True)
            return None

    def _end(self, execution_id: str, status: ExecutionStatus, code: str, message: str) -> ExecutionStatus | None:
        if self.store is None:
            return None
        head = self.store.get_head(execution_id)
        if head is None or head.finished:
            return None
        if head.cancel_requested:
            status, code = ExecutionStatus.CANCELLED, "cancelled"
        with contextlib.suppress(Conflict):
            self.store.finish(execution_id, None, status, now_s=time.time(),
                              error=ErrorInfo(code=code, message=message))
            log.warning("isolated execution %s ended %s: %s", execution_id, status.value, message)
            return status
        return None
