"""Trace and span ids derived from execution ids (no OpenTelemetry import): every process that
touches a run - the MCP function, the worker and its follow-up tasks, the Cloud Run job, the
events function, a log line - names the same W3C trace with nothing carried in headers. A run
tree is one trace: a child's id starts with its root's (``<root>.<step>...``)."""

from __future__ import annotations

import hashlib


def _id(text: str, bits: int) -> int:
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[: bits // 8], "big") or 1


def root_of(execution_id: str) -> str:
    """The id of the run tree's root (children are named ``<parent id>.<step>[.<n>]``)."""
    return execution_id.split(".", 1)[0]


def trace_id_of(execution_id: str) -> int:
    """The 128-bit trace id of ``execution_id``'s run tree."""
    return _id("trace:" + root_of(execution_id), 128)


def span_id_of(execution_id: str, step_id: str | None = None) -> int:
    """The 64-bit span id of an execution's root span, or of one of its steps."""
    return _id(f"span:{execution_id}:{step_id or ''}", 64)
