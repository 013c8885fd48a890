"""Fixtures of the tools suite: a real ``wfx serve`` over loopback HTTP (the MCP peer of the
MCP client and of ``mcpremote``), and executors whose tools reach only what a test allows."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent.parent / "mcp"))  # the MCP suite's server helpers

from wfx_mcp_support import Server, start_server, stop


@pytest.fixture(scope="session")
def wfx_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    srv = start_server(tmp_path_factory.mktemp("tools-serve"))
    yield srv
    srv.session.close()
    assert srv.proc is not None
    stop(srv.proc)
    assert "Traceback" not in (srv.home / "server.log").read_text(), "the server logged an unexpected error"
