"""``wfx serve``: the MCP endpoint on the embedded backends under werkzeug's multi-threaded
server, with the same ``http.handle`` as the Cloud Function. Also ``python -m
workflow_executor.mcp.serve --host 127.0.0.1 --port 4020``."""

from __future__ import annotations

import argparse
import fcntl
import ipaddress
import logging
import signal
import socket
import sys
import threading
from collections.abc import Callable, Iterable, Iterator
from http import HTTPStatus
from typing import Any

from werkzeug.serving import WSGIRequestHandler

from ..api import Executor
from ..errors import InvalidArgument, WfxError
from ..services import Services, build
from ..settings import Settings
from . import jsonrpc
from .app import app_for
from .auth import KeyRing
from .conns import GuardedServer
from .http import handle, health, json_response, too_large

StartResponse = Callable[[str, list[tuple[str, str]]], Any]


def is_loopback(host: str) -> bool:
    """True for localhost and loopback IP addresses."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def wsgi_app(services: Services) -> Callable[[dict[str, Any], StartResponse], Iterable[bytes]]:
    """A WSGI app around ``handle``; a body over the limit is refused before it is read."""
    limit = services.settings.max_body_bytes

    def app(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        headers = {k[5:].replace("_", "-").lower(): str(v) for k, v in environ.items() if k.startswith("HTTP_")}
        for key in ("CONTENT_TYPE", "CONTENT_LENGTH"):
            if environ.get(key):
                headers[key.replace("_", "-").lower()] = str(environ[key])
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = -1
        stream = environ["wsgi.input"]
        if length < 0:  # read(-1) would read to EOF, unbounded
            resp = json_response(400, jsonrpc.error(None, jsonrpc.INVALID_REQUEST, "Invalid Content-Length",
                                                    {"code": "invalid_request", "fix": "send a valid Content-Length"}))
        elif length > limit:
            resp = too_large(limit, length)
        else:
            body = stream.read(length) if length else (
                stream.read(limit + 1) if environ.get("wsgi.input_terminated") else b"")
            resp = handle(services, environ["REQUEST_METHOD"], environ.get("PATH_INFO") or "/", headers, body,
                          environ.get("QUERY_STRING") or "")
        phrase = HTTPStatus(resp.status).phrase
        if resp.stream is not None:  # server-sent events: chunked, each chunk flushed as it comes
            start_response(f"{resp.status} {phrase}", list(resp.headers.items()))
            return _chained(resp.body, resp.stream)
        start_response(f"{resp.status} {phrase}",
                       [*resp.headers.items(), ("Content-Length", str(len(resp.body)))])
        return [resp.body]

    return app


def _chained(first: bytes, rest: Iterable[bytes]) -> Iterator[bytes]:
    if first:
        yield first
    yield from rest


class _Handler(WSGIRequestHandler):
    """Sends headers and body without Nagle's delay (they go out as two writes)."""

    def setup(self) -> None:
        """Set TCP_NODELAY on the accepted connection."""
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_error(self, format: str, *args: Any) -> None:
        """An idle keep-alive connection closed by the read timeout is routine, not an error."""
        if not format.startswith("Request timed out"):
            super().log_error(format, *args)


def serve(settings: Settings, host: str = "127.0.0.1", port: int = 4020,
          ready: Callable[[str], None] | None = None) -> None:
    """Serve until SIGINT/SIGTERM. Refuses a non-loopback ``host`` without API keys; says so
    when it runs open on loopback. Resumes the executions a previous process left unfinished.
    Errors: InvalidArgument (no keys on a public address), PortInUse."""
    ring = KeyRing(settings)
    keyed = ring.configured
    problem = ring.problem()
    if problem is not None:  # never open, and never silently locked either
        raise InvalidArgument(f"refusing to start: {problem}",
                              fix="repair it, create a key with `wfx keys create`, or remove the file to run "
                                  "open on loopback")
    if not keyed and not is_loopback(host):
        raise InvalidArgument(f"refusing to serve on {host} without API keys",
                              fix="create one with `wfx keys create --scopes run,read`, or bind 127.0.0.1")
    settings.ensure_home()
    lock = open(settings.home / "serve.lock", "a+")  # noqa: SIM115 - held for the server's lifetime
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        lock.close()
        raise InvalidArgument(f"another wfx serve already runs on {settings.home}",
                              fix="stop it, or give this one its own WFX_HOME") from None
    services = build(settings)
    try:
        Executor(services)  # the services' Executor: the MCP app and the engine's MCP bridge use it
        app = app_for(services)
        logging.getLogger("werkzeug").setLevel(logging.WARNING)
        # bound first: on a busy port (PortInUse) nothing is resumed or scheduled
        server = GuardedServer(host, port, wsgi_app(services), handler=_Handler,
                               max_connections=settings.http_max_connections,
                               read_timeout_s=settings.http_read_timeout_s,
                               health=lambda: jsonrpc.dumps(health(app)))
        resumed = app.executor.resume_pending()
        from ..schedules import Scheduler  # the workflows' `schedules`, run by this server

        scheduler = Scheduler(app.executor).start()
        from ..sweeper import SweeperThread  # runs whose runner died are handed on again

        sweeper = SweeperThread(services, settings.sweep_interval_s).start()
        url = f"http://{host}:{server.server_port}/"
        mode = "API keys required" if keyed else "OPEN (no API keys configured; loopback only)"
        print(f"wfx serve: MCP at {url} (health {url}healthz), {mode}"
              + (f"; resumed {len(resumed)} unfinished executions" if resumed else ""), flush=True)
        if ready is not None:
            ready(url)

        def stop(*_: object) -> None:
            threading.Thread(target=server.shutdown, daemon=True).start()

        if threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGTERM, stop)
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            pass
        finally:
            scheduler.stop()
            sweeper.stop()
            server.server_close()
    finally:
        services.close()
        lock.close()


def main(argv: list[str] | None = None) -> int:
    """Command line: ``--host`` (default 127.0.0.1) and ``--port`` (default 4020)."""
    parser = argparse.ArgumentParser(prog="wfx serve", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=4020)
    ns = parser.parse_args(argv)
    try:
        serve(Settings.from_env(), ns.host, ns.port)
    except WfxError as exc:
        print(f"wfx serve: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
