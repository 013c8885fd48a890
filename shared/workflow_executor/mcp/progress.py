"""MCP progress for a ``tools/call`` that carries a ``progressToken`` from a client that accepts
``text/event-stream``: the call runs in a thread while this answers with server-sent events,
``notifications/progress`` (step k of n, current steps) as the run proceeds, then the result.
Everything else keeps its plain JSON answer."""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Iterator, Mapping
from contextvars import copy_context
from typing import Any

from ..access import Caller
from ..api import ON_CREATED
from ..models import Execution
from . import jsonrpc, protocol
from .app import McpApp
from .jsonrpc import Message

log = logging.getLogger(__name__)
SSE_HEADERS = {"Content-Type": "text/event-stream", "Cache-Control": "no-store", "X-Accel-Buffering": "no"}


def token(msg: Message) -> str | int | None:
    """The request's progress token (``params._meta.progressToken``), if any."""
    meta = msg.params.get("_meta")
    tok = meta.get("progressToken") if isinstance(meta, Mapping) else None
    return tok if isinstance(tok, str | int) and not isinstance(tok, bool) else None


def wanted(msg: Message, headers: Mapping[str, str]) -> bool:
    """True for a tools/call with a progress token whose client accepts an event stream."""
    return (msg.kind == "request" and msg.method == "tools/call" and token(msg) is not None
            and "text/event-stream" in headers.get("accept", "").lower())


def _event(payload: Any) -> bytes:
    return b"event: message\ndata: " + jsonrpc.dumps(payload) + b"\n\n"


def stream(app: McpApp, caller: Caller, msg: Message, headers: Mapping[str, str]) -> Iterator[bytes]:
    """The event stream of one call: progress notifications, then its JSON-RPC response."""
    from ..ui.live import hub_for  # the change hub is shared with the web view

    tok = token(msg)
    box: dict[str, Any] = {}
    done = threading.Event()
    hub = hub_for(app.services)

    def created(ex: Execution) -> None:
        box.setdefault("id", ex.id)

    def work() -> None:
        ON_CREATED.set(created)
        try:
            box["answer"] = protocol.answer(app, caller, msg, headers).payload
        except Exception:  # as the HTTP handler's outermost guard: log, answer without internals
            ref = uuid.uuid4().hex[:12]
            log.exception("MCP request failed (ref %s)", ref)
            box["answer"] = jsonrpc.error(msg.id, jsonrpc.INTERNAL_ERROR,
                                          f"Internal error (ref {ref}); the server logged the details")
        finally:
            done.set()
            hub.poke()

    threading.Thread(target=copy_context().run, args=(work,), name="wfx-mcp-progress", daemon=True).start()
    last: tuple[Any, ...] | None = None
    tick = hub.tick()
    while True:
        finished = done.is_set()
        eid = box.get("id")
        ex = app.services.store.get_head(eid) if eid else None
        if ex is not None and ex.progress.total:
            p = ex.progress
            now = (p.completed, p.total, tuple(p.current), ex.status.value)
            if now != last:
                last = now
                what = f"{ex.status.value}: step {min(p.completed + (1 if p.current else 0), p.total)} of {p.total}"
                if p.current and not ex.finished:
                    what += " (" + ", ".join(p.current[:5]) + ")"
                yield _event({"jsonrpc": "2.0", "method": "notifications/progress",
                              "params": {"progressToken": tok, "progress": p.completed, "total": p.total,
                                         "message": what}})
        if finished:
            break
        tick = hub.wait(tick, hub.poll_s)
    answer = box.get("answer")
    if answer is not None:
        yield _event(answer)

