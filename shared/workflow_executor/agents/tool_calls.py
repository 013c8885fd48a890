"""Running the tool calls a model asks for: arguments parsed, each call bounded in time and in
the size of what it returns, and every failure turned into text the model sees (a tool error is
not fatal unless the tool says so). Results are untrusted data for the next turn."""

from __future__ import annotations

import json
import queue
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from ..errors import WfxError
from .toolbox import ToolBox, ToolCall, ToolSpec

IDLE_THREADS = 4  # tool threads kept waiting for the next call, at most


class ToolThreads:
    """Daemon threads that run tool calls, reused from call to call (starting a thread costs more
    than a quick tool's call). A call past its time is abandoned to its thread, which serves again
    only once that call returns; a new thread serves meanwhile."""

    def __init__(self) -> None:
        self._idle: list[queue.SimpleQueue[Callable[[], None] | None]] = []
        self._lock = threading.Lock()

    def start(self, fn: Callable[[], None]) -> None:
        """Run ``fn`` (which must not raise) on a waiting thread, or on a new one."""
        with self._lock:
            inbox = self._idle.pop() if self._idle else None
        if inbox is None:
            inbox = queue.SimpleQueue()
            threading.Thread(target=self._serve, args=(inbox,), name="wfx-tool", daemon=True).start()
        inbox.put(fn)

    def close(self) -> None:
        """Let the waiting threads end (a running call finishes first)."""
        with self._lock:
            idle, self._idle = self._idle, []
        for inbox in idle:
            inbox.put(None)

    def _serve(self, inbox: queue.SimpleQueue[Callable[[], None] | None]) -> None:
        while (fn := inbox.get()) is not None:
            fn()
            with self._lock:
                if len(self._idle) >= IDLE_THREADS:
                    return
                self._idle.append(inbox)


def openai_tools(specs: Sequence[ToolSpec]) -> list[dict[str, Any]]:
    """The ``tools`` request parameter."""
    return [{"type": "function", "function": {"name": s.name, "description": s.description or s.name,
                                              "parameters": dict(s.parameters) or {"type": "object"}}}
            for s in specs]


def _text(result: Any, max_bytes: int) -> str:
    text = result if isinstance(result, str) else json.dumps(result, ensure_ascii=False, default=str)
    data = text.encode()
    if len(data) <= max_bytes:
        return text
    cut = data[:max_bytes].decode(errors="ignore")
    return f"{cut}\n[truncated: the tool returned {len(data)} bytes, {max_bytes} shown]"


def _error(code: str, message: str, fix: str | None = None) -> str:
    return json.dumps({"error": {"code": code, "message": message, **({"fix": fix} if fix else {})}})


def run_tool(box: ToolBox, names: set[str], name: str, raw_arguments: str, ctx: ToolCall, *,
             timeout_s: float, max_bytes: int, threads: ToolThreads) -> tuple[str, bool]:
    """Call one tool on one of ``threads``; returns (the content shown to the model, whether it is
    an error). Raises only a WfxError whose details say ``fatal`` (the tool wants the step to fail)."""
    if name not in names:
        return _error("unknown_tool", f"there is no tool named '{name[:64]}'",
                      f"call one of: {', '.join(sorted(names))}"), True
    try:
        arguments = json.loads(raw_arguments or "{}")
    except json.JSONDecodeError as exc:
        return _error("invalid_arguments", f"the arguments are not valid JSON: {exc.msg}",
                      "send the arguments as one JSON object"), True
    if not isinstance(arguments, Mapping):
        return _error("invalid_arguments", "the arguments must be a JSON object",
                      "send the arguments as one JSON object"), True
    box_out: dict[str, Any] = {}
    done = threading.Event()

    def call() -> None:
        try:
            box_out["ok"] = box.call(name, arguments, ctx)
        except BaseException as exc:  # handed to the waiting thread
            box_out["err"] = exc
        finally:
            done.set()

    # A thread cannot be killed: a call past its time is abandoned and its result dropped.
    threads.start(call)
    if not done.wait(timeout_s):
        return _error("tool_timeout", f"tool '{name}' did not finish within {timeout_s:g} s",
                      "try again with a smaller request, or do without this tool"), True
    if "err" in box_out:
        failure: BaseException = box_out["err"]
        if isinstance(failure, WfxError):
            if failure.details.get("fatal"):
                raise failure
            return _error(failure.code, failure.message, failure.fix), True
        if not isinstance(failure, Exception):
            raise failure
        return _error("tool_failed", f"tool '{name}' failed: {type(failure).__name__}: {str(failure)[:300]}"), True
    return _text(box_out["ok"], max_bytes), False


def deadline(timeout_s: float) -> float:
    return time.monotonic() + timeout_s
