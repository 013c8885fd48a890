"""The real Firestore and Pub/Sub emulators start, serve the official clients and stop cleanly.

Both emulators start once for this module; tests isolate themselves with fresh ids.
"""

from __future__ import annotations

import base64
import json
import os
import queue
import shutil
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, TypeVar

import grpc
import pytest
from google.auth.credentials import AnonymousCredentials
from google.cloud import firestore, pubsub_v1
from google.pubsub_v1.services.publisher.transports import PublisherGrpcTransport
from google.pubsub_v1.services.subscriber.transports import SubscriberGrpcTransport

from emulators import gcp

PROJECT = "wfx-test"
T = TypeVar("T")


def _emulators_installed() -> bool:
    root = gcp.sdk_root()
    return (
        shutil.which("java") is not None
        and (root / gcp.FIRESTORE_JAR).is_file()
        and (root / gcp.PUBSUB_SCRIPT).is_file()
    )


pytestmark = pytest.mark.skipif(
    not _emulators_installed(),
    reason="java or the gcloud Firestore/Pub/Sub emulator components are not installed",
)


def eventually(probe: Callable[[], T | None], timeout: float = 10, interval: float = 0.02) -> T:
    """Poll `probe` until it returns something other than None, or fail after `timeout` s."""
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value is not None:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(f"{getattr(probe, '__name__', probe)} still None after {timeout}s")
        time.sleep(interval)


def _fresh(kind: str) -> str:
    return f"{kind}-{uuid.uuid4().hex[:12]}"


