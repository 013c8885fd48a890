"""A local OpenAI-compatible chat-completions server for tests (``from llm_server import LLMServer``).

It speaks enough of the OpenAI HTTP API for the official ``openai`` client: ``POST
/v1/chat/completions`` (text, tool calls, JSON mode and ``json_schema`` structured output, usage
numbers, error answers shaped like OpenAI's), ``POST /v1/embeddings`` (deterministic hashed
bag-of-words vectors, ``llm_replies.hashed_embedding``) and ``GET /v1/models``. Replies come from a script
(``script(*replies)``), then from ``responder(body)``, then from a deterministic default. It runs
in a thread (``with LLMServer() as llm``) or as a child process in its own process group
(``LLMServer.process()``) driven through ``/_control/*`` endpoints, for crash tests.

A reply is one of:
  - ``"text"``                                   an assistant message
  - ``{"text": "..."}``                          the same, with options
  - ``{"tool_calls": [{"name", "arguments", "id"?}], "text"?}``  tool calls (arguments: dict or raw str)
  - ``{"json": obj}``                            an assistant message holding ``json.dumps(obj)``
  - ``{"status": 401|404|429|500|400|..., "message"?, "code"?, "type"?, "headers"?}``  an error
options on any dict reply: ``delay_s`` (answer late), ``usage`` ({prompt_tokens, completion_tokens}),
``finish_reason`` (e.g. "length", "content_filter"). Like a real server, a reply never has more
completion tokens than the request's ``max_tokens`` / ``max_completion_tokens`` (it stops with
"length"). ``usages`` lists the usage of every completion answered, as the client received it.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import json
import os
import selectors
import signal
import socket
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from llm_replies import Reply, Responder, completion, default_reply, embeddings, minimal_instance

__all__ = ["LLMProcess", "LLMServer", "Reply", "Responder", "minimal_instance"]


class _State:
    """What the handler threads share: the script, the request log, the stop flag."""

    def __init__(self, models: list[str] | None, api_key: str | None) -> None:
        self.lock = threading.Lock()
        self.script: list[Reply] = []
        self.requests: list[dict[str, Any]] = []
        self.embedding_requests: list[dict[str, Any]] = []
        self.usages: list[dict[str, Any]] = []
        self.headers: list[dict[str, str]] = []
        self.responder: Responder | None = None
        self.models = models
        self.api_key = api_key
        self.stopping = threading.Event()
        self.connections: set[socket.socket] = set()
        self.counter = 0

    def next_reply(self, body: dict[str, Any]) -> Reply:
        with self.lock:
            if self.script:
                return self.script.pop(0)
            responder = self.responder
        return responder(body) if responder is not None else default_reply(body)


def _handler(state: _State) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as the openai client expects
        # headers and body go out in two writes: with Nagle on, each answer waits ~40 ms for the
        # client's delayed ACK
        disable_nagle_algorithm = True

        def setup(self) -> None:
            super().setup()
            with state.lock:
                state.connections.add(self.connection)

        def finish(self) -> None:
            with state.lock:
                state.connections.discard(self.connection)
            super().finish()

        def log_message(self, format: str, *args: Any) -> None:  # quiet
            pass

        def _send(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for k, v in (headers or {}).items():
                self.send_header(k, str(v))
            self.end_headers()
            self.wfile.write(data)

        def _read(self) -> Any:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            return json.loads(raw or b"{}")

        def do_GET(self) -> None:
            path = self.path.split("?")[0].rstrip("/")
            if path == "/v1/models":
                names = state.models or ["gpt-4o-mini", "test-model"]
                self._send(200, {"object": "list", "data": [
                    {"id": m, "object": "model", "created": 0, "owned_by": "test"} for m in names]})
            elif path == "/_control/requests":
                with state.lock:
                    self._send(200, {"requests": list(state.requests), "headers": list(state.headers)})
            elif path == "/_control/health":
                self._send(200, {"ok": True, "pid": os.getpid()})
            else:
                self._send(404, {"error": {"message": f"no route {path}", "type": "invalid_request_error",
                                           "param": None, "code": None}})

        def do_POST(self) -> None:
            path = self.path.split("?")[0].rstrip("/")
            try:
                body = self._read()
            except ValueError:
                self._send(400, {"error": {"message": "We could not parse the JSON body of your request.",
                                           "type": "invalid_request_error", "param": None, "code": None}})
                return
            if path == "/_control/script":
                with state.lock:
                    state.script.extend(body.get("replies", []))
                self._send(200, {"queued": len(state.script)})
            elif path == "/_control/reset":
                with state.lock:
                    state.script.clear()
                    state.requests.clear()
                    state.usages.clear()
                    state.headers.clear()
                    state.embedding_requests.clear()
                self._send(200, {"ok": True})
            elif path == "/v1/chat/completions":
                self._chat(body)
            elif path == "/v1/embeddings":
                self._embed(body)
            else:
                self._send(404, {"error": {"message": f"no route {path}", "type": "invalid_request_error",
                                           "param": None, "code": None}})

        def _embed(self, body: dict[str, Any]) -> None:
            with state.lock:
                state.embedding_requests.append(body)
            if state.api_key is not None and self.headers.get("Authorization") != f"Bearer {state.api_key}":
                status, out, headers = completion(0, body, {"status": 401})
                self._send(status, out, headers)
                return
            self._send(*embeddings(body))

        def _chat(self, body: dict[str, Any]) -> None:
            with state.lock:
                state.requests.append(body)
                state.headers.append({k.lower(): v for k, v in self.headers.items()})
            if state.api_key is not None and self.headers.get("Authorization") != f"Bearer {state.api_key}":
                status, out, headers = completion(0, body, {"status": 401})
                self._send(status, out, headers)
                return
            if state.models is not None and body.get("model") not in state.models:
                status, out, headers = completion(0, body, {"status": 404, "message":
                                                   f"The model `{body.get('model')}` does not exist."})
                self._send(status, out, headers)
                return
            reply = state.next_reply(body)
            with state.lock:
                state.counter += 1
                n = state.counter
            delay = float(reply.get("delay_s", 0)) if isinstance(reply, dict) else 0.0
            if delay and state.stopping.wait(delay):
                return  # shutting down: drop the answer, as a dying server would
            status, out, headers = completion(n, body, reply)
            if "usage" in out:
                with state.lock:
                    state.usages.append(out["usage"])
            with contextlib.suppress(OSError):  # the client gave up (its timeout): nothing to answer
                self._send(status, out, headers)

    return Handler


class LLMServer:
    """The server in a thread of this process. ``with LLMServer() as llm: llm.base_url ...``.

    ``models``: when given, other model names get 404 model_not_found. ``api_key``: when given,
    requests without ``Authorization: Bearer <api_key>`` get 401.
    """

    def __init__(self, *, models: list[str] | None = None, api_key: str | None = None, port: int = 0) -> None:
        self._state = _State(models, api_key)
        self._httpd = ThreadingHTTPServer(("127.0.0.1", port), _handler(self._state))
        self._httpd.daemon_threads = True
        self._thread: threading.Thread | None = None
        self.port: int = self._httpd.server_address[1]
        self.base_url = f"http://127.0.0.1:{self.port}/v1"

    # -- scripting ---------------------------------------------------------------------------
    def script(self, *replies: Reply) -> None:
        with self._state.lock:
            self._state.script.extend(replies)

    @property
    def responder(self) -> Responder | None:
        return self._state.responder

    @responder.setter
    def responder(self, fn: Responder | None) -> None:
        self._state.responder = fn

    @property
    def requests(self) -> list[dict[str, Any]]:
        """Bodies of the chat-completion requests received, oldest first."""
        with self._state.lock:
            return list(self._state.requests)

    @property
    def usages(self) -> list[dict[str, Any]]:
        """The usage of each completion answered (the server's count of what was spent)."""
        with self._state.lock:
            return list(self._state.usages)

    @property
    def request_headers(self) -> list[dict[str, str]]:
        with self._state.lock:
            return list(self._state.headers)

    @property
    def embedding_requests(self) -> list[dict[str, Any]]:
        """Bodies of the embeddings requests received, oldest first."""
        with self._state.lock:
            return list(self._state.embedding_requests)

    def reset(self) -> None:
        with self._state.lock:
            self._state.script.clear()
            self._state.requests.clear()
            self._state.usages.clear()
            self._state.headers.clear()
            self._state.embedding_requests.clear()

    # -- life cycle --------------------------------------------------------------------------
    def start(self) -> LLMServer:
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05},
                                        name="llm-server", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._state.stopping.set()
        if self._thread is not None:
            self._httpd.shutdown()
            self._thread.join(5)
        with self._state.lock:
            conns = list(self._state.connections)
        for conn in conns:  # idle keep-alive connections: wake their handler threads
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
        self._httpd.server_close()

    def __enter__(self) -> LLMServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @staticmethod
    def process(*, models: list[str] | None = None, api_key: str | None = None,
                responder: str | None = None, timeout_s: float = 10.0) -> LLMProcess:
        """The same server as a child process in its own process group. ``responder`` is
        ``"module:function"`` importable in the child (``tests/`` is on its path)."""
        return LLMProcess(models=models, api_key=api_key, responder=responder, timeout_s=timeout_s)


