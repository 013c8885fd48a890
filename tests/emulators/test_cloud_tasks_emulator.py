"""Behaviour of the Cloud Tasks emulator, driven only through the official google-cloud-tasks client.

Dispatch targets are a real local HTTP server that records every request it receives.
"""

from __future__ import annotations

import base64
import json
import os
import queue
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from pathlib import Path
from typing import IO, TypeVar

import grpc
import pytest
from google.api_core import exceptions
from google.cloud import tasks_v2
from google.cloud.tasks_v2.services.cloud_tasks.transports.grpc import CloudTasksGrpcTransport
from google.protobuf import field_mask_pb2
from google.rpc import code_pb2
from werkzeug.http import HTTP_STATUS_CODES
from werkzeug.serving import make_server
from werkzeug.wrappers import Request

from emulators.cloud_tasks.retry import RetryPolicy
from emulators.cloud_tasks.server import CloudTasksEmulator

REPO_ROOT = Path(__file__).resolve().parents[2]
PROJECT = "projects/emulator-test"
T = TypeVar("T")


def eventually(predicate: Callable[[], T], timeout: float = 5.0, what: str = "condition") -> T:
    """Poll `predicate` until it returns something truthy; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        result = predicate()
        if result:
            return result
        if time.monotonic() >= deadline:
            pytest.fail(f"{what} did not happen within {timeout}s (last value: {result!r})")
        time.sleep(0.01)


# --------------------------------------------------------------------------- dispatch target


@dataclass(frozen=True)
class Delivery:
    method: str
    path: str
    headers: dict[str, str]  # lower-cased names
    body: bytes
    received_at: float


# Decides the HTTP status for a delivery; gets the delivery and its 0-based index on that path.
Responder = Callable[[Delivery, int], int]


class RecordingTarget:
    """Threaded local HTTP server recording deliveries per path and answering via per-path responders."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._deliveries: dict[str, list[Delivery]] = defaultdict(list)
        self._responders: dict[str, Responder] = {}
        self._active: dict[str, int] = defaultdict(int)
        self._max_active: dict[str, int] = defaultdict(int)
        self._server = make_server("127.0.0.1", 0, self._app, threaded=True)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self._server.server_port}{path}"

    def respond(self, path: str, responder: Responder) -> None:
        self._responders[path] = responder

    def deliveries(self, path: str) -> list[Delivery]:
        with self._lock:
            return list(self._deliveries[path])

    def max_concurrency(self, path: str) -> int:
        with self._lock:
            return self._max_active[path]

    def active(self, path: str) -> int:
        with self._lock:
            return self._active[path]

    def _app(self, environ: dict[str, object], start_response: Callable[..., object]) -> list[bytes]:
        request = Request(environ)
        delivery = Delivery(
            method=request.method,
            path=request.path,
            headers={name.lower(): value for name, value in request.headers.items()},
            body=request.get_data(),
            received_at=time.time(),
        )
        with self._lock:
            index = len(self._deliveries[delivery.path])
            self._deliveries[delivery.path].append(delivery)
            self._active[delivery.path] += 1
            self._max_active[delivery.path] = max(self._max_active[delivery.path], self._active[delivery.path])
        try:
            status = self._responders.get(delivery.path, lambda _delivery, _index: 200)(delivery, index)
        finally:
            with self._lock:
                self._active[delivery.path] -= 1
        start_response(f"{status} {HTTP_STATUS_CODES.get(status, 'Unknown')}", [("Content-Length", "0")])
        return [b""]


# ----------------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def emulator() -> Iterator[CloudTasksEmulator]:
    # A low deadline clamp lets one test exercise dispatch-deadline failures in well under a second.
    with CloudTasksEmulator(min_dispatch_deadline=0.05) as running:
        yield running


def _client_for(address: str) -> tuple[tasks_v2.CloudTasksClient, grpc.Channel]:
    channel = grpc.insecure_channel(address, options=[("grpc.enable_http_proxy", 0)])
    return tasks_v2.CloudTasksClient(transport=CloudTasksGrpcTransport(channel=channel)), channel