def _port_is_bindable(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def _group_exists(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


@pytest.fixture(scope="module")
def firestore_emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[gcp.EmulatorProcess]:
    proc = gcp.start_firestore(log_dir=tmp_path_factory.mktemp("firestore-log"))
    yield proc
    proc.stop()


@pytest.fixture(scope="module")
def pubsub_emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[gcp.EmulatorProcess]:
    proc = gcp.start_pubsub(log_dir=tmp_path_factory.mktemp("pubsub-log"))
    yield proc
    proc.stop()


@pytest.fixture
def firestore_client(firestore_emulator: gcp.EmulatorProcess, monkeypatch: pytest.MonkeyPatch) -> firestore.Client:
    # The Firestore client only finds an emulator through this variable.
    monkeypatch.setenv("FIRESTORE_EMULATOR_HOST", firestore_emulator.host_port)
    return firestore.Client(project=PROJECT, credentials=AnonymousCredentials())


@pytest.fixture
def publisher(pubsub_emulator: gcp.EmulatorProcess) -> Iterator[pubsub_v1.PublisherClient]:
    channel = grpc.insecure_channel(pubsub_emulator.host_port)
    client = pubsub_v1.PublisherClient(transport=PublisherGrpcTransport(channel=channel))
    yield client
    client.stop()
    channel.close()


@pytest.fixture
def subscriber(pubsub_emulator: gcp.EmulatorProcess) -> Iterator[pubsub_v1.SubscriberClient]:
    channel = grpc.insecure_channel(pubsub_emulator.host_port)
    client = pubsub_v1.SubscriberClient(transport=SubscriberGrpcTransport(channel=channel))
    yield client
    client.close()


class _PushReceiver:
    """A loopback HTTP server that queues every POST it receives as (path, json body)."""

    def __init__(self) -> None:
        self.received: queue.Queue[tuple[str, dict[str, Any]]] = queue.Queue()
        received = self.received

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                received.put((self.path, json.loads(body)))
                self.send_response(204)
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_port}"

    def next_push(self) -> tuple[str, dict[str, Any]] | None:
        try:
            return self.received.get_nowait()
        except queue.Empty:
            return None

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


@pytest.fixture
def push_receiver() -> Iterator[_PushReceiver]:
    receiver = _PushReceiver()
    yield receiver
    receiver.close()


def test_firestore_client_reads_back_the_document_it_wrote(firestore_client: firestore.Client) -> None:
    doc = firestore_client.collection(_fresh("executions")).document(_fresh("exec"))
    doc.set({"status": "queued", "created_at_s": 1700000000})

    snapshot = doc.get()

    assert snapshot.exists
    assert snapshot.to_dict() == {"status": "queued", "created_at_s": 1700000000}


def test_reset_firestore_deletes_the_documents_of_that_project_only(
    firestore_emulator: gcp.EmulatorProcess, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FIRESTORE_EMULATOR_HOST", firestore_emulator.host_port)
    doomed_project, kept_project = _fresh("wfx-reset"), _fresh("wfx-kept")
    doomed = firestore.Client(project=doomed_project, credentials=AnonymousCredentials())
    kept = firestore.Client(project=kept_project, credentials=AnonymousCredentials())
    doomed_doc = doomed.collection("executions").document("one")
    kept_doc = kept.collection("executions").document("one")
    doomed_doc.set({"n": 1})
    kept_doc.set({"n": 1})

    gcp.reset_firestore(firestore_emulator.host_port, doomed_project)

    assert not doomed_doc.get().exists
    assert kept_doc.get().exists


def test_pull_subscription_receives_a_published_message_with_its_attributes(
    publisher: pubsub_v1.PublisherClient, subscriber: pubsub_v1.SubscriberClient
) -> None:
    topic = publisher.topic_path(PROJECT, _fresh("events"))
    subscription = subscriber.subscription_path(PROJECT, _fresh("pull"))
    publisher.create_topic(name=topic)
    subscriber.create_subscription(name=subscription, topic=topic)

    message_id = publisher.publish(topic, b"step.completed", execution_id="e-1").result(timeout=10)
    response = subscriber.pull(subscription=subscription, max_messages=1, timeout=10)

    assert len(response.received_messages) == 1
    message = response.received_messages[0].message
    assert message.message_id == message_id
    assert message.data == b"step.completed"
    assert dict(message.attributes) == {"execution_id": "e-1"}
    subscriber.acknowledge(subscription=subscription, ack_ids=[response.received_messages[0].ack_id])


def test_push_subscription_delivers_the_message_to_a_local_http_endpoint(
    publisher: pubsub_v1.PublisherClient,
    subscriber: pubsub_v1.SubscriberClient,
    push_receiver: _PushReceiver,
) -> None:
    topic = publisher.topic_path(PROJECT, _fresh("events"))
    subscription = subscriber.subscription_path(PROJECT, _fresh("push"))
    publisher.create_topic(name=topic)
    subscriber.create_subscription(
        request={
            "name": subscription,
            "topic": topic,
            "push_config": {"push_endpoint": f"{push_receiver.url}/events"},
        }
    )

    message_id = publisher.publish(topic, b"execution.completed", kind="execution").result(timeout=10)
    path, body = eventually(push_receiver.next_push)

    assert path == "/events"
    assert body["subscription"] == subscription
    assert body["message"]["messageId"] == message_id
    assert base64.b64decode(body["message"]["data"]) == b"execution.completed"
    assert body["message"]["attributes"] == {"kind": "execution"}


def test_emulator_env_names_the_variable_the_official_client_reads(
    firestore_emulator: gcp.EmulatorProcess, pubsub_emulator: gcp.EmulatorProcess
) -> None:
    assert firestore_emulator.env == {"FIRESTORE_EMULATOR_HOST": f"127.0.0.1:{firestore_emulator.port}"}
    assert pubsub_emulator.env == {"PUBSUB_EMULATOR_HOST": f"127.0.0.1:{pubsub_emulator.port}"}


@pytest.mark.parametrize("start", [gcp.start_firestore, gcp.start_pubsub], ids=["firestore", "pubsub"])
def test_stop_ends_the_process_group_and_frees_the_port(
    start: Callable[..., gcp.EmulatorProcess], tmp_path: Path
) -> None:
    proc = start(log_dir=tmp_path)
    assert proc.is_running()
    assert _group_exists(proc.pgid)
    assert not _port_is_bindable(proc.port)

    proc.stop(timeout=10)

    assert not _group_exists(proc.pgid)
    assert _port_is_bindable(proc.port)
    proc.stop()  # a second stop is a no-op


def test_starting_on_a_port_in_use_fails_before_spawning_anything(
    firestore_emulator: gcp.EmulatorProcess, tmp_path: Path
) -> None:
    with pytest.raises(gcp.EmulatorError):
        gcp.start_firestore(port=firestore_emulator.port, log_dir=tmp_path)

    assert list(tmp_path.iterdir()) == []


def test_a_non_loopback_host_is_refused() -> None:
    with pytest.raises(gcp.EmulatorError):
        gcp.start_pubsub(host="0.0.0.0")


def _fake_sdk(root: Path, script_body: str) -> Path:
    """An SDK root whose Pub/Sub launcher is `script_body` (a POSIX sh script)."""
    script = root / gcp.PUBSUB_SCRIPT
    script.parent.mkdir(parents=True)
    script.write_text("#!/bin/sh\n" + script_body)
    script.chmod(0o755)
    return root


def test_an_emulator_that_exits_early_fails_with_its_log_tail(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CLOUDSDK_ROOT", str(_fake_sdk(tmp_path / "sdk", "echo launcher-broke >&2\nexit 3\n")))

    with pytest.raises(gcp.EmulatorStartError) as caught:
        gcp.start_pubsub(log_dir=tmp_path, ready_timeout=10)

    assert caught.value.name == "pubsub"
    assert "launcher-broke" in str(caught.value)
    assert not _group_exists(caught.value.pgid)


def test_an_emulator_that_never_becomes_ready_is_stopped_after_the_timeout(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The child of the launcher shares its group and must go too.
    monkeypatch.setenv("CLOUDSDK_ROOT", str(_fake_sdk(tmp_path / "sdk", "sleep 60 &\nexec sleep 60\n")))

    started = time.monotonic()
    with pytest.raises(gcp.EmulatorStartError) as caught:
        gcp.start_pubsub(log_dir=tmp_path, ready_timeout=0.5)

    assert time.monotonic() - started < 10
    assert not _group_exists(caught.value.pgid)
