"""``wfx run``, ``worker``, ``status``, ``cancel``, ``rerun`` and ``executions``: starting and
following executions, locally or through ``--url``."""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from ..errors import WfxError
from ..models import ExecutionMode
from .common import EXIT_FAILED, EXIT_OK, UsageError, execution_view, executor, print_json, say_empty, show


def _input(a: argparse.Namespace) -> Any:
    """``--input`` is JSON (a wrong quote must not silently turn into a string);
    ``--input-text`` is taken as the plain user_input."""
    if getattr(a, "input_text", None) is not None:
        return a.input_text
    if a.input is None:
        return None
    try:
        return json.loads(a.input)
    except json.JSONDecodeError as exc:
        raise UsageError(f"--input is not valid JSON ({exc.msg} at line {exc.lineno} column {exc.colno}). "
                         f"Fix: give JSON (a string needs quotes: --input '\"text\"') "
                         f"or pass plain text with --input-text") from None


def _pick(ex: Any, path: Path, name: str | None) -> str:
    """The workflow of ``path`` to run: ``name`` if the file defines it, else the first."""
    doc, _ = ex.check(path)
    if name is None:
        return str(doc.workflow().id)
    if name not in doc.workflows:
        names = ", ".join(doc.workflows)
        raise UsageError(f"{path} has no workflow '{name}' (it has: {names}). Fix: --workflow one of: {names}")
    return name


def cmd_run(a: argparse.Namespace) -> int:
    data = _input(a)
    ex = executor(a)
    path = Path(a.file)
    name = _pick(ex, path, a.workflow)
    if getattr(ex, "remote", False):  # the endpoint runs it (async: its queue), nothing runs here
        return show(ex.run_file(path, name, data, a.mode, a.timeout), a.json)
    if a.mode == "async":
        # No server keeps this process alive: the run goes to a detached worker process.
        started = ex.submit(name, data, workflow=path, mode=ExecutionMode.ASYNC, dispatch=False)
        _spawn_worker(started.id)
        return show(ex.status(started.id), a.json)
    return _run_here(ex, path, name, data, a)


def _run_here(ex: Any, path: Path, name: str, data: Any, a: argparse.Namespace) -> int:
    """A sync run in this process. Ctrl-C cancels it, so that it does not stay `running` with
    no runner (a later `wfx serve` would otherwise resume what the user stopped)."""
    from ..api import ON_CREATED

    created: list[str] = []
    token = ON_CREATED.set(lambda e: created.append(e.id))
    try:
        return show(ex.run(name, data, workflow=path, timeout=a.timeout), a.json)
    except KeyboardInterrupt:
        if created:
            try:
                ended = ex.cancel(created[0])
                print(f"execution {ended.id} {ended.status.value}", file=sys.stderr)
            except WfxError as err:
                print(f"execution {created[0]} could not be cancelled: {err}", file=sys.stderr)
        raise
    finally:
        ON_CREATED.reset(token)


def _spawn_worker(execution_id: str) -> None:
    subprocess.Popen([sys.executable, "-m", "workflow_executor.cli", "worker", execution_id],
                     stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                     start_new_session=True, env=dict(os.environ))


def cmd_worker(a: argparse.Namespace) -> int:
    """Run one execution in this process (the local twin of the worker function)."""
    from ..ports import TaskRequest
    from ..services import build
    from ..worker import handle_task

    services = build(with_queue=False)
    try:
        out = handle_task(services, TaskRequest(a.execution_id, takeover=a.takeover))
    finally:
        services.close()
    return EXIT_OK if out.http_status == 200 else EXIT_FAILED


def cmd_status(a: argparse.Namespace) -> int:
    return show(executor(a).status(a.execution_id), a.json)


def cmd_cancel(a: argparse.Namespace) -> int:
    ex = executor(a)
    before = ex.status(a.execution_id)
    after = before if before.finished else ex.cancel(a.execution_id)
    if before.finished:
        what, said = "already_finished", f"{before.id} had already ended ({before.status.value}); nothing to cancel"
    elif after.finished:
        what, said = "cancelled", f"{after.id} cancelled ({after.status.value}; it was {before.status.value})"
    else:
        at = ", ".join(after.progress.current) or "its current step"
        what, said = "requested", (f"cancel requested for {after.id}: it stops after {at} "
                                   f"(follow it with `wfx watch {after.id}`)")
    if a.json:
        print_json({**execution_view(after), "cancel": what})
    else:
        print(said)
    return EXIT_OK


def cmd_rerun(a: argparse.Namespace) -> int:
    ex = executor(a)
    new = ex.rerun(a.execution_id, a.from_step, mode="sync")
    return show(new, a.json)


def cmd_executions(a: argparse.Namespace) -> int:
    page = executor(a).executions(status=a.status, workflow_name=a.workflow, limit=a.limit,
                                  created_from_s=a.since, created_to_s=a.until,
                                  id_prefix=a.id_prefix, error_text=a.error_text)
    if a.json:
        print_json([execution_view(e) for e in page.items])
    else:
        for e in page.items:
            when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(e.created_at_s))
            print(f"{e.id}  {e.workflow_name}  {e.status.value}  {when}")
        if not page.items:
            filtered = a.status or a.workflow or a.since or a.until or a.id_prefix or a.error_text
            say_empty("no executions" + (" match" if filtered else " yet (start one with `wfx run FILE`)"))
    return EXIT_OK
