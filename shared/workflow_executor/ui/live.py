"""Change notification for live views: a hub per set of services wakes waiters on every local
event (``wfx serve``: the in-process bus) and otherwise polls the cheap execution head, so it
works on every backend. ``sse`` turns it into a server-sent event stream."""

from __future__ import annotations

import json
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator
from typing import Any

from ..models import Execution
from ..ports import Event
from ..services import Services

_ATTR = "_wfx_ui_hub"
_CREATE = threading.Lock()
POLL_S = 0.25  # the longest a change can wait unseen when no local event says so
REMOTE_POLL_S = 1.0  # the same where events go elsewhere (Pub/Sub): every look is a store read
MAX_TRACKED = 1000  # executions whose agent turns the hub counts (the oldest are forgotten)
STREAM_S = 25.0  # a stream ends after this long; the page opens the next one (proxies cut idle streams)


class Hub:
    """Wakes every waiter on any local event, and counts the events that change what a page
    shows without changing the execution's head (an agent's turns, per execution)."""

    def __init__(self, services: Services) -> None:
        self._cond = threading.Condition()
        self._tick = 0
        self._turns: OrderedDict[str, int] = OrderedDict()
        subscribe = getattr(services.events, "subscribe", None)
        if subscribe is not None:
            subscribe(self._on_event)
        # With local events a step change wakes waiters at once and polls only back them up.
        self.poll_s = POLL_S if subscribe is not None else REMOTE_POLL_S

    def _on_event(self, event: Event) -> None:
        if event.type == "agent.turn":
            with self._cond:
                self._turns[event.execution_id] = self._turns.pop(event.execution_id, 0) + 1
                while len(self._turns) > MAX_TRACKED:
                    self._turns.popitem(last=False)
        self.poke()

    def turns(self, execution_id: str) -> int:
        """Agent turns seen for ``execution_id`` by this process (0 when none or forgotten)."""
        with self._cond:
            return self._turns.get(execution_id, 0)

    def poke(self) -> None:
        """Wake every waiter now."""
        with self._cond:
            self._tick += 1
            self._cond.notify_all()

    def tick(self) -> int:
        with self._cond:
            return self._tick

    def wait(self, seen: int, timeout: float) -> int:
        """Block until an event after ``seen`` or ``timeout``; returns the current tick."""
        with self._cond:
            self._cond.wait_for(lambda: self._tick != seen, timeout)
            return self._tick


def hub_for(services: Services) -> Hub:
    """The one hub of ``services`` (subscribed once; lives as long as they do)."""
    hub = getattr(services, _ATTR, None)
    if isinstance(hub, Hub):
        return hub
    with _CREATE:
        hub = getattr(services, _ATTR, None)
        if not isinstance(hub, Hub):
            hub = Hub(services)
            setattr(services, _ATTR, hub)
    return hub


def state(ex: Execution, turns: int = 0) -> tuple[Any, ...]:
    """What a viewer sees change: status, progress, version, and the agent turns taken."""
    return (ex.status.value, ex.progress.completed, tuple(ex.progress.current), ex.version, ex.updated_at_s, turns)


def changes(services: Services, head: Callable[[], Execution | None], limit_s: float = STREAM_S,
            poll_s: float | None = None) -> Iterator[Execution]:
    """Yield the execution each time its state changes (first at once), until it is finished or
    ``limit_s`` passed."""
    hub = hub_for(services)
    poll_s = hub.poll_s if poll_s is None else poll_s
    end = time.monotonic() + limit_s
    last: tuple[Any, ...] | None = None
    tick = hub.tick()
    while True:
        ex = head()
        if ex is None:
            return
        now = state(ex, hub.turns(ex.id))
        if now != last:
            last = now
            yield ex
        if ex.finished or time.monotonic() >= end:
            return
        tick = hub.wait(tick, min(poll_s, max(end - time.monotonic(), 0.0)))


def sse(event: str, data: Any) -> bytes:
    """One server-sent event."""
    return f"event: {event}\ndata: {json.dumps(data, separators=(',', ':'), default=str)}\n\n".encode()


def execution_stream(services: Services, execution_id: str) -> Iterator[bytes]:
    """``change`` events with the status and progress, then ``end`` once finished (or ``more``
    when the stream's time is up and the page should open the next one)."""
    yield b": wfx live\n\n"
    last: Execution | None = None
    for ex in changes(services, lambda: services.store.get_head(execution_id)):
        last = ex
        yield sse("change", {"status": ex.status.value, "completed": ex.progress.completed,
                             "total": ex.progress.total, "current": ex.progress.current})
    yield sse("end" if last is not None and last.finished else "more", {})