@pytest.fixture(scope="module")
def client(emulator: CloudTasksEmulator) -> Iterator[tasks_v2.CloudTasksClient]:
    cloud_tasks, channel = _client_for(emulator.address)
    yield cloud_tasks
    channel.close()


@pytest.fixture(scope="module")
def target() -> Iterator[RecordingTarget]:
    server = RecordingTarget()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def location() -> str:
    # A location per test keeps list results independent of the other tests' queues.
    return f"{PROJECT}/locations/loc-{uuid.uuid4().hex[:12]}"


@pytest.fixture
def make_queue(client: tasks_v2.CloudTasksClient, location: str) -> Callable[..., str]:
    def create(**config: object) -> str:
        name = f"{location}/queues/q-{uuid.uuid4().hex[:12]}"
        client.create_queue(parent=location, queue=tasks_v2.Queue(name=name, **config))
        return name

    return create


@pytest.fixture
def gate() -> Iterator[threading.Event]:
    """Holds blocking responders; always released at teardown so no target thread outlives a test."""
    event = threading.Event()
    yield event
    event.set()


def fast_retries(**overrides: object) -> tasks_v2.RetryConfig:
    values: dict[str, object] = {
        "min_backoff": timedelta(seconds=0.05),
        "max_backoff": timedelta(seconds=1),
        "max_doublings": 1,
    }
    values.update(overrides)
    return tasks_v2.RetryConfig(**values)


def http_task(url: str, **fields: object) -> tasks_v2.Task:
    request_fields = {key: fields.pop(key) for key in ("http_method", "headers", "body", "oidc_token") if key in fields}
    return tasks_v2.Task(http_request=tasks_v2.HttpRequest(url=url, **request_fields), **fields)


def task_exists(client: tasks_v2.CloudTasksClient, name: str) -> bool:
    try:
        client.get_task(name=name)
    except exceptions.NotFound:
        return False
    return True


def dispatcher_has_caught_up(
    client: tasks_v2.CloudTasksClient, target: RecordingTarget, make_queue: Callable[..., str]
) -> None:
    """Deliver a fresh task through another queue and wait for it.

    The scheduler starts every eligible attempt of every queue in one pass under the store lock, so once
    this later task has been delivered, any earlier task that was eligible has been started too. That
    turns "nothing was dispatched" into a deterministic check instead of a sleep.
    """
    path = f"/barrier-{uuid.uuid4().hex}"
    client.create_task(parent=make_queue(), task=http_task(target.url(path)))
    eventually(lambda: target.deliveries(path), what="barrier delivery")


def unverified_jwt_claims(token: str) -> tuple[dict[str, object], dict[str, object]]:
    def decode(segment: str) -> dict[str, object]:
        return json.loads(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)))

    header, payload, signature = token.split(".")
    assert signature == ""
    return decode(header), decode(payload)


# ------------------------------------------------------------------------------------- queues


