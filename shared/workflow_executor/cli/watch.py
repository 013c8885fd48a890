"""``wfx watch``: an execution's step tree, live until the run ends (locally from the store,
with ``--url`` through the endpoint)."""

from __future__ import annotations

import argparse
import sys
import time
from typing import Any

from ..errors import WfxError
from ..models import Execution
from .common import executor, show


def cmd_watch(a: argparse.Namespace) -> int:
    """The execution's step tree (as the web view shows it), live until the run ends."""
    from rich.console import Console
    from rich.live import Live

    from ..ui.terminal import tree

    ex = executor(a)
    if getattr(ex, "remote", False):
        return _watch_remote(ex, a)

    def view() -> tuple[Execution, Any]:
        cur = ex.status(a.execution_id)
        try:
            doc = ex.engine.document(cur.workflow_name, cur.workflow_hash)
        except WfxError:
            doc = None
        return cur, tree(ex.store, cur, doc, ex.engine.clock.now())

    cur, shown = view()
    with Live(shown, console=Console(), refresh_per_second=8, transient=False) as live:
        while not cur.finished:
            time.sleep(a.interval)  # a terminal refresh rate, not synchronisation
            cur, shown = view()
            live.update(shown)
    return show(cur, False)


def _watch_remote(ex: Any, a: argparse.Namespace) -> int:
    """Watch through the endpoint: one line per change of state until the run ends."""
    last = ""
    cur = ex.status(a.execution_id)
    while True:
        step = "" if cur.finished else f" {cur.progress.describe()} {', '.join(cur.progress.current)}"
        line = f"{cur.workflow_name} [{cur.status.value}]{step}"
        if line != last:
            print(line.rstrip(), file=sys.stderr)
            last = line
        if cur.finished:
            return show(cur, False)
        time.sleep(a.interval)  # a polling interval, not synchronisation
        cur = ex.status(a.execution_id)
