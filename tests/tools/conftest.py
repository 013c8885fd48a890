"""Fixtures of the tools suite: a real ``wfx serve`` over loopback HTTP (the MCP peer of the
MCP client and of ``mcpremote``), and executors whose tools reach only what a test allows."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent.parent / "mcp"))  # the MCP suite's server helpers

from tools_support import MINI_KEY
from wfx_mcp_support import Server, start_server, stop


@pytest.fixture(scope="session")
def wfx_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    srv = start_server(tmp_path_factory.mktemp("tools-serve"))
    yield srv
    srv.session.close()
    assert srv.proc is not None
    stop(srv.proc)
    assert "Traceback" not in (srv.home / "server.log").read_text(), "the server logged an unexpected error"


@pytest.fixture(scope="session")
def mini_mcp(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The test's own MCP server (official SDK, sessions + SSE); yields its URL. Its
    ``secret_report`` tool wants ``X-API-Key: mini-key-123``."""
    import os
    import subprocess

    import requests
    from wfx_mcp_support import PYTHON, eventually, free_port

    port = free_port()
    log_path = tmp_path_factory.mktemp("mini") / "mini.log"
    with log_path.open("wb") as log:
        proc = subprocess.Popen([PYTHON, str(Path(__file__).parent / "mini_mcp_server.py"), str(port)],
                                env={**os.environ, "MINI_EXPECTED_KEY": MINI_KEY}, stdout=log,
                                stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}/mcp"

    def up() -> bool:
        if proc.poll() is not None:
            raise AssertionError(f"mini MCP server exited with {proc.returncode}: {log_path.read_text()[-2000:]}")
        try:
            with requests.get(url, timeout=1) as r:
                return r.status_code < 500
        except requests.ConnectionError:
            return False

    try:
        eventually(up, 20.0, 0.05)
        yield url
    finally:
        stop(proc)
