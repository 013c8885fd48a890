"""``wfx send ID EVENT --payload JSON``: deliver an event to a waiting run, on the local store or
through an endpoint (``--url``: the MCP tool send_event, under the endpoint's key)."""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from typing import Any

from ..errors import WfxError

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


def register(sub: Any, executor: Callable[[argparse.Namespace], Any]) -> None:
    """Add ``wfx send`` to the ``wfx`` subcommands; ``executor(args)`` is the local or remote one."""
    s = sub.add_parser("send", help="deliver an event (an approval, data) to a waiting execution")
    s.add_argument("execution_id", help="the waiting execution (wfx executions --status waiting lists them)")
    s.add_argument("event", help="the event the run waits for (wfx status shows it)")
    s.add_argument("--payload", help="JSON data for the event, e.g. '{\"approved\": true}' (default: null)")
    s.add_argument("--json", action="store_true", help="print the execution as JSON")
    s.set_defaults(fn=lambda a: send(a, executor))


def send(a: argparse.Namespace, executor: Callable[[argparse.Namespace], Any]) -> int:
    """Exit 0 delivered, 1 refused (not waiting, already delivered, a bad payload), 2 usage."""
    try:
        payload = json.loads(a.payload) if a.payload is not None else None
    except json.JSONDecodeError as exc:
        print(f"wfx send: --payload is not valid JSON ({exc.msg}). Fix: give JSON, e.g. "
              "--payload '{\"approved\": true}'", file=sys.stderr)
        return EXIT_USAGE
    ex = executor(a)
    try:
        after = ex.send_event(a.execution_id, a.event, payload)
    except WfxError as exc:
        if a.json:
            print(json.dumps({"delivered": False, "code": exc.code, "message": exc.message}))
        print(f"wfx send: [{exc.code}] {exc.message}" + (f". Fix: {exc.fix}" if exc.fix else ""), file=sys.stderr)
        return EXIT_FAILED
    if not getattr(ex, "remote", False):
        after = _settle(ex, after.id)
    if a.json:
        print(json.dumps({"delivered": True, "execution_id": after.id, "status": after.status.value}))
    else:
        print(f"event '{a.event}' delivered to {after.id} ({after.status.value})")
    return EXIT_OK


def _settle(ex: Any, execution_id: str, limit_s: float = 3600.0) -> Any:
    """Locally the resumed run goes on in this process (its queue): stay until it ends or parks
    again, so that it is not left half-run when the command exits."""
    end = time.monotonic() + limit_s
    while True:
        cur = ex.store.get_head(execution_id)
        if cur is None or cur.status.value not in ("queued", "running") or time.monotonic() > end:
            return ex.status(execution_id)
        time.sleep(0.05)  # a polling interval, not synchronisation