def test_a_queue_can_be_created_read_listed_updated_and_deleted(
    client: tasks_v2.CloudTasksClient, location: str
) -> None:
    first = client.create_queue(parent=location, queue={"name": f"{location}/queues/alpha"})
    second = client.create_queue(
        parent=location,
        queue=tasks_v2.Queue(
            name=f"{location}/queues/beta",
            rate_limits=tasks_v2.RateLimits(max_dispatches_per_second=5, max_concurrent_dispatches=2),
        ),
    )

    assert first.state == tasks_v2.Queue.State.RUNNING
    assert first.retry_config.max_attempts == 100  # service defaults are filled in
    assert first.retry_config.min_backoff == timedelta(seconds=0.1)
    assert first.retry_config.max_backoff == timedelta(hours=1)
    assert first.rate_limits.max_dispatches_per_second == 500
    assert first.rate_limits.max_concurrent_dispatches == 1000
    assert second.rate_limits.max_burst_size == 5
    assert client.get_queue(name=first.name) == first

    pages = list(client.list_queues(request={"parent": location, "page_size": 1}).pages)
    assert [[queue.name for queue in page.queues] for page in pages] == [[first.name], [second.name]]

    updated = client.update_queue(
        queue=tasks_v2.Queue(
            name=first.name,
            retry_config=tasks_v2.RetryConfig(max_attempts=7, min_backoff=timedelta(seconds=2)),
            rate_limits=tasks_v2.RateLimits(max_dispatches_per_second=50),
        ),
        update_mask=field_mask_pb2.FieldMask(
            paths=["retry_config.max_attempts", "rate_limits.max_dispatches_per_second"]
        ),
    )
    assert updated.retry_config.max_attempts == 7
    assert updated.retry_config.min_backoff == timedelta(seconds=0.1)  # not in the mask: untouched
    assert updated.rate_limits.max_dispatches_per_second == 50
    assert updated.rate_limits.max_concurrent_dispatches == 1000
    assert client.get_queue(name=first.name) == updated

    client.delete_queue(name=first.name)
    with pytest.raises(exceptions.NotFound):
        client.get_queue(name=first.name)
    with pytest.raises(exceptions.NotFound):
        client.delete_queue(name=first.name)
    assert [queue.name for queue in client.list_queues(parent=location)] == [second.name]


def test_creating_a_queue_twice_is_rejected_as_already_exists(client: tasks_v2.CloudTasksClient, location: str) -> None:
    name = f"{location}/queues/twice"
    client.create_queue(parent=location, queue={"name": name})
    with pytest.raises(exceptions.AlreadyExists):
        client.create_queue(parent=location, queue={"name": name})


def test_malformed_requests_and_unknown_resources_get_the_matching_error(
    client: tasks_v2.CloudTasksClient, location: str, make_queue: Callable[..., str]
) -> None:
    with pytest.raises(exceptions.InvalidArgument):
        client.create_queue(parent=location, queue={"name": f"{location}/queues/not_valid!"})
    with pytest.raises(exceptions.InvalidArgument):
        client.create_queue(parent=location, queue={"name": f"{PROJECT}/locations/elsewhere/queues/q"})
    with pytest.raises(exceptions.InvalidArgument):
        client.create_queue(
            parent=location,
            queue=tasks_v2.Queue(
                name=f"{location}/queues/too-fast",
                rate_limits=tasks_v2.RateLimits(max_dispatches_per_second=501),
            ),
        )
    with pytest.raises(exceptions.NotFound):
        client.get_queue(name=f"{location}/queues/missing")
    with pytest.raises(exceptions.NotFound):
        client.create_task(parent=f"{location}/queues/missing", task=http_task("http://127.0.0.1:9/"))

    queue_name = make_queue()
    with pytest.raises(exceptions.InvalidArgument):
        client.create_task(
            parent=queue_name,
            task=http_task("http://127.0.0.1:9/", http_method=tasks_v2.HttpMethod.GET, body=b"x"),
        )
    with pytest.raises(exceptions.InvalidArgument):
        client.create_task(parent=queue_name, task=http_task("ftp://127.0.0.1/file"))
    with pytest.raises(exceptions.InvalidArgument):
        client.create_task(
            parent=queue_name, task=http_task("http://127.0.0.1:9/", name=f"{location}/queues/o/tasks/t")
        )


def test_pausing_and_resuming_a_queue_shows_in_its_state_and_in_the_list_filter(
    client: tasks_v2.CloudTasksClient, location: str, make_queue: Callable[..., str]
) -> None:
    paused, running = make_queue(), make_queue()

    assert client.pause_queue(name=paused).state == tasks_v2.Queue.State.PAUSED
    assert client.get_queue(name=paused).state == tasks_v2.Queue.State.PAUSED
    assert [queue.name for queue in client.list_queues(request={"parent": location, "filter": "state: PAUSED"})] == [
        paused
    ]
    assert client.resume_queue(name=paused).state == tasks_v2.Queue.State.RUNNING
    assert {queue.name for queue in client.list_queues(request={"parent": location, "filter": "state: RUNNING"})} == {
        paused,
        running,
    }


