"""Helpers of the web view suite: keys by role, an in-process GET of the HTTP handler, and a
real ``wfx serve`` started and stopped by process group."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests
from support import eventually
from workflow_executor.mcp.auth import create_key
from workflow_executor.mcp.http import Response, handle
from workflow_executor.services import Services
from workflow_executor.settings import Settings

HERE = Path(__file__).parent
LOCAL = {"host": "127.0.0.1:4020"}


@dataclass(frozen=True)
class UiKeys:
    alice: str  # run, read, cancel
    bob: str  # run, read (no cancel)
    carol: str  # read only
    erin: str  # run only (no read)


def make_keys(settings: Settings) -> UiKeys:
    return UiKeys(alice=create_key(settings, ["run", "read", "cancel"], None, "alice"),
                  bob=create_key(settings, ["run", "read"], None, "bob"),
                  carol=create_key(settings, ["read"], None, "carol"),
                  erin=create_key(settings, ["run"], None, "erin"))


def get(services: Services, path: str, key: str | None = None, query: str = "") -> Response:
    headers = {**LOCAL, **({"Authorization": f"Bearer {key}"} if key else {})}
    return handle(services, "GET", path, headers, b"", query)


def text(resp: Response) -> str:
    return resp.body.decode("utf-8")


def free_port() -> int:
    with closing(socket.socket()) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Served:
    url: str
    home: Path
    proc: subprocess.Popen[bytes]

    def tool(self, key: str, name: str, **arguments: Any) -> dict[str, Any]:
        body = {"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": name, "arguments": arguments}}
        r = requests.post(self.url, json=body, headers={"Authorization": f"Bearer {key}"}, timeout=60)
        assert r.status_code == 200, r.text
        result: dict[str, Any] = r.json()["result"]
        return result


def serve(home: Path, env_extra: dict[str, str] | None = None) -> Served:
    """``wfx serve`` on a free loopback port with this suite's workflows; ready when /healthz answers."""
    shutil.copytree(HERE / "workflows", home / "workflows", dirs_exist_ok=True)
    port = free_port()
    env = {**os.environ, "WFX_HOME": str(home), "WFX_WORKFLOW_ROOTS": str(home / "workflows"), **(env_extra or {})}
    env.pop("WFX_API_KEYS", None)
    with (home / "server.log").open("wb") as log:
        proc = subprocess.Popen([sys.executable, "-m", "workflow_executor.mcp.serve", "--host", "127.0.0.1",
                                 "--port", str(port)], env=env, stdout=log, stderr=subprocess.STDOUT,
                                start_new_session=True)
    url = f"http://127.0.0.1:{port}/"

    def up() -> bool:
        assert proc.poll() is None, f"server exited with {proc.returncode}"
        try:
            with requests.get(url + "healthz", timeout=5) as r:
                return r.status_code == 200
        except requests.RequestException:
            return False

    eventually(up, 20.0, 0.05)
    return Served(url, home, proc)


def stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)
