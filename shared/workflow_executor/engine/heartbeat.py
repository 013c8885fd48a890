"""Lease renewal while a step runs longer than a third of the lease: without it a long step
would look like a dead runner and a redelivery could start the same step again."""

from __future__ import annotations

import logging
import threading
import time
from typing import TYPE_CHECKING

from ..errors import WfxError

if TYPE_CHECKING:
    from .run import Run
    from .runner import Engine

log = logging.getLogger(__name__)


class Heartbeat:
    """One thread per engine, started with the first run; it renews only the runs that have not
    checkpointed for a third of the lease (checkpoints renew the lease themselves)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._runs: dict[int, Run] = {}
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def add(self, run: Run) -> None:
        with self._lock:
            self._runs[id(run)] = run
            if self._thread is None:
                self._thread = threading.Thread(target=self._loop, name="wfx-heartbeat", daemon=True)
                self._thread.start()

    def remove(self, run: Run) -> None:
        with self._lock:
            self._runs.pop(id(run), None)

    def _loop(self) -> None:
        while True:
            ttl = self.engine.config.lease_ttl_s
            time.sleep(min(max(ttl / 6, 0.05), 30.0))
            with self._lock:
                runs = list(self._runs.values())
            for run in runs:
                if time.monotonic() - run.renewed_at >= ttl / 3:
                    self.renew(run)

    def renew(self, run: Run) -> None:
        """Re-take the run's own lease; serialised with its checkpoints by the run's lock."""
        with run.lock:
            if run.done:
                return
            try:
                run.store.acquire_lease(run.ex.id, run.owner, self.engine.config.lease_ttl_s, run.clock.now())
                run.renewed_at = time.monotonic()
            except WfxError as exc:  # lost or finished: the run learns it at its next write
                log.warning("lease of %s could not be renewed: %s", run.ex.id, exc)