# -------------------------------------------------------------------------------------- tasks


def test_creating_a_task_twice_with_one_name_is_rejected_as_already_exists(
    client: tasks_v2.CloudTasksClient, make_queue: Callable[..., str]
) -> None:
    queue_name = make_queue()
    client.pause_queue(name=queue_name)
    task = http_task("http://127.0.0.1:9/", name=f"{queue_name}/tasks/only-once")

    assert client.create_task(parent=queue_name, task=task).name == task.name
    with pytest.raises(exceptions.AlreadyExists):
        client.create_task(parent=queue_name, task=task)


def test_a_task_name_stays_reserved_after_the_task_was_dispatched_or_deleted(
    client: tasks_v2.CloudTasksClient, target: RecordingTarget, make_queue: Callable[..., str]
) -> None:
    queue_name = make_queue()
    dispatched = http_task(target.url("/reserved"), name=f"{queue_name}/tasks/dispatched")
    deleted = http_task(
        target.url("/reserved"),
        name=f"{queue_name}/tasks/deleted",
        schedule_time=datetime.now(UTC) + timedelta(hours=1),
    )

    client.create_task(parent=queue_name, task=dispatched)
    client.create_task(parent=queue_name, task=deleted)
    eventually(lambda: not task_exists(client, dispatched.name), what="the dispatched task to finish")
    client.delete_task(name=deleted.name)

    assert len(target.deliveries("/reserved")) == 1
    for task in (dispatched, deleted):
        with pytest.raises(exceptions.AlreadyExists):
            client.create_task(parent=queue_name, task=task)


def test_tasks_can_be_read_listed_and_deleted_and_the_basic_view_omits_the_body(
    client: tasks_v2.CloudTasksClient, make_queue: Callable[..., str]
) -> None:
    queue_name = make_queue()
    client.pause_queue(name=queue_name)  # keep the tasks around
    named = client.create_task(
        parent=queue_name,
        task=http_task("http://127.0.0.1:9/a", name=f"{queue_name}/tasks/named", body=b"secret"),
    )
    generated = client.create_task(parent=queue_name, task=http_task("http://127.0.0.1:9/b", body=b"payload"))
    third = client.create_task(
        request={
            "parent": queue_name,
            "task": http_task("http://127.0.0.1:9/c", body=b"full"),
            "response_view": tasks_v2.Task.View.FULL,
        }
    )

    assert re.fullmatch(rf"{re.escape(queue_name)}/tasks/\d+", generated.name)
    assert named.view == tasks_v2.Task.View.BASIC
    assert named.http_request.body == b""
    assert third.view == tasks_v2.Task.View.FULL
    assert third.http_request.body == b"full"
    assert named.http_request.http_method == tasks_v2.HttpMethod.POST
    assert named.dispatch_deadline == timedelta(minutes=10)
    assert named.dispatch_count == 0

    full = client.get_task(request={"name": named.name, "response_view": tasks_v2.Task.View.FULL})
    assert full.http_request.body == b"secret"
    assert client.get_task(name=named.name).http_request.body == b""

    pages = list(
        client.list_tasks(
            request={"parent": queue_name, "page_size": 2, "response_view": tasks_v2.Task.View.FULL}
        ).pages
    )
    assert [[task.name for task in page.tasks] for page in pages] == [
        [named.name, generated.name],
        [third.name],
    ]
    assert [task.http_request.body for page in pages for task in page.tasks] == [
        b"secret",
        b"payload",
        b"full",
    ]

    client.delete_task(name=generated.name)
    with pytest.raises(exceptions.NotFound):
        client.get_task(name=generated.name)
    with pytest.raises(exceptions.NotFound):
        client.delete_task(name=generated.name)
    assert [task.name for task in client.list_tasks(parent=queue_name)] == [named.name, third.name]


# ----------------------------------------------------------------------------------- dispatch


