"""The one URL check (issue 18, items 2-3): userinfo is refused, ``..`` and percent-encoding are
resolved before the comparison, hosts and path segments compare whole, and what was checked is
what is sent - for ``mcp_call``, ``mcpremote`` and ``http_request`` alike. Two recording HTTP
servers on loopback show where requests (and the allowed header) really went."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from tools_support import executor
from workflow_executor.errors import InvalidArgument, SpecError
from workflow_executor.urls import allowed_by, parse

CALL = "langswarm.core.utils.workflows.functions.mcp_call"


@dataclass
class Recorder:
    url: str
    seen: list[tuple[str, dict[str, str]]] = field(default_factory=list)


@contextmanager
def recording() -> Iterator[Recorder]:
    """An HTTP server that records each request's path and headers and answers a JSON-RPC error."""
    rec = Recorder("")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            rec.seen.append((self.path, dict(self.headers)))
            body = json.dumps({"jsonrpc": "2.0", "id": 1, "error": {"code": -32601, "message": "no"}}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_POST

        def log_message(self, *_: Any) -> None:
            pass

    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    rec.url = f"http://127.0.0.1:{srv.server_address[1]}"
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    try:
        yield rec
    finally:
        srv.shutdown()
        srv.server_close()
        thread.join(5)


@pytest.mark.parametrize(("url", "entry", "allowed"), [
    ("https://api.example.com/mcp", "https://api.example.com", True),
    ("https://api.example.com.evil.net/", "https://api.example.com", False),
    ("https://api.example.com:444/", "https://api.example.com", False),
    ("http://api.example.com/", "https://api.example.com", False),
    ("http://h/mcp/../admin", "http://h/mcp", False),
    ("http://h/mcp/%2e%2e/admin", "http://h/mcp", False),
    ("http://h/mcp/./tools/../x", "http://h/mcp", True),
    ("http://h/mcpx", "http://h/mcp", False),
    ("http://h/mcp", "http://h/mcp/", True),
    ("HTTP://H:80/mcp", "http://h/mcp", True),
])
def test_urls_compare_by_scheme_host_port_and_whole_segments(url: str, entry: str, allowed: bool) -> None:
    assert allowed_by(parse(url), (entry,)) is allowed


@pytest.mark.parametrize("url", ["http://a:b@h/", "http://h@evil/", "http://h/mcp%2f..%2fadmin", "ftp://h/",
                                 "http://h/a\\..\\b", "http:///nohost"])
def test_userinfo_encoded_separators_and_other_schemes_are_refused(url: str) -> None:
    with pytest.raises(InvalidArgument) as info:
        parse(url)
    assert info.value.code == "invalid_argument"
    assert "a:b" not in info.value.message  # credentials never echoed


def test_the_checked_url_is_the_one_sent() -> None:
    assert parse("http://H:8080/mcp/./a/../b?x=1").text == "http://h:8080/mcp/b?x=1"


def _mcp_call_doc(url: str) -> dict[str, Any]:
    return {"workflows": {"w": {"steps": [{"id": "call", "function": CALL, "args": {
        "mcp_url": url, "payload": {"name": "anything", "arguments": {}}}, "output": {"to": "user"}}]}}}


def test_mcp_call_with_userinfo_never_reaches_the_host_behind_the_at_sign(tmp_path: Path) -> None:
    with recording() as allowed, recording() as other:
        sneaky = f"{allowed.url}@{other.url.removeprefix('http://')}/userinfo"
        with executor(tmp_path, {"WFX_MCP_ALLOW": allowed.url}) as wfx:
            out = wfx.run(workflow=_mcp_call_doc(sneaky)).steps["call"].output
        assert out["success"] is False and out["error"]["code"] == "invalid_argument", out
        assert other.seen == [] and allowed.seen == []


def test_mcp_call_refuses_a_host_that_merely_starts_like_an_allowed_one(tmp_path: Path) -> None:
    with recording() as srv, executor(tmp_path, {"WFX_MCP_ALLOW": "http://127.0.0"}) as wfx:
        out = wfx.run(workflow=_mcp_call_doc(srv.url + "/mcp")).steps["call"].output
        assert out["error"]["code"] == "mcp_url_not_allowed", out
        assert srv.seen == []


def test_mcpremote_does_not_carry_the_allowed_header_out_of_the_allowed_path(tmp_path: Path) -> None:
    with recording() as srv:
        env = {"WFX_MCP_ALLOW": srv.url + "/mcp", "WFX_MCP_HEADER_ENV": "MCP_TOKEN", "MCP_TOKEN": "tok-123"}
        doc = {"tools": [{"id": "r", "type": "mcpremote", "mcp_url": srv.url + "/mcp/../admin-with-token",
                          "headers": {"Authorization": "${MCP_TOKEN}"}}],
               "workflows": {"w": {"steps": [{"id": "t", "tool": "r", "params": {"name": "x", "arguments": {}}}]}}}
        s_env = {k: v for k, v in env.items() if k.startswith("WFX_")}
        with executor(tmp_path, s_env, header_env={"MCP_TOKEN": "tok-123"}) as wfx, \
                pytest.raises(SpecError) as info:
            wfx.run(workflow=doc)  # refused by validation, before anything is sent
        assert [i.path for i in info.value.issues] == ["tools.r.type"]
        assert "/admin-with-token" in info.value.issues[0].message and "tok-123" not in str(info.value)
        assert srv.seen == []
        # the same server under the allowed path gets the header (the check is not simply closed)
        doc["tools"][0]["mcp_url"] = srv.url + "/mcp/./"
        with executor(tmp_path, s_env, header_env={"MCP_TOKEN": "tok-123"}) as wfx:
            wfx.run(workflow=doc)
        assert srv.seen and all(path == "/mcp/" and h.get("Authorization") == "tok-123" for path, h in srv.seen)


def test_http_request_refuses_userinfo_and_sends_the_normalised_path(tmp_path: Path) -> None:
    with recording() as srv:
        host = srv.url.removeprefix("http://")
        doc = {"tools": [{"id": "web", "type": "http_request"}],
               "workflows": {"w": {"steps": [{"id": "t", "tool": "web",
                                              "params": {"method": "POST", "url": "${input.u}"}}]}}}
        with executor(tmp_path, {"WFX_HTTP_ALLOW": host}) as wfx:
            bad = wfx.run(workflow=doc, input={"u": f"http://x:y@{host}/a"})
            assert bad.error is not None and bad.error.code == "invalid_argument", bad.error
            assert srv.seen == []
            good = wfx.run(workflow=doc, input={"u": f"{srv.url}/a/./b/../c"})
            assert good.status.value == "completed", good.error
        assert [p for p, _ in srv.seen] == ["/a/c"]
