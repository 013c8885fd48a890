"""``wfx serve``'s connection guard: a read timeout on every connection and a cap on the
connections served at once (each holds a thread). Connections beyond the cap go to one
overflow thread that answers ``GET /healthz`` and gives anything else a clear 503, so a flood
of stalled connections can neither pile up threads nor silence the health check."""

from __future__ import annotations

import contextlib
import errno
import selectors
import socket
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Any

from werkzeug.serving import ThreadedWSGIServer

from ..errors import PortInUse
from . import jsonrpc

MAX_HEAD = 8192          # bytes of request line and headers the overflow thread reads
MAX_OVERFLOW = 1024      # connections waiting in the overflow thread; more are closed at once
OVERFLOW_DEADLINE_S = 2.0  # an overflow connection that has not sent its headers by then is closed


class GuardedServer(ThreadedWSGIServer):
    """werkzeug's threaded server with ``read_timeout_s`` per connection and at most
    ``max_connections`` served at once; ``health()`` gives the body of an overflow /healthz."""

    def __init__(self, host: str, port: int, app: Any, *, handler: Any, max_connections: int,
                 read_timeout_s: float, health: Callable[[], bytes]) -> None:
        # set before binding: a failed bind calls server_close, which closes the overflow
        self.read_timeout_s = read_timeout_s
        self.max_connections = max_connections
        self._slots = threading.BoundedSemaphore(max_connections)
        self._overflow = Overflow(health, max_connections)
        super().__init__(host, port, app, handler=handler)

    def server_bind(self) -> None:
        """Bind, or raise PortInUse (werkzeug would print three lines and exit itself)."""
        try:
            super().server_bind()
        except OSError as exc:
            if exc.errno != errno.EADDRINUSE:
                raise
            raise PortInUse(f"port {self.port} is in use",
                            fix="stop the program that holds it, or pick another port with --port N") from None

    def process_request(self, request: Any, client_address: Any) -> None:
        """Serve in a thread of its own while a slot is free; else hand over to the overflow thread."""
        request.settimeout(self.read_timeout_s)  # a silent client frees its thread after this long
        if not self._slots.acquire(blocking=False):
            self._overflow.add(request)
            return
        try:
            super().process_request(request, client_address)
        except BaseException:
            self._slots.release()
            raise

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        """The connection's thread; its slot is free again when the connection ends."""
        try:
            super().process_request_thread(request, client_address)
        finally:
            self._slots.release()

    def server_close(self) -> None:
        """Close the listening socket and the overflow thread with its connections."""
        self._overflow.close()
        super().server_close()


class Overflow:
    """One thread that reads the head of each connection beyond the cap (non-blocking, with a
    deadline) and answers it: the health body for ``GET .../healthz``, else 503."""

    def __init__(self, health: Callable[[], bytes], cap: int) -> None:
        self._health = health
        self._cap = cap
        self._incoming: deque[socket.socket] = deque()
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_r.setblocking(False)
        self._closed = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def add(self, sock: socket.socket) -> None:
        """Take over ``sock`` (it is closed here, whatever happens)."""
        with self._lock:
            if self._closed.is_set() or len(self._incoming) >= MAX_OVERFLOW:
                _close(sock)
                return
            self._incoming.append(sock)
            if self._thread is None:
                self._thread = threading.Thread(target=self._loop, name="wfx-overflow", daemon=True)
                self._thread.start()
        with contextlib.suppress(OSError):
            self._wake_w.send(b"x")

    def close(self) -> None:
        """Stop the thread (within a bounded wait) and close what it holds."""
        self._closed.set()
        with contextlib.suppress(OSError):
            self._wake_w.send(b"x")
        if self._thread is not None:
            self._thread.join(5)
        with self._lock:
            while self._incoming:
                _close(self._incoming.popleft())
        self._wake_r.close()
        self._wake_w.close()

    def _loop(self) -> None:
        sel = selectors.DefaultSelector()
        sel.register(self._wake_r, selectors.EVENT_READ)
        pending: dict[socket.socket, _Pending] = {}
        try:
            while not self._closed.is_set():
                for key, _ in sel.select(timeout=0.25):
                    sock = key.fileobj
                    if sock is self._wake_r:
                        with contextlib.suppress(OSError):
                            self._wake_r.recv(4096)
                        continue
                    assert isinstance(sock, socket.socket)
                    self._read(sel, pending, sock)
                with self._lock:
                    fresh = list(self._incoming)
                    self._incoming.clear()
                now = time.monotonic()
                for sock in fresh:
                    sock.setblocking(False)
                    pending[sock] = _Pending(now + OVERFLOW_DEADLINE_S)
                    sel.register(sock, selectors.EVENT_READ)
                for sock, state in list(pending.items()):
                    if state.deadline <= now:
                        self._drop(sel, pending, sock)
        finally:
            for sock in list(pending):
                self._drop(sel, pending, sock)
            sel.close()

    def _read(self, sel: selectors.BaseSelector, pending: dict[socket.socket, _Pending],
              sock: socket.socket) -> None:
        state = pending[sock]
        try:
            chunk = sock.recv(4096)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            chunk = b""
        if not chunk:
            self._drop(sel, pending, sock)
            return
        if state.answered:  # drain what the client still sends: closing unread data would reset
            return          # the connection and could lose the answer on its way
        state.head += chunk
        if b"\r\n\r\n" in state.head or b"\n\n" in state.head or len(state.head) >= MAX_HEAD:
            try:
                sock.sendall(self._answer(bytes(state.head)))  # a few hundred bytes: fits the socket buffer
                sock.shutdown(socket.SHUT_WR)
            except OSError:
                self._drop(sel, pending, sock)
                return
            state.answered = True

    def _answer(self, head: bytes) -> bytes:
        parts = head.split(b"\r\n", 1)[0].split()
        if len(parts) >= 2 and parts[0] == b"GET" and parts[1].split(b"?")[0].rstrip(b"/").endswith(b"/healthz"):
            return _http(200, "OK", self._health(), {})
        body = jsonrpc.dumps(jsonrpc.error(
            None, jsonrpc.INTERNAL_ERROR,
            f"Server busy: it already serves {self._cap} connections (WFX_HTTP_MAX_CONNECTIONS)",
            {"code": "unavailable", "fix": "retry in a moment; close idle connections"}))
        return _http(503, "Service Unavailable", body, {"Retry-After": "1"})

    @staticmethod
    def _drop(sel: selectors.BaseSelector, pending: dict[socket.socket, _Pending],
              sock: socket.socket) -> None:
        pending.pop(sock, None)
        with contextlib.suppress(KeyError, ValueError):
            sel.unregister(sock)
        _close(sock)


class _Pending:
    """An overflow connection: the head read so far, when it is dropped, and whether it was answered."""

    __slots__ = ("answered", "deadline", "head")

    def __init__(self, deadline: float) -> None:
        self.head = bytearray()
        self.deadline = deadline
        self.answered = False


def _http(status: int, phrase: str, body: bytes, extra: dict[str, str]) -> bytes:
    head = [f"HTTP/1.1 {status} {phrase}", "Content-Type: application/json", "Cache-Control: no-store",
            f"Content-Length: {len(body)}", "Connection: close", *(f"{k}: {v}" for k, v in extra.items())]
    return ("\r\n".join(head) + "\r\n\r\n").encode() + body


def _close(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
    with contextlib.suppress(OSError):
        sock.close()
