"""Fixtures for the MCP endpoint suite: real servers over real HTTP.

``server`` is ``wfx serve`` (our ``serve`` in a subprocess) on loopback with no keys (open
mode); ``keyed`` is a second one with API keys. Each has its own WFX_HOME; tests isolate by
fresh ids and never assume an empty store.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from wfx_mcp_support import Keys, Server, start_server, stop


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    srv = start_server(tmp_path_factory.mktemp("open"))
    yield srv
    srv.session.close()
    assert srv.proc is not None
    stop(srv.proc)
    assert "Traceback" not in (srv.home / "server.log").read_text(), "the server logged an unexpected error"


@pytest.fixture(scope="session")
def keyed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, Keys]]:
    from workflow_executor.mcp.auth import create_key
    from workflow_executor.settings import Settings

    home = tmp_path_factory.mktemp("keyed")
    settings = Settings.from_env({"WFX_HOME": str(home)})
    keys = Keys(
        runner=create_key(settings, ["run", "read", "cancel", "generate"], None, "alice"),
        other=create_key(settings, ["run", "read", "cancel"], None, "bob"),
        reader=create_key(settings, ["read"], None, "carol"),
        limited=create_key(settings, ["run", "read"], ["echo"], "dave"),
        admin=create_key(settings, ["admin"], None, "root"),
    )
    srv = start_server(home)
    yield srv, keys
    srv.session.close()
    assert srv.proc is not None
    stop(srv.proc)
    assert "Traceback" not in (home / "server.log").read_text(), "the server logged an unexpected error"
