"""Cloud Tasks TaskQueue: one HTTP task per (execution, segment), POSTed to the worker function,
named after both so that enqueuing twice is a no-op (ALREADY_EXISTS). An enqueue waits briefly;
one that fails is retried in the background (enqueue_retry.py), the sweeper being the last resort."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from typing import Any

from ..errors import InvalidArgument, Transient
from ..ports import TaskRequest
from ..settings import Settings
from .enqueue_retry import EnqueueRetrier

SECRET_HEADER = "X-Wfx-Worker-Secret"
# Cloud Tasks does not tell the target its dispatch deadline: the task carries it in this header.
DEADLINE_HEADER = "X-Wfx-Dispatch-Deadline-S"
MIN_DEADLINE_S, MAX_DEADLINE_S = 15.0, 1800.0  # the service's limits for HTTP targets
RETRY_ATTEMPT_S = 10.0  # one background attempt; a hung API answers it once it is back
_UNSAFE = re.compile(r"[^A-Za-z0-9_-]")


def task_id(execution_id: str, segment: int) -> str:
    """``{execution_id}-{segment}``, with characters a task id may not hold replaced by '_'."""
    tail = str(segment) if segment >= 0 else f"r{-segment}"
    return f"{_UNSAFE.sub('_', execution_id)}-{tail}"[:500]


def tasks_client(emulator_host: str | None) -> Any:
    """The Cloud Tasks client; against an emulator through an insecure gRPC channel
    (client options with anonymous credentials would try TLS, DESIGN §7) that tries to reconnect
    at least every 2 s, so that a retried enqueue goes through soon after an outage."""
    from google.cloud import tasks_v2

    if not emulator_host:
        return tasks_v2.CloudTasksClient()
    import grpc
    from google.cloud.tasks_v2.services.cloud_tasks.transports.grpc import CloudTasksGrpcTransport

    options = [("grpc.initial_reconnect_backoff_ms", 200), ("grpc.max_reconnect_backoff_ms", 2000)]
    channel = grpc.insecure_channel(emulator_host, options=options)
    return tasks_v2.CloudTasksClient(transport=CloudTasksGrpcTransport(channel=channel))


class CloudTasksQueue:
    """TaskQueue on the Cloud Tasks queue ``settings.tasks_queue`` targeting ``settings.worker_url``."""

    def __init__(self, settings: Settings, *, client: Any = None) -> None:
        if not settings.tasks_queue or not settings.worker_url:
            raise InvalidArgument("the Cloud Tasks queue needs a queue and a worker URL",
                                  fix="set WFX_TASKS_QUEUE=projects/P/locations/L/queues/Q and WFX_WORKER_URL")
        self.queue = settings.tasks_queue
        self.worker_url = settings.worker_url
        self.deadline_s = min(max(settings.tasks_dispatch_deadline_s, MIN_DEADLINE_S), MAX_DEADLINE_S)
        self._service_account = settings.tasks_service_account
        self._secret = settings.worker_secret
        self._client = client or tasks_client(settings.tasks_emulator_host)
        self._wait_s = settings.tasks_enqueue_wait_s
        self._retrier = EnqueueRetrier(lambda r: self._create(r, RETRY_ATTEMPT_S, retry=False),
                                       retry_for_s=settings.tasks_enqueue_retry_s)

    def task_name(self, execution_id: str, segment: int) -> str:
        return f"{self.queue}/tasks/{task_id(execution_id, segment)}"

    def task(self, request: TaskRequest) -> dict[str, Any]:
        """The Task resource for one delivery of ``request``."""
        headers = {"Content-Type": "application/json", DEADLINE_HEADER: f"{self.deadline_s:g}"}
        if self._secret:
            headers[SECRET_HEADER] = self._secret
        http: dict[str, Any] = {
            "http_method": "POST", "url": self.worker_url, "headers": headers,
            "body": json.dumps({"execution_id": request.execution_id, "segment": request.segment}).encode(),
        }
        if self._service_account:
            http["oidc_token"] = {"service_account_email": self._service_account, "audience": self.worker_url}
        task: dict[str, Any] = {"name": self.task_name(request.execution_id, request.segment),
                                "http_request": http, "dispatch_deadline": timedelta(seconds=self.deadline_s)}
        if request.delay_s > 0:
            task["schedule_time"] = datetime.now(UTC) + timedelta(seconds=request.delay_s)
        return task

    def enqueue(self, request: TaskRequest) -> None:
        """Create the task, waiting ``tasks_enqueue_wait_s`` at most; an existing task of the same
        name means it is already queued. Errors: Transient when the API did not take it in that
        time; the task is then retried in the background with backoff (tasks_enqueue_retry_s),
        so a caller may answer ``queued`` (a worker answers 503 and is delivered again)."""
        try:
            self._create(request, self._wait_s, retry=True)
        except Transient as exc:
            self._retrier.add(request)
            raise Transient(f"{exc.message}; retried in the background", fix="retry") from exc

    def _create(self, request: TaskRequest, timeout_s: float, *, retry: bool) -> None:
        from google.api_core import exceptions as gex

        try:
            self._client.create_task(parent=self.queue, task=self.task(request),
                                     retry=_retry(timeout_s) if retry else None, timeout=timeout_s)
        except gex.AlreadyExists:
            return
        except gex.GoogleAPIError as exc:  # also RetryError, when the client's retries gave up
            raise Transient(f"could not enqueue {request.execution_id}: {exc}", fix="retry") from exc

    def cancel(self, execution_id: str) -> None:
        """Delete the first-segment task. A task already dispatched (or a follow-up segment)
        runs into the store's cancel flag and ends the run as cancelled."""
        from google.api_core import exceptions as gex

        self._retrier.discard(execution_id)
        try:
            self._client.delete_task(name=self.task_name(execution_id, 0), timeout=10.0)
        except (gex.NotFound, gex.FailedPrecondition):
            return
        except gex.GoogleAPICallError as exc:
            raise Transient(f"could not cancel the task of {execution_id}: {exc}", fix="retry") from exc

    def close(self) -> None:
        self._retrier.close()
        self._client.transport.close()


def _retry(timeout_s: float) -> Any:
    # A lost answer to a create is retried by name, so the retry meets ALREADY_EXISTS at worst.
    from google.api_core import exceptions as gex
    from google.api_core.retry import Retry, if_exception_type

    return Retry(predicate=if_exception_type(gex.ServiceUnavailable, gex.DeadlineExceeded),
                 initial=0.05, maximum=1.0, timeout=timeout_s)
