"""CloudTasksEmulator: the in-process API (start/stop/address) over the gRPC server, store and scheduler."""

from __future__ import annotations

from types import TracebackType

from ..grpc_listen import Listening, listen
from .scheduler import Scheduler
from .servicer import CloudTasksServicer, generic_handler
from .store import MIN_DISPATCH_DEADLINE_S, TaskStore

DEFAULT_HOST = "127.0.0.1"
DEFAULT_DISPATCH_WORKERS = 16


class CloudTasksEmulator(Listening):
    """Cloud Tasks v2 gRPC emulator that dispatches HTTP tasks for real.

    Connect the official client with
    `CloudTasksClient(transport=CloudTasksGrpcTransport(channel=grpc.insecure_channel(emulator.address)))`.

    - `port=0` picks a free port; read the real one from `.port`/`.address` after `start()`.
    - `dispatch_workers` bounds how many attempts run at once across all queues (on top of each
      queue's max_concurrent_dispatches).
    - `min_dispatch_deadline` is the lower clamp for a task's dispatch_deadline: 15 s like the real
      service; lower it (e.g. 0.05) so tests can exercise deadline failures quickly.
    - `tombstone_ttl` is how long (seconds) a finished/deleted task name stays reserved; None = for
      the emulator's lifetime (the real service reserves names for up to ~24 h).
    """

    def __init__(
        self,
        host: str = DEFAULT_HOST,
        port: int = 0,
        *,
        dispatch_workers: int = DEFAULT_DISPATCH_WORKERS,
        min_dispatch_deadline: float = MIN_DISPATCH_DEADLINE_S,
        tombstone_ttl: float | None = None,
    ) -> None:
        if dispatch_workers < 1:
            raise ValueError("dispatch_workers must be at least 1")
        super().__init__(host, port)
        self._dispatch_workers = dispatch_workers
        self._min_dispatch_deadline = min_dispatch_deadline
        self._tombstone_ttl = tombstone_ttl
        self._scheduler: Scheduler | None = None

    def start(self) -> CloudTasksEmulator:
        if self._server is not None:
            raise RuntimeError("the emulator is already started")
        store = TaskStore(
            max_in_flight=self._dispatch_workers,
            min_dispatch_deadline=self._min_dispatch_deadline,
            tombstone_ttl=self._tombstone_ttl,
        )
        scheduler = Scheduler(store, self._dispatch_workers)
        server, port = listen((generic_handler(CloudTasksServicer(store, scheduler)),), self.host,
                              self._requested_port, workers=8, name="cloud-tasks")
        scheduler.start()
        self._server, self._scheduler, self._port = server, scheduler, port
        return self

    def stop(self, grace: float | None = None) -> None:
        """Stop serving and dispatching. Attempts already on the wire are abandoned, not awaited."""
        server, scheduler = self._server, self._scheduler
        self._server = self._scheduler = None
        if server is not None:
            server.stop(grace).wait()
        if scheduler is not None:
            scheduler.stop()

    def __enter__(self) -> CloudTasksEmulator:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()
