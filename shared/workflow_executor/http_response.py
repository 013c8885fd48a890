"""What an HTTP edge answers, as a plain value: the leaf that the MCP endpoint (``mcp.http``)
and the web view (``ui.routes``) both build, so neither imports the other for it."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

JSON_HEADERS = {"Content-Type": "application/json", "Cache-Control": "no-store"}


@dataclass(frozen=True)
class Response:
    """What an HTTP handler returns; functions/main.py turns it into a flask Response. ``stream``,
    when set, is sent after ``body`` chunk by chunk (server-sent events)."""

    status: int
    body: bytes = b""
    headers: Mapping[str, str] = field(default_factory=lambda: dict(JSON_HEADERS))
    stream: Iterable[bytes] | None = None
