"""What every ``wfx`` command shares: the executor (local or ``--url``), exit codes, the usage
error, and how an execution is printed (text or JSON)."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from ..models import Execution, ExecutionStatus
from ..usage_view import live_usage, usage_line
from ..wait_view import wait_line

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2  # argparse itself exits 2 on a usage error


class UsageError(Exception):
    """A command line that cannot mean what was asked: exit 2 with the fix."""


def executor(a: argparse.Namespace | None = None) -> Any:
    """The local Executor, or with ``--url`` / WFX_URL the endpoint's (client.RemoteExecutor)."""
    from ..settings import Settings

    settings = Settings.from_env()
    url = getattr(a, "url", None) or settings.remote_url
    if a is not None and url:
        from ..client import RemoteExecutor

        return RemoteExecutor(url, getattr(a, "api_key", None) or settings.remote_api_key)
    from ..api import Executor

    return Executor.local(settings=settings)


def fix_tail(fix: Any) -> str:
    """' Fix: <what to do>' for a message that has a fix, else ''."""
    return f" Fix: {fix}" if fix else ""


def say_empty(what: str) -> None:
    """An empty list says so (on stderr: stdout stays the list, empty, for a pipe)."""
    print(what, file=sys.stderr)


def print_json(obj: Any) -> None:
    print(json.dumps(obj, indent=2, default=str, ensure_ascii=False))


def execution_view(ex: Execution) -> dict[str, Any]:
    """The JSON form of an execution that ``--json`` prints."""
    return {
        "execution_id": ex.id, "workflow_name": ex.workflow_name, "status": ex.status.value,
        "mode": ex.mode.value, "progress": ex.describe(), "result": ex.result,
        "error": ex.error.model_dump() if ex.error else None,
        "steps": [{"id": r.step_id, "status": r.status.value, "attempts": r.attempts,
                   "error": r.error.message if r.error else None,
                   **({"fix": r.error.details["fix"]} if r.error and r.error.details.get("fix") else {}),
                   "usage": r.usage.model_dump(exclude_defaults=True) if r.usage else None,
                   **({"warnings": list(r.warnings)} if r.warnings else {})}
                  for r in sorted(ex.steps.values(), key=lambda r: r.seq)],
        "usage": live_usage(ex).model_dump(),
        "rerun_of": ex.rerun_of,
    }


def show(ex: Execution, as_json: bool) -> int:
    """Print an execution; exit 0 unless it failed, timed out or was cancelled."""
    if as_json:
        print_json(execution_view(ex))
    else:
        p = ex.progress
        progress = f"{p.completed} of {p.total} steps done" if ex.finished else ex.describe()
        if ex.status == ExecutionStatus.WAITING:
            progress = wait_line(ex)
        print(f"{ex.id}  {ex.workflow_name}  {ex.status.value}  ({progress})")
        if (spent := usage_line(live_usage(ex))) is not None:
            print(spent)
        if ex.result is not None:
            print(json.dumps(ex.result, indent=2, default=str, ensure_ascii=False))
        for r in sorted(ex.steps.values(), key=lambda r: r.seq):
            for note in r.warnings:
                print(f"warning step '{r.step_id}': {note}", file=sys.stderr)
        if ex.error:
            where = f" at step '{ex.error.step}'" if ex.error.step else ""
            print(f"error{where}: [{ex.error.code}] {ex.error.message}{fix_tail(ex.error.details.get('fix'))}",
                  file=sys.stderr)
    return EXIT_OK if ex.status.value in ("completed", "queued", "running", "waiting") else EXIT_FAILED