def test_an_http_task_is_delivered_with_its_method_headers_body_and_the_cloud_tasks_headers(
    client: tasks_v2.CloudTasksClient, target: RecordingTarget, make_queue: Callable[..., str]
) -> None:
    queue_name = make_queue()
    task = client.create_task(
        parent=queue_name,
        task=http_task(
            target.url("/delivery?step=1"),
            name=f"{queue_name}/tasks/deliver-me",
            http_method=tasks_v2.HttpMethod.PUT,
            headers={"Content-Type": "application/json", "X-Custom": "yes", "User-Agent": "spoofed"},
            body=b'{"hello": "world"}',
        ),
    )

    (delivery,) = eventually(lambda: target.deliveries("/delivery"), what="the delivery")
    assert delivery.method == "PUT"
    assert delivery.body == b'{"hello": "world"}'
    assert delivery.headers["content-type"] == "application/json"
    assert delivery.headers["x-custom"] == "yes"
    assert delivery.headers["user-agent"] == "Google-Cloud-Tasks"
    assert delivery.headers["x-cloudtasks-queuename"] == queue_name.rsplit("/", 1)[1]
    assert delivery.headers["x-cloudtasks-taskname"] == "deliver-me"
    assert delivery.headers["x-cloudtasks-taskretrycount"] == "0"
    assert delivery.headers["x-cloudtasks-taskexecutioncount"] == "0"
    assert float(delivery.headers["x-cloudtasks-tasketa"]) == pytest.approx(task.schedule_time.timestamp(), abs=1e-5)
    assert "authorization" not in delivery.headers
    eventually(lambda: not task_exists(client, task.name), what="the succeeded task to be removed")


def test_an_oidc_task_carries_an_unsigned_bearer_token_for_its_audience(
    client: tasks_v2.CloudTasksClient, target: RecordingTarget, make_queue: Callable[..., str]
) -> None:
    queue_name = make_queue()
    account = "invoker@emulator-test.iam.gserviceaccount.com"
    client.create_task(
        parent=queue_name,
        task=http_task(
            target.url("/oidc-explicit"),
            oidc_token=tasks_v2.OidcToken(service_account_email=account, audience="https://my-service.example"),
        ),
    )
    client.create_task(
        parent=queue_name,
        task=http_task(target.url("/oidc-default"), oidc_token=tasks_v2.OidcToken(service_account_email=account)),
    )

    for path, audience in (
        ("/oidc-explicit", "https://my-service.example"),
        ("/oidc-default", target.url("/oidc-default")),
    ):
        (delivery,) = eventually(lambda path=path: target.deliveries(path), what=f"delivery to {path}")
        scheme, token = delivery.headers["authorization"].split(" ", 1)
        header, claims = unverified_jwt_claims(token)
        assert scheme == "Bearer"
        assert header["alg"] == "none"
        assert claims["aud"] == audience
        assert claims["email"] == account
        assert claims["iss"] == "https://accounts.google.com"
        assert isinstance(claims["exp"], int) and claims["exp"] > time.time()


def test_a_task_is_not_dispatched_before_its_schedule_time(
    client: tasks_v2.CloudTasksClient, target: RecordingTarget, make_queue: Callable[..., str]
) -> None:
    schedule_time = datetime.now(UTC) + timedelta(seconds=0.6)
    client.create_task(parent=make_queue(), task=http_task(target.url("/scheduled"), schedule_time=schedule_time))

    (delivery,) = eventually(lambda: target.deliveries("/scheduled"), what="the scheduled delivery")
    assert delivery.received_at >= schedule_time.timestamp()
    assert float(delivery.headers["x-cloudtasks-tasketa"]) == pytest.approx(schedule_time.timestamp(), abs=1e-5)


