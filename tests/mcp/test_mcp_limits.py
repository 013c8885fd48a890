"""Limits that protect the server and the caller: a body with a bogus length is refused before
it is read, and a sync run may not outlast the request that carries it."""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from wfx_mcp_support import Server, start_server, stop


def sc(result: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = result["structuredContent"]
    return out


def test_a_negative_content_length_is_refused_without_reading_the_body(server: Server) -> None:
    url = urlsplit(server.url)
    with socket.create_connection((url.hostname, url.port), timeout=10) as sock:
        sock.sendall(b"POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                     b"Content-Length: -1\r\n\r\n{\"jsonrpc\": \"2.0\"")  # never finished: must not matter
        head = sock.recv(200)
    assert head.startswith(b"HTTP/1.1 400")


def test_a_sync_run_longer_than_the_server_allows_is_refused_with_the_fix(tmp_path: Path) -> None:
    srv = start_server(tmp_path, {"WFX_SYNC_MAX_S": "60"})
    try:
        res = srv.tool("execute_workflow", workflow_name="echo", input_data={}, timeout=300)
        assert (res["isError"], sc(res)["code"], sc(res)["field"]) == (True, "invalid_argument", "timeout")
        assert srv.tool("execute_workflow", workflow_name="echo", input_data={}, timeout=30)["isError"] is False
        queued = srv.tool("execute_workflow", workflow_name="echo", input_data={}, timeout=300,
                          execution_mode="async")
        assert queued["isError"] is False
    finally:
        srv.session.close()
        assert srv.proc is not None
        stop(srv.proc)


def test_a_second_server_on_the_same_home_is_refused(server: Server) -> None:
    import os
    import subprocess
    import sys

    env = {**os.environ, "WFX_HOME": str(server.home)}
    out = subprocess.run([sys.executable, "-m", "workflow_executor.mcp.serve", "--port", "0"], env=env,
                         capture_output=True, text=True, timeout=30)
    assert out.returncode != 0
    assert "another wfx serve already runs" in out.stderr + out.stdout
