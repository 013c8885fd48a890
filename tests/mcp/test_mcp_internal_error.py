"""The outermost handler: a bug or backend fault is answered as a generic -32603 over HTTP
(never a 5xx, never details), and the traceback is logged server-side with a reference."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from werkzeug.serving import make_server
from workflow_executor.mcp.serve import wsgi_app
from workflow_executor.services import build
from workflow_executor.settings import Settings


@pytest.fixture
def broken_store_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    services = build(Settings.from_env({"WFX_HOME": str(tmp_path), "WFX_STORE": "memory"}))

    def boom(*_: Any, **__: Any) -> None:
        raise RuntimeError("secret detail: /etc/shadow at 10.0.0.7")

    monkeypatch.setattr(services.store, "get", boom)
    server = make_server("127.0.0.1", 0, wsgi_app(services), threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(10)
        services.close()


def test_an_unexpected_error_is_a_generic_internal_error(broken_store_url: str,
                                                        caplog: pytest.LogCaptureFixture) -> None:
    body = {"jsonrpc": "2.0", "id": 9, "method": "tools/call",
            "params": {"name": "check_execution_status", "arguments": {"execution_id": "x"}}}
    with requests.post(broken_store_url, json=body, timeout=10) as r:
        assert r.status_code == 200
        data = r.json()
    assert data["id"] == 9
    assert data["error"]["code"] == -32603
    assert "secret" not in r.text and "Traceback" not in r.text and "shadow" not in r.text
    logged = [rec for rec in caplog.records if rec.exc_info and "MCP request failed" in rec.getMessage()]
    assert logged
    ref = data["error"]["message"].split("ref ")[1].split(")")[0]
    assert ref in logged[0].getMessage()
