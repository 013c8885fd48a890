"""Thread-safe state of all queues and tasks, and every transition the API calls or the dispatcher make.

One Condition guards everything; the scheduler waits on it and every state change notifies it.
"""

from __future__ import annotations

import base64
import binascii
import itertools
import threading
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from google.rpc.status_pb2 import Status

from . import pb
from .errors import already_exists, invalid_argument, not_found, unimplemented
from .http_dispatch import Outcome, build_call
from .models import DispatchJob, QueueRecord, TaskRecord, TokenBucket
from .names import (
    location_of_queue,
    new_task_id,
    queue_of_task,
    require_location,
    require_queue,
    require_task,
)
from .queue_config import apply_update, normalize_queue, parse_state_filter, validate_retry_config
from .retry import RetryPolicy
from .timeutil import from_duration, from_timestamp, to_duration, to_timestamp

# Documented limits of the real service for HTTP tasks.
DEFAULT_DISPATCH_DEADLINE_S = 600.0
MIN_DISPATCH_DEADLINE_S = 15.0
MAX_DISPATCH_DEADLINE_S = 1800.0
MAX_SCHEDULE_AHEAD_S = 30 * 24 * 3600.0
MAX_URL_LENGTH = 2083
DEFAULT_PAGE_SIZE = 1000
MAX_PAGE_SIZE = 1000
_TOMBSTONE_SWEEP_THRESHOLD = 1024
# Task.retry_config only exists in recent google-cloud-tasks releases; older ones have no such field.
_TASKS_HAVE_RETRY_CONFIG = "retry_config" in pb.Task.DESCRIPTOR.fields_by_name


def _encode_token(cursor: str) -> str:
    return base64.urlsafe_b64encode(cursor.encode()).decode()


def _decode_token(token: str) -> str:
    try:
        return base64.urlsafe_b64decode(token.encode()).decode()
    except (binascii.Error, UnicodeDecodeError) as exc:
        raise invalid_argument(f"invalid page_token {token!r}") from exc


def _page_size(requested: int) -> int:
    if requested < 0:
        raise invalid_argument("page_size must not be negative")
    return min(requested or DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE)


def _copy(message: Any) -> Any:
    duplicate = type(message)()
    duplicate.CopyFrom(message)
    return duplicate


def _task_retry_config(task: Any) -> Any | None:
    return task.retry_config if _TASKS_HAVE_RETRY_CONFIG and task.HasField("retry_config") else None


