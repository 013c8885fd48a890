"""Test helpers (import as `wfx_procs`): a real `wfx serve` in its own process group on a free
loopback port, started with a bounded wait and stopped by its process group only."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path

from support import eventually

ROOT = Path(__file__).resolve().parents[1]
_DIRECT = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def free_port() -> int:
    with closing(socket.socket()) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def stop_group(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM the process group of ``proc``; SIGKILL after a bounded wait."""
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)


def _healthy(url: str, proc: subprocess.Popen[bytes]) -> bool:
    if proc.poll() is not None:
        raise AssertionError(f"wfx serve exited with {proc.returncode}")
    try:
        with _DIRECT.open(url + "healthz", timeout=5) as resp:
            return bool(resp.status == 200)
    except (urllib.error.URLError, OSError):
        return False


@contextmanager
def serving(home: Path, **env: str) -> Iterator[str]:
    """`wfx serve` with WFX_HOME=home and ``env``; yields its URL, stops it afterwards."""
    port = free_port()
    full = {**os.environ, "WFX_HOME": str(home), **env}
    home.mkdir(parents=True, exist_ok=True)
    with (home / "serve.log").open("wb") as log:
        proc = subprocess.Popen([sys.executable, "-m", "workflow_executor.cli", "serve", "--port", str(port)],
                                cwd=ROOT, env=full, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}/"
    try:
        eventually(lambda: _healthy(url, proc), timeout=30, interval=0.05, what="wfx serve to answer")
        yield url
    finally:
        stop_group(proc)
