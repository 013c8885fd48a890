"""Structured logs (WFX_LOG_FORMAT=json): one JSON object per line with Cloud Logging's fields
(severity, message, ``logging.googleapis.com/trace``) and the execution id of the run being
served, so a log line links to its run and its trace."""

from __future__ import annotations

import contextvars
import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

from .trace_ids import trace_id_of

current_execution: contextvars.ContextVar[str | None] = contextvars.ContextVar("wfx_execution", default=None)


@contextmanager
def serving(execution_id: str) -> Iterator[None]:
    """Log lines of this thread name ``execution_id`` until the block ends."""
    token = current_execution.set(execution_id)
    try:
        yield
    finally:
        current_execution.reset(token)


class JsonFormatter(logging.Formatter):
    """A record as one JSON line; ``project`` makes the trace field a Cloud Trace resource name."""

    def __init__(self, project: str | None = None) -> None:
        super().__init__()
        self.project = project

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, object] = {
            "severity": record.levelname, "message": record.getMessage(), "logger": record.name,
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds")}
        eid = getattr(record, "execution_id", None) or current_execution.get()
        if eid:
            tid = f"{trace_id_of(str(eid)):032x}"
            out["execution_id"] = str(eid)
            out["trace_id"] = tid
            out["logging.googleapis.com/trace"] = f"projects/{self.project}/traces/{tid}" if self.project else tid
        if record.exc_info:
            out["stack_trace"] = self.formatException(record.exc_info)
        return json.dumps(out, ensure_ascii=False, default=str)


def configure(project: str | None = None, level: int = logging.INFO) -> None:
    """Send the root logger's records to stderr as JSON lines (replacing its handlers)."""
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter(project))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
