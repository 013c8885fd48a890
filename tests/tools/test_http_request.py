"""``http_request``: only hosts on the operator's allow-list, bounded answers, and redirects
followed only on the same host. A real HTTP server on 127.0.0.1 answers."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from tools_support import executor
from workflow_executor.agents.toolbox import ToolCall
from workflow_executor.agents.tools.base import ToolEnv
from workflow_executor.agents.tools.registry import ToolRegistry
from workflow_executor.errors import HostNotAllowed, SpecError, Transient
from workflow_executor.models import ExecutionStatus
from workflow_executor.settings_tools import ToolSettings
from workflow_executor.spec import load_text

TOKEN = "tok-789-secret"


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *args: Any) -> None:  # quiet
        return None

    def _send(self, status: int, body: bytes, ctype: str = "application/json", location: str | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        if location:
            self.send_header("Location", location)
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        port = self.server.server_address[1]
        if self.path.startswith("/json"):
            self._send(200, json.dumps({"ok": True, "path": self.path}).encode())
        elif self.path == "/big":
            self._send(200, b"x" * 100_000, "text/plain")
        elif self.path == "/redirect-same":
            self._send(302, b"", location="/json?from=redirect")
        elif self.path == "/redirect-other":
            self._send(302, b"", location=f"http://localhost:{port}/json")
        else:
            self._send(404, b'{"error": "no such page"}')

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        if self.path == "/moved-mcp":  # an MCP URL that redirects elsewhere
            self._send(307, b"", location="http://localhost:1/mcp")
            return
        authorized = self.headers.get("X-Token") == TOKEN
        self._send(200, json.dumps({"got": json.loads(body or b"null"), "authorized": authorized}).encode())


@pytest.fixture(scope="module")
def site() -> Iterator[int]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()
    thread.join(5)


def _doc(extra: str = "") -> Any:
    return load_text(f"""
tools: [{{id: web, type: http_request{extra}}}]
workflows: {{w: {{steps: [{{id: s, tool: web, params: {{url: "http://127.0.0.1/"}}}}]}}}}
""")


def _call(port: int, allow: tuple[str, ...], doc: Any = None, env: dict[str, str] | None = None,
          **args: Any) -> Any:
    env = env or {}
    reg = ToolRegistry.from_env(ToolEnv(ToolSettings(http_allow=allow, max_result_bytes=20_000,
                                                     header_env_allow=frozenset(env), header_env=env)))
    return reg.run_tool("web", args, doc or _doc(), ToolCall("e", "s"))


def test_a_request_to_an_allowed_host_returns_status_and_body(site: int) -> None:
    out = _call(site, (f"127.0.0.1:{site}",), url=f"http://127.0.0.1:{site}/json", params={"q": "1"})
    assert out["status"] == 200
    assert out["body"] == {"ok": True, "path": "/json?q=1"}
    posted = _call(site, ("127.0.0.1",), url=f"http://127.0.0.1:{site}/", method="POST", json={"a": 1})
    assert posted["body"] == {"got": {"a": 1}, "authorized": False}
    assert _call(site, ("127.0.0.1",), url=f"http://127.0.0.1:{site}/nope")["status"] == 404


@pytest.mark.parametrize("allow", [(), ("example.com",), ("127.0.0.1:1",), ("*.example.com",), ("localhost",)])
def test_a_host_off_the_allow_list_is_refused(site: int, allow: tuple[str, ...]) -> None:
    with pytest.raises(HostNotAllowed) as err:
        _call(site, allow, url=f"http://127.0.0.1:{site}/json")
    assert err.value.code == "host_not_allowed"
    assert "WFX_HTTP_ALLOW" in (err.value.fix or "")


def test_a_tool_can_narrow_the_hosts(site: int) -> None:
    with pytest.raises(HostNotAllowed):
        _call(site, ("127.0.0.1",), _doc(", allowed_hosts: [api.example.com]"), url=f"http://127.0.0.1:{site}/json")


def test_redirects_are_followed_only_on_the_same_host(site: int) -> None:
    allow = ("127.0.0.1", "localhost")
    out = _call(site, allow, url=f"http://127.0.0.1:{site}/redirect-same")
    assert out["body"]["path"] == "/json?from=redirect"
    with pytest.raises(HostNotAllowed) as err:
        _call(site, allow, url=f"http://127.0.0.1:{site}/redirect-other")
    assert "redirects to another host" in err.value.message


def test_a_large_answer_is_cut_at_the_limit(site: int) -> None:
    out = _call(site, ("127.0.0.1",), url=f"http://127.0.0.1:{site}/big")
    assert out["truncated"] is True
    assert len(out["body"]) == 10_000  # half of the 20 kB result limit


def test_a_host_that_does_not_answer_is_transient() -> None:
    from wfx_mcp_support import free_port

    with pytest.raises(Transient):
        _call(0, ("127.0.0.1",), url=f"http://127.0.0.1:{free_port()}/")


def test_the_tools_headers_take_an_allowed_variable_and_never_show_it(site: int) -> None:
    doc = _doc(', headers: {X-Token: "${WEB_TOKEN}"}')
    out = _call(site, ("127.0.0.1",), doc, {"WEB_TOKEN": TOKEN}, url=f"http://127.0.0.1:{site}/", method="POST",
                json={"x": 1}, headers={"X-Token": "the model's guess"})
    assert out["body"]["authorized"] is True  # the tool's own header wins over the model's
    assert TOKEN not in json.dumps(out)


def test_an_http_request_step_runs_in_a_workflow_and_a_refused_host_fails_it(site: int, tmp_path: Path) -> None:
    wf = f"""
tools: [{{id: web, type: http_request}}]
workflows:
  w:
    steps:
      - {{id: get, tool: web, params: {{url: "http://127.0.0.1:{site}/json/${{user_input}}"}}}}
      - {{id: bad, tool: web, params: {{url: "http://localhost:{site}/json"}}}}
"""
    with executor(tmp_path, {"WFX_HTTP_ALLOW": f"127.0.0.1:{site}"}) as wfx:
        wfx.register(wf)
        done = wfx.run("w", "item")
    assert done.steps["get"].output["body"]["path"] == "/json/item"
    assert done.status == ExecutionStatus.FAILED
    assert done.error is not None and done.error.code == "host_not_allowed"


def test_a_header_variable_the_operator_does_not_allow_fails_validation(tmp_path: Path) -> None:
    wf = """
tools: [{id: web, type: http_request, headers: {Authorization: "${AWS_SECRET_ACCESS_KEY}"}}]
workflows: {w: {steps: [{id: s, tool: web, params: {url: "http://127.0.0.1/"}}]}}
"""
    with executor(tmp_path) as wfx, pytest.raises(SpecError) as err:
        wfx.register(wf)
    assert "AWS_SECRET_ACCESS_KEY" in err.value.issues[0].message


def test_the_mcp_client_does_not_follow_a_redirect(site: int) -> None:
    from workflow_executor.agents.tools.mcp_client import McpHttpClient
    from workflow_executor.errors import ToolFailed

    with pytest.raises(ToolFailed) as err:
        McpHttpClient(f"http://127.0.0.1:{site}/moved-mcp").list_tools()
    assert "redirect" in err.value.message