def test_a_failing_task_is_retried_with_backoff_until_it_succeeds_on_the_third_attempt(
    client: tasks_v2.CloudTasksClient, target: RecordingTarget, make_queue: Callable[..., str]
) -> None:
    statuses = [503, 400, 200]
    target.respond("/flaky", lambda _delivery, index: statuses[index])
    queue_name = make_queue(retry_config=fast_retries(min_backoff=timedelta(seconds=0.2), max_doublings=4))
    task = client.create_task(parent=queue_name, task=http_task(target.url("/flaky")))

    eventually(lambda: not task_exists(client, task.name), what="the task to succeed and disappear")
    deliveries = target.deliveries("/flaky")
    assert [d.headers["x-cloudtasks-taskretrycount"] for d in deliveries] == ["0", "1", "2"]
    # 5xx answers do not count as executions; the 400 does.
    assert [d.headers["x-cloudtasks-taskexecutioncount"] for d in deliveries] == ["0", "0", "1"]
    assert [d.headers.get("x-cloudtasks-taskpreviousresponse") for d in deliveries] == [None, "503", "400"]
    gaps = [later.received_at - earlier.received_at for earlier, later in pairwise(deliveries)]
    assert gaps[0] >= 0.2 - 0.01  # min_backoff
    assert gaps[1] >= 0.4 - 0.01  # doubled once


def test_a_task_that_keeps_failing_is_dropped_after_max_attempts(
    client: tasks_v2.CloudTasksClient, target: RecordingTarget, make_queue: Callable[..., str]
) -> None:
    target.respond("/always-failing", lambda _delivery, _index: 500)
    queue_name = make_queue(retry_config=fast_retries(max_attempts=3))
    task = client.create_task(parent=queue_name, task=http_task(target.url("/always-failing")))

    eventually(lambda: not task_exists(client, task.name), what="the task to be given up")
    # Removal happens after the last response is processed, so no later attempt can exist.
    assert [d.headers["x-cloudtasks-taskretrycount"] for d in target.deliveries("/always-failing")] == [
        "0",
        "1",
        "2",
    ]


def test_a_target_slower_than_the_dispatch_deadline_counts_as_a_failed_attempt(
    client: tasks_v2.CloudTasksClient,
    target: RecordingTarget,
    make_queue: Callable[..., str],
    gate: threading.Event,
) -> None:
    def first_attempt_hangs(_delivery: Delivery, index: int) -> int:
        if index == 0:
            gate.wait(5)  # released at teardown; the emulator gave up on it long before
        return 200

    target.respond("/slow", first_attempt_hangs)
    queue_name = make_queue(retry_config=fast_retries())
    # Paused, so the retry waits until the failed attempt has been inspected; RunTask ignores the pause.
    client.pause_queue(name=queue_name)
    task = client.create_task(
        parent=queue_name, task=http_task(target.url("/slow"), dispatch_deadline=timedelta(seconds=0.3))
    )
    client.run_task(name=task.name)
    eventually(lambda: target.deliveries("/slow"), what="the first attempt")

    def deadline_failure_recorded() -> bool:
        status = client.get_task(name=task.name).last_attempt.response_status
        return status.code == code_pb2.DEADLINE_EXCEEDED

    eventually(deadline_failure_recorded, what="the attempt to fail with DEADLINE_EXCEEDED")
    failed = client.get_task(name=task.name)
    assert failed.dispatch_count == 1
    assert failed.response_count == 0
    assert failed.dispatch_deadline == timedelta(seconds=0.3)

    client.resume_queue(name=queue_name)
    eventually(lambda: not task_exists(client, task.name), what="the retry to succeed")
    first, second = target.deliveries("/slow")
    assert second.received_at - first.received_at >= 0.3
    assert second.headers["x-cloudtasks-taskretrycount"] == "1"


def test_a_paused_queue_dispatches_nothing_until_it_is_resumed(
    client: tasks_v2.CloudTasksClient, target: RecordingTarget, make_queue: Callable[..., str]
) -> None:
    queue_name = make_queue()
    client.pause_queue(name=queue_name)
    task = client.create_task(parent=queue_name, task=http_task(target.url("/paused")))

    dispatcher_has_caught_up(client, target, make_queue)
    assert client.get_task(name=task.name).dispatch_count == 0
    assert target.deliveries("/paused") == []

    client.resume_queue(name=queue_name)
    eventually(lambda: target.deliveries("/paused"), what="delivery after resume")
    eventually(lambda: not task_exists(client, task.name), what="the task to finish")


