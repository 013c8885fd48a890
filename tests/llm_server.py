"""The tests' OpenAI-compatible model (``from llm_server import LLMServer``): the library's
``workflow_executor.fakellm`` (what ``wfx fake-llm`` serves), plus a child-process mode
(``LLMServer.process()``) scripted through its ``/_control/*`` endpoints, for crash tests.

A reply is one of:
  - ``"text"``                                   an assistant message
  - ``{"text": "..."}``                          the same, with options
  - ``{"tool_calls": [{"name", "arguments", "id"?}], "text"?}``  tool calls (arguments: dict or raw str)
  - ``{"json": obj}``                            an assistant message holding ``json.dumps(obj)``
  - ``{"status": 401|404|429|500|400|..., "message"?, "code"?, "type"?, "headers"?}``  an error
options on any dict reply: ``delay_s`` (answer late), ``usage`` ({prompt_tokens, completion_tokens}),
``finish_reason`` (e.g. "length", "content_filter").
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import json
import os
import selectors
import signal
import subprocess
import sys
import threading
from typing import Any

from workflow_executor.fakellm import server as _lib
from workflow_executor.fakellm.replies import Reply, Responder, minimal_instance

__all__ = ["LLMProcess", "LLMServer", "Reply", "Responder", "minimal_instance"]


class LLMServer(_lib.LLMServer):
    """The library's server in a thread of this process, plus ``process()`` for a child."""

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
