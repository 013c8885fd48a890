"""A point in time as callers write it when they search executions (the MCP tool, the CLI, the
web view): an ISO 8601 time (UTC unless it carries an offset) or a span back from now (``90m``)."""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime

from .errors import InvalidArgument

_AGO = re.compile(r"^(\d{1,6})\s*([smhdw])$")
_UNIT_S = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
EXAMPLES = "2026-12-07, 2026-12-07T09:30, 2026-12-07T09:30:00+01:00, or a span back from now such as 90m, 24h, 7d"


def point(text: str | None, name: str, now_s: float | None = None) -> float | None:
    """``text`` as Unix seconds; None for None or blank. Errors: InvalidArgument naming ``name``."""
    if text is None or not text.strip():
        return None
    raw = text.strip()
    ago = _AGO.match(raw.lower())
    if ago:
        return (time.time() if now_s is None else now_s) - int(ago.group(1)) * _UNIT_S[ago.group(2)]
    try:
        when = datetime.fromisoformat(raw[:-1] + "+00:00" if raw.endswith(("Z", "z")) else raw)
    except ValueError:
        raise InvalidArgument(f"{name} must be a time, got {raw[:40]!r}", fix=f"write it like {EXAMPLES}",
                              field=name) from None
    return (when if when.tzinfo else when.replace(tzinfo=UTC)).timestamp()
