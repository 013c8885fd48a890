"""``wfx fake-llm``: a local OpenAI-compatible model for running the LLM examples offline, and
the tests' stand-in model (tests/llm_server.py adds a child-process mode on top). Loopback only.

It speaks enough of the OpenAI HTTP API for the official ``openai`` client: ``POST
/v1/chat/completions`` (text, tool calls, JSON mode and ``json_schema`` structured output, usage
numbers, error answers shaped like OpenAI's), ``POST /v1/embeddings`` (deterministic hashed
bag-of-words vectors, ``replies.hashed_embedding``) and ``GET /v1/models``. Replies come from a
script (``script(*replies)``), then from ``responder(body)``, then from a deterministic default
(JSON that fits the requested schema, else text echoing the last user message). Its
``/_control/*`` endpoints let a test script it from another process.
Like a real server, a reply never has more completion tokens than the request's ``max_tokens`` /
``max_completion_tokens`` (it stops with "length"); ``usages`` lists the usage of every completion
answered, as the client received it.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from .replies import Reply, Responder, completion, default_reply, embeddings

__all__ = ["LLMServer", "Reply", "Responder"]


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
