"""CloudRunEmulator: the in-process API (start/stop/address) over the gRPC server and the RunStore."""

from __future__ import annotations

from pathlib import Path
from types import TracebackType

from ..grpc_listen import Listening, listen
from .servicer import handlers
from .store import RunStore

DEFAULT_HOST = "127.0.0.1"


class CloudRunEmulator(Listening):
    """Cloud Run Admin API v2 (Jobs, Executions, Operations) over gRPC; tasks run as local process groups.

    Connect the official client with
    `JobsClient(transport=JobsGrpcTransport(channel=grpc.insecure_channel(emulator.address)))`.

    - `kill_grace_s`: between SIGTERM and SIGKILL when a task times out or is cancelled (the
      service gives 10 s).
    - `log_dir`: where each execution's output goes (`<execution>.log`, also its `log_uri`).
    - `max_active_executions`: more running executions than this answer RESOURCE_EXHAUSTED.
    - `deny`: RPC names (e.g. {"RunJob"}) that answer PERMISSION_DENIED, as for a caller without the role.
    """

    def __init__(self, host: str = DEFAULT_HOST, port: int = 0, *, kill_grace_s: float = 10.0,
                 log_dir: Path | None = None, max_active_executions: int = 100,
                 deny: frozenset[str] = frozenset()) -> None:
        super().__init__(host, port)
        self.store = RunStore(kill_grace_s=kill_grace_s, log_dir=log_dir,
                              max_active_executions=max_active_executions, deny=deny)

    def start(self) -> CloudRunEmulator:
        if self._server is not None:
            raise RuntimeError("the emulator is already started")
        self.store.log_dir.mkdir(parents=True, exist_ok=True)
        self._server, self._port = listen(handlers(self.store), self.host, self._requested_port, workers=16,
                                          name="cloud-run")
        return self

    def stop(self, grace: float | None = None) -> None:
        """Stop serving, and stop every task still running (its whole process group)."""
        server, self._server = self._server, None
        if server is not None:
            server.stop(grace).wait()
        self.store.shutdown()

    def __enter__(self) -> CloudRunEmulator:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self.stop()
