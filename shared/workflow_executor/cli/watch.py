"""``wfx watch``: an execution's step tree, live until the run ends (locally from the store,
with ``--url`` through the endpoint). In a pipe the tree is printed once, when the run ends,
unwrapped and ending with a newline."""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from typing import Any

from ..errors import WfxError
from ..models import Execution
from .common import executor, show


def cmd_watch(a: argparse.Namespace) -> int:
    """The execution's step tree (as the web view shows it), live until the run ends."""
    from rich.console import Console
    from rich.live import Live

    ex = executor(a)
    view = _remote_view(ex, a.execution_id) if getattr(ex, "remote", False) else _local_view(ex, a.execution_id)
    console = Console()
    cur, shown = view()
    if not console.is_terminal:  # a pipe or a file: no redraws, no wrapping at a guessed width
        while not cur.finished:
            time.sleep(a.interval)  # a polling interval, not synchronisation
            cur, shown = view()
        Console(width=100_000).print(shown)  # one line per node, however long
        return show(cur, False)
    with Live(shown, console=console, refresh_per_second=8, transient=False) as live:
        while not cur.finished:
            time.sleep(a.interval)  # a terminal refresh rate, not synchronisation
            cur, shown = view()
            live.update(shown)
    return show(cur, False)


View = Callable[[], tuple[Execution, Any]]


def _local_view(ex: Any, execution_id: str) -> View:
    """The execution and its tree from the local store (children included)."""
    from ..ui.terminal import tree

    def view() -> tuple[Execution, Any]:
        cur = ex.status(execution_id)
        try:
            doc = ex.engine.document(cur.workflow_name, cur.workflow_hash)
        except WfxError:
            doc = None
        return cur, tree(ex.store, cur, doc, ex.engine.clock.now())

    return view


def _remote_view(ex: Any, execution_id: str) -> View:
    """The execution and its tree through the endpoint (check_execution_status: its steps)."""
    from ..ui.terminal import tree

    def view() -> tuple[Execution, Any]:
        cur = ex.status(execution_id)
        return cur, tree(None, cur, None, time.time())

    return view