class LLMProcess:
    """A child-process LLM server, scripted over HTTP; stop() ends exactly its process group."""

    def __init__(self, *, models: list[str] | None, api_key: str | None, responder: str | None,
                 timeout_s: float) -> None:
        args = [sys.executable, os.path.abspath(__file__), "--port", "0"]
        if models:
            args += ["--models", ",".join(models)]
        if responder:
            args += ["--responder", responder]
        env = dict(os.environ)
        if api_key:
            env["LLM_SERVER_API_KEY"] = api_key
        tests_dir = os.path.dirname(os.path.abspath(__file__))
        env["PYTHONPATH"] = os.pathsep.join(p for p in (tests_dir, env.get("PYTHONPATH", "")) if p)
        self.proc = subprocess.Popen(args, stdout=subprocess.PIPE, stdin=subprocess.DEVNULL, env=env,
                                     start_new_session=True)
        self.pid = self.proc.pid
        try:
            self.port = self._read_port(timeout_s)
        except BaseException:
            self.stop()
            raise
        self.base_url = f"http://127.0.0.1:{self.port}/v1"
        self._control = f"http://127.0.0.1:{self.port}/_control"

    def _read_port(self, timeout_s: float) -> int:
        assert self.proc.stdout is not None
        sel = selectors.DefaultSelector()
        sel.register(self.proc.stdout, selectors.EVENT_READ)
        try:
            if not sel.select(timeout_s):
                raise RuntimeError(f"LLM server process gave no port within {timeout_s} s")
        finally:
            sel.close()
        line = self.proc.stdout.readline().decode().strip()
        if not line.startswith("LISTENING "):
            raise RuntimeError(f"LLM server process said {line!r} instead of its port")
        return int(line.split()[1])

    def _call(self, method: str, path: str, body: Any = None) -> Any:
        import urllib.request

        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(f"{self._control}/{path}", data=data, method=method,
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=10) as resp:
            return json.loads(resp.read())

    def script(self, *replies: Reply) -> None:
        self._call("POST", "script", {"replies": list(replies)})

    @property
    def requests(self) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = self._call("GET", "requests")["requests"]
        return out

    @property
    def request_headers(self) -> list[dict[str, str]]:
        out: list[dict[str, str]] = self._call("GET", "requests")["headers"]
        return out

    def reset(self) -> None:
        self._call("POST", "reset", {})

    def stop(self) -> None:
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.pid, signal.SIGTERM)
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                os.killpg(self.pid, signal.SIGKILL)
                self.proc.wait(5)
        if self.proc.stdout is not None:
            self.proc.stdout.close()

    def __enter__(self) -> LLMProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--models", default="")
    parser.add_argument("--responder", default="", help="module:function deciding replies past the script")
    args = parser.parse_args(argv)
    models = [m for m in args.models.split(",") if m] or None
    server = LLMServer(models=models, api_key=os.environ.get("LLM_SERVER_API_KEY"), port=args.port)
    if args.responder:
        module, _, name = args.responder.partition(":")
        server.responder = getattr(importlib.import_module(module), name)
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    server.start()
    print(f"LISTENING {server.port}", flush=True)
    with contextlib.suppress(KeyboardInterrupt):
        done.wait()
    server.stop()


if __name__ == "__main__":
    _main()
