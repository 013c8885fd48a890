"""Helpers of the MCP endpoint suite: start/stop a real server, a small JSON-RPC client,
and ``eventually()`` (bounded polling instead of sleeps)."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests

HERE = Path(__file__).parent
WORKFLOWS = HERE / "workflows"
PYTHON = sys.executable


def free_port() -> int:
    with closing(socket.socket()) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def eventually(check: Callable[[], Any], timeout: float = 10.0, interval: float = 0.02) -> Any:
    """Poll ``check`` until it returns a truthy value; fail after ``timeout`` seconds."""
    end = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > end:
            raise AssertionError(f"condition not met within {timeout} s (last value: {value!r})")
        time.sleep(interval)


@dataclass
class Server:
    """A running endpoint and a small JSON-RPC client for it."""

    url: str
    home: Path
    proc: subprocess.Popen[bytes] | None = None
    headers: dict[str, str] = field(default_factory=dict)
    session: requests.Session = field(default_factory=requests.Session)

    def post(self, payload: Any, headers: dict[str, str] | None = None, raw: bytes | None = None,
             path: str = "") -> requests.Response:
        hdrs = {"Content-Type": "application/json", **self.headers, **(headers or {})}
        if raw is not None:
            return self.session.post(self.url + path, data=raw, headers=hdrs, timeout=60)
        return self.session.post(self.url + path, json=payload, headers=hdrs, timeout=60)

    def rpc(self, method: str, params: dict[str, Any] | None = None, headers: dict[str, str] | None = None,
            rid: Any = None) -> dict[str, Any]:
        body: dict[str, Any] = {"jsonrpc": "2.0", "id": rid if rid is not None else uuid.uuid4().hex[:8],
                                "method": method}
        if params is not None:
            body["params"] = params
        resp = self.post(body, headers)
        assert resp.status_code == 200, resp.text
        data: dict[str, Any] = resp.json()
        return data

    def tool(self, name: str, headers: dict[str, str] | None = None, **arguments: Any) -> dict[str, Any]:
        """tools/call; returns the CallToolResult (fails on a JSON-RPC error)."""
        data = self.rpc("tools/call", {"name": name, "arguments": arguments}, headers)
        assert "result" in data, data
        result: dict[str, Any] = data["result"]
        return result

    def executions_stored(self) -> int:
        with closing(sqlite3.connect(self.home / "wfx.db")) as db:
            return int(db.execute("SELECT COUNT(*) FROM executions").fetchone()[0])


def start_server(home: Path, env_extra: dict[str, str] | None = None) -> Server:
    """``python -m workflow_executor.mcp.serve`` with its own home; ready when /healthz answers."""
    roots = home / "workflows"
    shutil.copytree(WORKFLOWS, roots, dirs_exist_ok=True)
    port = free_port()
    env = {**os.environ, "WFX_HOME": str(home), "WFX_WORKFLOW_ROOTS": str(roots), **(env_extra or {})}
    env.pop("WFX_API_KEYS", None)
    log = (home / "server.log").open("wb")
    proc = subprocess.Popen([PYTHON, "-m", "workflow_executor.mcp.serve", "--host", "127.0.0.1",
                             "--port", str(port)], env=env, stdout=log, stderr=subprocess.STDOUT,
                            start_new_session=True)
    log.close()
    srv = Server(f"http://127.0.0.1:{port}/", home, proc)
    wait_ready(srv.url, proc)
    return srv


def wait_ready(url: str, proc: subprocess.Popen[bytes], timeout: float = 20.0) -> None:
    def up() -> bool:
        if proc.poll() is not None:
            raise AssertionError(f"server exited with {proc.returncode}")
        try:  # a cold instance builds its services on the first request: slow on a loaded machine
            with requests.get(url + "healthz", timeout=5) as r:
                return r.status_code == 200
        except (requests.ConnectionError, requests.Timeout):
            return False

    eventually(up, timeout, 0.05)


def stop(proc: subprocess.Popen[bytes]) -> None:
    """Stop the process group; escalate to SIGKILL after a bounded wait."""
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)


@dataclass
class Keys:
    """Plain keys of the keyed server, by role."""

    runner: str
    other: str
    reader: str
    limited: str
    admin: str


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}