def _prepare_http_request(request: Any) -> None:
    """Reject what the service rejects and make the default method (POST) explicit."""
    parts = urlsplit(request.url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise invalid_argument("http_request.url must begin with http:// or https:// and name a host")
    if len(request.url) > MAX_URL_LENGTH:
        raise invalid_argument(f"http_request.url is longer than {MAX_URL_LENGTH} characters")
    if request.http_method == 0:
        request.http_method = pb.HTTP_POST
    if request.body and request.http_method not in pb.BODY_METHODS:
        raise invalid_argument("http_request.body is only allowed with POST, PUT or PATCH")


class TaskStore:
    def __init__(
        self,
        *,
        max_in_flight: int,
        min_dispatch_deadline: float = MIN_DISPATCH_DEADLINE_S,
        tombstone_ttl: float | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.cond = threading.Condition()
        self.closed = False
        self._max_in_flight = max_in_flight
        self._min_dispatch_deadline = min_dispatch_deadline
        self._tombstone_ttl = tombstone_ttl
        self._clock = clock
        self._queues: dict[str, QueueRecord] = {}
        self._seq = itertools.count()
        self._in_flight = 0

    def now(self) -> float:
        return self._clock()

    def close(self) -> None:
        with self.cond:
            self.closed = True
            self.cond.notify_all()

    # ----------------------------------------------------------------- queues

    def create_queue(self, parent: str, queue: Any) -> Any:
        require_location(parent)
        require_queue(queue.name)
        if location_of_queue(queue.name) != parent:
            raise invalid_argument(f"queue name {queue.name!r} is not in parent {parent!r}")
        fresh = _copy(queue)
        fresh.ClearField("state")
        fresh.ClearField("purge_time")
        normalize_queue(fresh)
        with self.cond:
            if fresh.name in self._queues:
                raise already_exists(f"Queue {fresh.name} already exists")
            self._add_queue(fresh)
            return _copy(fresh)

    def get_queue(self, name: str) -> Any:
        with self.cond:
            return _copy(self._queue(name).queue)

    def list_queues(self, parent: str, filter_text: str, page_size: int, page_token: str) -> tuple[list[Any], str]:
        prefix = require_location(parent) + "/queues/"
        state = parse_state_filter(filter_text)
        size = _page_size(page_size)
        after = _decode_token(page_token) if page_token else ""
        with self.cond:
            matching = sorted(
                name
                for name, record in self._queues.items()
                if name.startswith(prefix) and name > after and (state is None or record.queue.state == state)
            )
            page = [_copy(self._queues[name].queue) for name in matching[:size]]
        next_token = _encode_token(matching[size - 1]) if len(matching) > size else ""
        return page, next_token

    def update_queue(self, queue: Any, mask_paths: list[str]) -> Any:
        name = require_queue(queue.name)
        now = self._clock()
        with self.cond:
            record = self._queues.get(name)
            if record is None:
                # UpdateQueue creates the queue when it does not exist yet, like the real method.
                created = apply_update(pb.Queue(name=name), queue, mask_paths)
                self._add_queue(created)
                return _copy(created)
            updated = apply_update(record.queue, queue, mask_paths)
            record.queue = updated
            limits = updated.rate_limits
            record.bucket.reconfigure(limits.max_dispatches_per_second, limits.max_burst_size, now)
            self.cond.notify_all()
            return _copy(updated)

    def delete_queue(self, name: str) -> None:
        with self.cond:
            self._queue(name)
            # In-flight attempts finish on their own; their results no longer match a live record.
            del self._queues[name]
            self.cond.notify_all()

    def purge_queue(self, name: str) -> Any:
        now = self._clock()
        with self.cond:
            record = self._queue(name)
            for task_name in list(record.tasks):
                self._remove_task(record, task_name, now)
            record.queue.purge_time.CopyFrom(to_timestamp(now))
            self.cond.notify_all()
            return _copy(record.queue)

    def set_queue_state(self, name: str, state: int) -> Any:
        with self.cond:
            record = self._queue(name)
            record.queue.state = state
            self.cond.notify_all()
            return _copy(record.queue)

    # ------------------------------------------------------------------ tasks

    def create_task(self, parent: str, task: Any, view: int) -> Any:
        require_queue(parent)
        now = self._clock()
        fresh = self._prepare_task(task, now)
        with self.cond:
            record_queue = self._queue(parent)
            if fresh.name:
                if queue_of_task(fresh.name) != parent:
                    raise invalid_argument(f"task name {fresh.name!r} is not in queue {parent!r}")
                if fresh.name in record_queue.tasks or self._tombstoned(record_queue, fresh.name, now):
                    raise already_exists(f"Requested entity already exists: {fresh.name}")
            else:
                fresh.name = f"{parent}/tasks/{new_task_id()}"
                while fresh.name in record_queue.tasks or fresh.name in record_queue.tombstones:
                    fresh.name = f"{parent}/tasks/{new_task_id()}"
            record = TaskRecord(task=fresh, seq=next(self._seq), schedule_at=from_timestamp(fresh.schedule_time))
            record_queue.tasks[fresh.name] = record
            self.cond.notify_all()
            return self._render(record, view)

    def get_task(self, name: str, view: int) -> Any:
        with self.cond:
            return self._render(self._task(name)[1], view)

    def list_tasks(self, parent: str, view: int, page_size: int, page_token: str) -> tuple[list[Any], str]:
        require_queue(parent)
        size = _page_size(page_size)
        after = -1
        if page_token:
            cursor = _decode_token(page_token)
            if not cursor.isdigit():
                raise invalid_argument(f"invalid page_token {page_token!r}")
            after = int(cursor)
        with self.cond:
            records = sorted(
                (record for record in self._queue(parent).tasks.values() if record.seq > after),
                key=lambda record: record.seq,
            )
            page = [self._render(record, view) for record in records[:size]]
        next_token = _encode_token(str(records[size - 1].seq)) if len(records) > size else ""
        return page, next_token

    def delete_task(self, name: str) -> None:
        now = self._clock()
        with self.cond:
            queue_record, _ = self._task(name)
            self._remove_task(queue_record, name, now)
            self.cond.notify_all()

    def force_dispatch(self, name: str, view: int) -> tuple[Any, DispatchJob]:
        """RunTask: start an attempt now, ignoring pause, rate limits and schedule_time."""
        now = self._clock()
        with self.cond:
            queue_record, record = self._task(name)
            job = self._start_attempt(queue_record, record, now)
            self.cond.notify_all()
            return self._render(record, view), job

    # ------------------------------------------------------------- dispatching

    def take_due(self, now: float) -> tuple[list[DispatchJob], float | None]:
        """Start every attempt that may run now; also return when to look again (None: on notify).

        Must be called with `cond` held. Tasks blocked by concurrency limits are picked up when a
        completion notifies; tasks blocked by the token bucket or a future schedule_time set the wake time.
        """
        wake_at: float | None = None
        due: list[tuple[float, int, QueueRecord, TaskRecord]] = []
        for queue_record in self._queues.values():
            if queue_record.queue.state != pb.QUEUE_RUNNING:
                continue
            for record in queue_record.tasks.values():
                if record.in_flight:
                    continue
                if record.schedule_at > now:
                    wake_at = record.schedule_at if wake_at is None else min(wake_at, record.schedule_at)
                else:
                    due.append((record.schedule_at, record.seq, queue_record, record))
        due.sort(key=lambda item: (item[0], item[1]))
        jobs: list[DispatchJob] = []
        for _, _, queue_record, record in due:
            if self._in_flight >= self._max_in_flight:
                break
            if queue_record.in_flight >= queue_record.queue.rate_limits.max_concurrent_dispatches:
                continue
            if not queue_record.bucket.try_take(now):
                token_at = queue_record.bucket.next_token_at(now)
                wake_at = token_at if wake_at is None else min(wake_at, token_at)
                continue
            jobs.append(self._start_attempt(queue_record, record, now))
        return jobs, wake_at

    def complete(self, job: DispatchJob, outcome: Outcome) -> None:
        """Record an attempt's outcome: delete on success or give-up, otherwise reschedule with backoff."""
        now = self._clock()
        with self.cond:
            queue_record, record = job.queue_record, job.task_record
            self._in_flight -= 1
            queue_record.in_flight -= 1
            record.in_flight -= 1
            live = (
                self._queues.get(queue_record.queue.name) is queue_record
                and queue_record.tasks.get(record.task.name) is record
            )
            if live:
                self._apply_outcome(queue_record, record, job.attempt, outcome, now)
            self.cond.notify_all()

    # -------------------------------------------------------------- internals

    def _add_queue(self, queue: Any) -> None:
        queue.state = pb.QUEUE_RUNNING
        limits = queue.rate_limits
        bucket = TokenBucket.full(limits.max_dispatches_per_second, limits.max_burst_size, self._clock())
        self._queues[queue.name] = QueueRecord(queue=queue, bucket=bucket)

    def _queue(self, name: str) -> QueueRecord:
        record = self._queues.get(require_queue(name))
        if record is None:
            raise not_found(f"Requested entity was not found: queue {name}")
        return record

    def _task(self, name: str) -> tuple[QueueRecord, TaskRecord]:
        queue_record = self._queue(queue_of_task(name))
        record = queue_record.tasks.get(name)
        if record is None:
            raise not_found(f"Requested entity was not found: task {name}")
        return queue_record, record

    def _prepare_task(self, task: Any, now: float) -> Any:
        """Validated copy of a CreateTask payload with output-only fields reset and defaults applied."""
        fresh = _copy(task)
        for output_only in (
            "create_time",
            "dispatch_count",
            "response_count",
            "first_attempt",
            "last_attempt",
            "view",
        ):
            fresh.ClearField(output_only)
        if fresh.name:
            require_task(fresh.name)
        kind = fresh.WhichOneof("message_type")
        if kind == "app_engine_http_request":
            raise unimplemented("the emulator only dispatches http_request tasks, not App Engine tasks")
        if kind is None:
            raise invalid_argument("task.http_request is required")
        _prepare_http_request(fresh.http_request)
        if _task_retry_config(fresh) is not None:
            validate_retry_config(fresh.retry_config)

        schedule_at = from_timestamp(fresh.schedule_time) if fresh.HasField("schedule_time") else now
        if schedule_at > now + MAX_SCHEDULE_AHEAD_S:
            raise invalid_argument("task.schedule_time must be at most 30 days in the future")
        fresh.schedule_time.CopyFrom(to_timestamp(schedule_at))
        fresh.create_time.CopyFrom(to_timestamp(float(int(now))))  # truncated to the second, as documented

        deadline = (
            from_duration(fresh.dispatch_deadline)
            if fresh.HasField("dispatch_deadline")
            else DEFAULT_DISPATCH_DEADLINE_S
        )
        deadline = min(max(deadline, self._min_dispatch_deadline), MAX_DISPATCH_DEADLINE_S)
        fresh.dispatch_deadline.CopyFrom(to_duration(deadline))
        return fresh

    def _render(self, record: TaskRecord, view: int) -> Any:
        rendered = _copy(record.task)
        if view == pb.VIEW_FULL:
            rendered.view = pb.VIEW_FULL
        else:
            # BASIC (also the default) omits the potentially large/sensitive body.
            rendered.view = pb.VIEW_BASIC
            if rendered.WhichOneof("message_type") == "http_request":
                rendered.http_request.ClearField("body")
        return rendered

    def _tombstoned(self, queue_record: QueueRecord, name: str, now: float) -> bool:
        removed_at = queue_record.tombstones.get(name)
        if removed_at is None:
            return False
        if self._tombstone_ttl is not None and now - removed_at >= self._tombstone_ttl:
            del queue_record.tombstones[name]
            return False
        return True

    def _remove_task(self, queue_record: QueueRecord, name: str, now: float) -> None:
        del queue_record.tasks[name]
        queue_record.tombstones[name] = now
        ttl = self._tombstone_ttl
        if ttl is not None and len(queue_record.tombstones) > _TOMBSTONE_SWEEP_THRESHOLD:
            queue_record.tombstones = {
                tomb: removed_at for tomb, removed_at in queue_record.tombstones.items() if now - removed_at < ttl
            }

    def _start_attempt(self, queue_record: QueueRecord, record: TaskRecord, now: float) -> DispatchJob:
        task = record.task
        retry_count = task.dispatch_count
        task.dispatch_count += 1
        if record.first_attempt_at is None:
            record.first_attempt_at = now
            task.first_attempt.dispatch_time.CopyFrom(to_timestamp(now))
        task.last_attempt.CopyFrom(pb.Attempt(schedule_time=task.schedule_time, dispatch_time=to_timestamp(now)))
        record.in_flight += 1
        queue_record.in_flight += 1
        self._in_flight += 1
        call = build_call(
            task,
            queue_record.queue,
            retry_count=retry_count,
            execution_count=record.execution_count,
            previous_response=record.previous_response,
            now=now,
        )
        return DispatchJob(queue_record=queue_record, task_record=record, attempt=task.dispatch_count, call=call)

    def _apply_outcome(
        self, queue_record: QueueRecord, record: TaskRecord, attempt: int, outcome: Outcome, now: float
    ) -> None:
        task = record.task
        if attempt == task.dispatch_count:  # only the newest attempt owns last_attempt
            task.last_attempt.response_time.CopyFrom(to_timestamp(now))
            task.last_attempt.response_status.CopyFrom(Status(code=outcome.rpc_code, message=outcome.message))
        if outcome.http_status is not None:
            task.response_count += 1
            record.previous_response = outcome.http_status
            # X-CloudTasks-TaskExecutionCount excludes 5xx answers, per the service's documentation.
            if outcome.http_status < 500:
                record.execution_count += 1
        if outcome.succeeded:
            self._remove_task(queue_record, task.name, now)
            return
        policy = RetryPolicy.effective(queue_record.queue.retry_config, _task_retry_config(task))
        if policy.gives_up(task.dispatch_count, record.first_attempt_at or now, now):
            if record.in_flight == 0:  # an overlapping RunTask attempt may still succeed
                self._remove_task(queue_record, task.name, now)
            return
        delay = policy.backoff(task.dispatch_count)
        if outcome.retry_after is not None:
            delay = max(delay, outcome.retry_after)
        record.schedule_at = from_timestamp(to_timestamp(now + delay))
        task.schedule_time.CopyFrom(to_timestamp(record.schedule_at))