def test_purging_a_queue_deletes_all_of_its_tasks(
    client: tasks_v2.CloudTasksClient, target: RecordingTarget, make_queue: Callable[..., str]
) -> None:
    queue_name = make_queue()
    client.pause_queue(name=queue_name)
    for _ in range(3):
        client.create_task(parent=queue_name, task=http_task(target.url("/purged")))
    assert len(list(client.list_tasks(parent=queue_name))) == 3

    purged = client.purge_queue(name=queue_name)
    assert list(client.list_tasks(parent=queue_name)) == []
    assert purged.purge_time.timestamp() == pytest.approx(time.time(), abs=5)

    client.resume_queue(name=queue_name)
    dispatcher_has_caught_up(client, target, make_queue)
    assert target.deliveries("/purged") == []


def test_a_queue_with_max_concurrent_dispatches_of_one_never_runs_two_tasks_at_once(
    client: tasks_v2.CloudTasksClient,
    target: RecordingTarget,
    make_queue: Callable[..., str],
    gate: threading.Event,
) -> None:
    def held_until_gate_opens(_delivery: Delivery, _index: int) -> int:
        gate.wait(5)
        return 200

    target.respond("/serial", held_until_gate_opens)
    queue_name = make_queue(rate_limits=tasks_v2.RateLimits(max_concurrent_dispatches=1))
    for _ in range(3):
        client.create_task(parent=queue_name, task=http_task(target.url("/serial")))

    eventually(lambda: target.deliveries("/serial"), what="the first delivery")
    dispatcher_has_caught_up(client, target, make_queue)  # the others were eligible, yet held back
    assert [task.dispatch_count for task in client.list_tasks(parent=queue_name)].count(0) == 2

    gate.set()
    eventually(lambda: list(client.list_tasks(parent=queue_name)) == [], what="all tasks to finish")
    assert len(target.deliveries("/serial")) == 3
    assert target.max_concurrency("/serial") == 1


def test_max_dispatches_per_second_spreads_dispatches_over_time(
    client: tasks_v2.CloudTasksClient, target: RecordingTarget, make_queue: Callable[..., str]
) -> None:
    # 5/s gives a burst of 5 from queue creation on: the 7th dispatch needs two refilled tokens (0.4 s).
    before_creation = time.time()
    queue_name = make_queue(rate_limits=tasks_v2.RateLimits(max_dispatches_per_second=5))
    for _ in range(7):
        client.create_task(parent=queue_name, task=http_task(target.url("/rate-limited")))

    eventually(lambda: len(target.deliveries("/rate-limited")) == 7, what="all seven deliveries")
    last_arrival = max(delivery.received_at for delivery in target.deliveries("/rate-limited"))
    assert last_arrival - before_creation >= 0.39


def test_run_task_dispatches_at_once_even_in_a_paused_queue_and_before_the_schedule_time(
    client: tasks_v2.CloudTasksClient, target: RecordingTarget, make_queue: Callable[..., str]
) -> None:
    queue_name = make_queue()
    client.pause_queue(name=queue_name)
    task = client.create_task(
        parent=queue_name,
        task=http_task(target.url("/run-now"), schedule_time=datetime.now(UTC) + timedelta(hours=1)),
    )

    ran = client.run_task(name=task.name)
    assert ran.dispatch_count == 1
    assert ran.first_attempt.dispatch_time.timestamp() == pytest.approx(time.time(), abs=5)
    eventually(lambda: target.deliveries("/run-now"), what="the forced delivery")
    eventually(lambda: not task_exists(client, task.name), what="the succeeded task to be removed")
    with pytest.raises(exceptions.NotFound):
        client.run_task(name=task.name)


