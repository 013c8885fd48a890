"""What the gRPC emulators share: listening on one host and port (never shared with another
process), and serving from the command line until a signal."""

from __future__ import annotations

import signal
import sys
import threading
from collections.abc import Sequence
from concurrent import futures
from typing import Protocol

import grpc


def bracketed(host: str) -> str:
    """``host`` as it goes before ``:port`` (an IPv6 address in brackets)."""
    return f"[{host}]" if ":" in host else host


class Listening:
    """Where a gRPC emulator listens: the host and port asked for, and once started, its server
    and the port it got."""

    def __init__(self, host: str, port: int) -> None:
        self.host = host
        self._requested_port = port
        self._server: grpc.Server | None = None
        self._port: int | None = None

    @property
    def port(self) -> int:
        """The port it listens on. RuntimeError before start."""
        if self._port is None:
            raise RuntimeError("the emulator is not started")
        return self._port

    @property
    def address(self) -> str:
        """`host:port` for grpc.insecure_channel (IPv6 hosts are bracketed)."""
        return f"{bracketed(self.host)}:{self.port}"


def listen(handlers: Sequence[grpc.GenericRpcHandler], host: str, port: int, *, workers: int,
           name: str) -> tuple[grpc.Server, int]:
    """A started insecure gRPC server with ``handlers`` on ``host:port`` (0: a free port) and
    the port it got. Errors: OSError when it cannot listen there."""
    server = grpc.server(
        futures.ThreadPoolExecutor(max_workers=workers, thread_name_prefix=f"{name}-grpc"),
        # gRPC sets SO_REUSEPORT on Linux by default: a second process could then silently share the port.
        options=[("grpc.so_reuseport", 0)],
    )
    server.add_generic_rpc_handlers(tuple(handlers))
    where = f"{bracketed(host)}:{port}"
    try:
        got = server.add_insecure_port(where)
    except RuntimeError as exc:  # newer grpcio raises instead of returning 0
        raise OSError(f"cannot listen on {where}: {exc}") from exc
    if got == 0:
        raise OSError(f"cannot listen on {where}")
    server.start()
    return server, got


class Emulator(Protocol):
    """What ``serve_until_signalled`` runs: an emulator that starts, says where, and stops."""

    @property
    def address(self) -> str: ...

    def start(self) -> object: ...

    def stop(self, grace: float | None = None) -> None: ...


def serve_until_signalled(emulator: Emulator, name: str) -> int:
    """Start ``emulator``, print ``<name> listening on HOST:PORT``, serve until SIGTERM/SIGINT,
    stop it; the process's exit code (1 when it cannot listen)."""
    stop_requested = threading.Event()

    def request_stop(signum: int, frame: object) -> None:
        stop_requested.set()

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    try:
        emulator.start()
    except OSError as exc:
        print(f"{name}: {exc}", file=sys.stderr)
        return 1
    print(f"{name} listening on {emulator.address}", flush=True)
    try:
        stop_requested.wait()
    finally:
        emulator.stop(grace=1.0)
    return 0
