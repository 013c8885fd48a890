"""Tool results: structuredContent plus a one-line text summary, and the one mapping from
library errors and argument errors to ``isError`` results ``{code, message, field, fix}``."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from ..errors import SpecError, WfxError
from ..models import Execution

PREVIEW_CHARS = 2000


@dataclass(frozen=True)
class ToolResult:
    """What a tool handler returns. ``execution`` is the run the call started (or found), so
    that a task-augmented call can answer with a task instead."""

    structured: dict[str, Any]
    summary: str
    is_error: bool = False
    execution: Execution | None = None

    def wire(self) -> dict[str, Any]:
        """The CallToolResult object (without ``resultType``, which the protocol layer adds)."""
        return {"content": [{"type": "text", "text": self.summary}],
                "structuredContent": self.structured, "isError": self.is_error}


def one_line(text: str, limit: int = 400) -> str:
    """``text`` on one line, cut at ``limit`` characters."""
    flat = " ".join(str(text).split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def preview(value: Any) -> str:
    """Compact JSON of ``value`` for a summary line, cut at PREVIEW_CHARS."""
    try:
        text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str)
    except ValueError:
        text = str(value)
    return text if len(text) <= PREVIEW_CHARS else text[: PREVIEW_CHARS - 1] + "…"


def error_result(tool: str, code: str, message: str, *, field: str | None = None, fix: str | None = None,
                 **extra: Any) -> ToolResult:
    """An ``isError`` result; ``extra`` adds keys (e.g. ``errors``, ``execution_id``)."""
    structured: dict[str, Any] = {"code": code, "message": message, "field": field, "fix": fix, **extra}
    where = f" ({field})" if field else ""
    tail = f" Fix: {fix}" if fix else ""
    return ToolResult(structured, one_line(f"{tool} failed: {code}{where}: {message}.{tail}", 600), True)


def from_error(tool: str, exc: WfxError) -> ToolResult:
    """Map a library error. A SpecError lists every issue under ``errors``."""
    details = dict(exc.details)
    field = details.pop("field", None)
    extra: dict[str, Any] = {}
    if isinstance(exc, SpecError):
        extra["errors"] = [{"path": i.path, "message": i.message, "fix": i.fix} for i in exc.issues]
        extra["warnings"] = [{"path": i.path, "message": i.message} for i in exc.warnings]
        first = exc.issues[0] if exc.issues else None
        fix = exc.fix or (first.fix if first else None) or "correct the workflow document and try again"
        return error_result(tool, exc.code, exc.message, field=field or "workflow", fix=fix, **extra)
    for key in ("execution_id", "status"):  # the run this error ended the request for (WfxError.about)
        if isinstance(details.get(key), str):
            extra[key] = details[key]
    return error_result(tool, exc.code, exc.message, field=field if isinstance(field, str) else None,
                        fix=exc.fix, **extra)


def from_validation(tool: str, exc: ValidationError, known: list[str]) -> ToolResult:
    """Map pydantic's errors on tool arguments: the first one names the field and the fix,
    all of them are listed under ``errors`` (never echoing the input values)."""
    issues: list[dict[str, str | None]] = []
    for err in exc.errors(include_url=False, include_input=False, include_context=False):
        field = ".".join(str(p) for p in err.get("loc", ())) or None
        issues.append({"field": field, "message": str(err.get("msg", "invalid value")),
                       "type": str(err.get("type", ""))})
    first = issues[0] if issues else {"field": None, "message": "invalid arguments", "type": ""}
    if first["field"] is None:  # a check across fields: name the first field its message mentions
        first["field"] = next((k for k in known if k in (first["message"] or "")), None)
    return error_result(tool, "invalid_argument", first["message"] or "invalid value", field=first["field"],
                        fix=_fix(first["type"], first["field"], known), errors=issues)


def _fix(kind: str | None, field: str | None, known: list[str]) -> str:
    if kind == "extra_forbidden":
        return f"remove '{field}'; {'' if not known else 'arguments are: ' + ', '.join(known)}".rstrip("; ")
    if kind == "missing":
        return f"add '{field}'"
    if kind in ("literal_error", "enum"):
        return f"set '{field}' to one of the values the message lists"
    if field is None:
        return "check the tool's inputSchema (tools/list)"
    return f"pass a valid '{field}' as described in the tool's inputSchema (tools/list)"
