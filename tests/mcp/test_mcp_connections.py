"""``wfx serve`` under a flood of stalled connections and stuck steps: connections beyond the
cap get a clear 503 (``/healthz`` still answers), silent connections are closed after the read
timeout so threads never pile up, and the threads of timed-out steps are bounded and counted
in ``/healthz``."""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from wfx_mcp_support import Server, eventually, start_server, stop

CAP = 8
READ_TIMEOUT_S = 3


@pytest.fixture(scope="module")
def guarded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    srv = start_server(tmp_path_factory.mktemp("conns"), {
        "WFX_HTTP_MAX_CONNECTIONS": str(CAP), "WFX_HTTP_READ_TIMEOUT_S": str(READ_TIMEOUT_S),
        "WFX_MAX_STRAY_THREADS": "1"})
    yield srv
    srv.session.close()
    assert srv.proc is not None
    stop(srv.proc)
    assert "Traceback" not in (srv.home / "server.log").read_text()


def threads(srv: Server) -> int:
    assert srv.proc is not None
    return len(os.listdir(f"/proc/{srv.proc.pid}/task"))


def ping(srv: Server) -> requests.Response:
    return requests.post(srv.url, json={"jsonrpc": "2.0", "id": 1, "method": "ping"}, timeout=5)


def test_stalled_connections_are_capped_answered_503_and_closed_after_the_read_timeout(guarded: Server) -> None:
    srv = guarded
    assert ping(srv).status_code == 200
    before = threads(srv)
    port = int(srv.url.rstrip("/").rsplit(":", 1)[1])
    stalled = [socket.create_connection(("127.0.0.1", port), timeout=10) for _ in range(60)]
    try:
        busy = ping(srv)  # every slot is held by a silent connection
        assert busy.status_code == 503 and busy.headers["Retry-After"] == "1"
        assert busy.json()["error"]["data"]["code"] == "unavailable"
        t0 = time.perf_counter()
        health = requests.get(srv.url + "healthz", timeout=5)
        assert health.status_code == 200 and health.json()["status"] == "ok"
        assert time.perf_counter() - t0 < 1.0
        assert threads(srv) - before <= CAP + 2, (before, threads(srv))  # unbounded: one thread each
        for s in stalled:  # the server closes every silent connection (EOF), within the timeout and a margin
            assert s.recv(1) == b""
        eventually(lambda: ping(srv).status_code == 200, READ_TIMEOUT_S + 2)
    finally:
        for s in stalled:
            s.close()


def test_timed_out_steps_are_bounded_and_counted_in_healthz(guarded: Server) -> None:
    srv = guarded
    doc = {"workflows": {"stuck": {"steps": [
        {"id": "s", "function": "builtins.sleep", "args": {"seconds": 2}, "timeout": 0.2}]}}}
    first = srv.tool("execute_workflow", workflow=doc, input_data={})["structuredContent"]
    assert first["error"]["code"] == "step_timeout"
    health = srv.session.get(srv.url + "healthz", timeout=5).json()
    assert (health["stray_step_threads"], health["stray_step_threads_limit"]) == (1, 1)
    second = srv.tool("execute_workflow", workflow=doc, input_data={})["structuredContent"]
    assert second["error"]["code"] == "limit_exceeded"
    eventually(lambda: srv.session.get(srv.url + "healthz", timeout=5).json()["stray_step_threads"] == 0, 10)


def test_settings_are_documented() -> None:
    readme = (Path(__file__).parents[2] / "README.md").read_text()
    for name in ("WFX_HTTP_MAX_CONNECTIONS", "WFX_HTTP_READ_TIMEOUT_S", "WFX_MAX_STRAY_THREADS"):
        assert name in readme, name
