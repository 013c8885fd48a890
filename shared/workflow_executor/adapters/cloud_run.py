"""Isolated mode in the cloud: one Cloud Run job execution per workflow execution, told which
one through the ``WFX_EXECUTION_ID`` environment override (entrypoint: ``workflow_executor.job``)."""

from __future__ import annotations

import logging
from typing import Any

from ..errors import InvalidArgument, Transient
from ..settings import Settings

log = logging.getLogger(__name__)


class CloudRunJobRunner:
    def __init__(self, settings: Settings) -> None:
        if not settings.run_job:
            raise InvalidArgument("WFX_JOBS=cloud_run needs WFX_RUN_JOB=projects/P/locations/L/jobs/J")
        from google.cloud import run_v2

        self._run_v2 = run_v2
        self.job = settings.run_job
        self.jobs = run_v2.JobsClient()
        self.executions = run_v2.ExecutionsClient()

    def start(self, execution_id: str) -> str:
        rv = self._run_v2
        env = [rv.EnvVar(name="WFX_EXECUTION_ID", value=execution_id)]
        overrides = rv.RunJobRequest.Overrides(container_overrides=[rv.RunJobRequest.Overrides.ContainerOverride(
            env=env)], task_count=1)
        try:
            op = self.jobs.run_job(request=rv.RunJobRequest(name=self.job, overrides=overrides))
        except Exception as exc:  # google.api_core errors: the request is safe to retry
            raise Transient(f"could not start the Cloud Run job: {type(exc).__name__}") from None
        meta: Any = getattr(op, "metadata", None)
        return str(getattr(meta, "name", "") or self.job)

    def cancel(self, execution_id: str) -> None:
        """Best effort: cancel running job executions started for this id. The run also stops
        itself at the next step boundary when it sees the cancel flag in the store."""
        try:
            for ex in self.executions.list_executions(parent=self.job):
                if ex.completion_time:
                    continue
                envs = [e for c in ex.template.containers for e in c.env]
                if any(e.name == "WFX_EXECUTION_ID" and e.value == execution_id for e in envs):
                    self.executions.cancel_execution(name=ex.name)
        except Exception:  # cancellation is cooperative anyway; log and move on
            log.warning("could not cancel the Cloud Run execution of %s", execution_id, exc_info=True)