def test_deleting_a_task_while_it_is_being_dispatched_is_harmless(
    client: tasks_v2.CloudTasksClient,
    target: RecordingTarget,
    make_queue: Callable[..., str],
    gate: threading.Event,
) -> None:
    def fails_when_gate_opens(_delivery: Delivery, _index: int) -> int:
        gate.wait(5)
        return 500

    target.respond("/in-flight", fails_when_gate_opens)
    queue_name = make_queue(retry_config=fast_retries())
    task = client.create_task(parent=queue_name, task=http_task(target.url("/in-flight")))
    eventually(lambda: target.deliveries("/in-flight"), what="the attempt to start")

    client.delete_task(name=task.name)
    gate.set()  # the attempt now fails; that must not resurrect or retry the task

    eventually(lambda: target.active("/in-flight") == 0, what="the failed attempt to be answered")
    dispatcher_has_caught_up(client, target, make_queue)
    assert not task_exists(client, task.name)
    assert list(client.list_tasks(parent=queue_name)) == []
    assert len(target.deliveries("/in-flight")) == 1


# --------------------------------------------------------------------------- retry arithmetic


def test_the_backoff_schedule_and_give_up_rule_follow_the_documented_retry_semantics() -> None:
    policy = RetryPolicy(max_attempts=10, min_backoff=10, max_backoff=300, max_doublings=3, max_retry_duration=0)
    # The example from the RetryConfig.max_doublings documentation.
    assert [policy.backoff(failures) for failures in range(1, 9)] == [10, 20, 40, 80, 160, 240, 300, 300]
    assert not policy.gives_up(attempts=9, first_attempt_at=0, now=1)
    assert policy.gives_up(attempts=10, first_attempt_at=0, now=1)

    timed = RetryPolicy(max_attempts=2, min_backoff=1, max_backoff=1, max_doublings=0, max_retry_duration=60)
    assert not timed.gives_up(attempts=5, first_attempt_at=0, now=59)  # both limits must be reached
    assert timed.gives_up(attempts=5, first_attempt_at=0, now=60)

    forever = RetryPolicy(max_attempts=-1, min_backoff=1, max_backoff=1, max_doublings=0, max_retry_duration=0)
    assert not forever.gives_up(attempts=10_000, first_attempt_at=0, now=10**9)


# ------------------------------------------------------------------------------------------ CLI


def _read_line_within(stream: IO[str], timeout: float) -> str:
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: lines.put(stream.readline()), daemon=True).start()
    try:
        return lines.get(timeout=timeout)
    except queue.Empty:
        pytest.fail(f"no ready line within {timeout}s")


def _text_of(stream: IO[bytes]) -> str:
    stream.seek(0)
    return stream.read().decode(errors="replace")


def test_the_command_line_entry_point_serves_the_api_and_exits_cleanly_on_sigterm(target: RecordingTarget) -> None:
    with tempfile.TemporaryFile() as stderr:
        process = subprocess.Popen(
            [sys.executable, "-m", "emulators.cloud_tasks", "--host", "127.0.0.1", "--port", "0"],
            cwd=REPO_ROOT,
            stdout=subprocess.PIPE,
            stderr=stderr,
            text=True,
            start_new_session=True,
        )
        assert process.stdout is not None
        try:
            line = _read_line_within(process.stdout, timeout=20)
            match = re.fullmatch(r"cloud-tasks-emulator listening on 127\.0\.0\.1:(\d+)\n", line)
            assert match, f"unexpected ready line {line!r}; stderr: {_text_of(stderr)}"
            assert int(match[1]) > 0

            cli_client, channel = _client_for(f"127.0.0.1:{match[1]}")
            try:
                location = f"{PROJECT}/locations/cli"
                created = cli_client.create_queue(parent=location, queue={"name": f"{location}/queues/from-cli"})
                assert cli_client.get_queue(name=created.name).state == tasks_v2.Queue.State.RUNNING
                cli_client.create_task(parent=created.name, task=http_task(target.url("/from-cli")))
                eventually(lambda: target.deliveries("/from-cli"), what="a delivery from the CLI emulator")
            finally:
                channel.close()

            os.killpg(process.pid, signal.SIGTERM)
            assert process.wait(timeout=10) == 0, _text_of(stderr)
        finally:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=10)
            process.stdout.close()
