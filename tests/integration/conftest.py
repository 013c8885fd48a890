"""Adapters on the emulators: each emulator starts once per session (emulators.session) and
stops at its end; tests isolate by fresh ids, topics, queues and workflow names."""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from workflow_executor.services import Services, build
from workflow_executor.settings import Settings

from emulators import session as emulators

PROJECT = emulators.PROJECT


@pytest.fixture(scope="session", autouse=True)
def _stop_emulators() -> Iterator[None]:
    yield
    emulators.stop_all()


@pytest.fixture(scope="session")
def firestore_host() -> str:
    return emulators.firestore().host_port


@pytest.fixture(scope="session")
def pubsub_host() -> str:
    return emulators.pubsub().host_port


@pytest.fixture(scope="session")
def tasks_host() -> str:
    return str(emulators.cloud_tasks().address)


def fresh(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


@pytest.fixture
def firestore_settings(firestore_host: str) -> Settings:
    """Settings of a process on the Firestore store, local queue and in-process events."""
    return Settings(store="firestore", gcp_project=PROJECT, queue="local", events="local",
                    function_modules=("tests.e2e.fixtures",), lease_ttl_s=30.0,
                    events_topic=f"projects/{PROJECT}/topics/wfx-events")


@pytest.fixture
def services(firestore_settings: Settings) -> Iterator[Services]:
    svc = build(replace(firestore_settings), with_queue=False)
    yield svc
    svc.close()


@dataclass
class Delivery:
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Recorder:
    """A local HTTP target that records every POST and answers ``status``."""

    url: str
    deliveries: list[Delivery] = field(default_factory=list)
    status: Callable[[Delivery], int] = lambda d: 200


@pytest.fixture
def recorder() -> Iterator[Recorder]:
    rec = Recorder(url="")

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            d = Delivery(self.path, {k.lower(): v for k, v in self.headers.items()}, body)
            rec.deliveries.append(d)
            self.send_response(rec.status(d))
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            return None

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    rec.url = f"http://127.0.0.1:{server.server_port}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield rec
    server.shutdown()
    server.server_close()


class RecordingQueue:
    """A TaskQueue that records what it is asked to deliver."""

    def __init__(self) -> None:
        self.requests: list[Any] = []
        self.cancelled: list[str] = []

    def enqueue(self, request: Any) -> None:
        self.requests.append(request)

    def cancel(self, execution_id: str) -> None:
        self.cancelled.append(execution_id)


@pytest.fixture
def queued_services(firestore_settings: Settings) -> Iterator[tuple[Services, RecordingQueue]]:
    """Services on Firestore whose queue records instead of delivering."""
    svc = build(replace(firestore_settings, worker_secret="s3cret"), with_queue=False)
    q = RecordingQueue()
    svc.queue = q
    yield svc, q
    svc.close()
