"""JSON-RPC 2.0 envelopes: parse one message (lenient about a missing ``"jsonrpc"``, as
LangSwarm's mcpremote sends), and build results and errors. Knows nothing of MCP methods."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Literal

PARSE_ERROR = -32700
INVALID_REQUEST = -32600
METHOD_NOT_FOUND = -32601
INVALID_PARAMS = -32602
INTERNAL_ERROR = -32603
# MCP-defined codes
HEADER_MISMATCH = -32020
MISSING_CAPABILITY = -32021
UNSUPPORTED_VERSION = -32022
# Server-defined codes (the -32000..-32099 range), chosen away from the MCP SDK's own.
UNAUTHORIZED = -32010
FORBIDDEN = -32011
TASK_NOT_FINISHED = -32012

Id = str | int | float
Kind = Literal["request", "notification", "response", "bare_call"]


class ProtocolError(Exception):
    """A fault answered with a JSON-RPC error object. ``data`` is for the client: never
    internals (no exception text, paths or tracebacks)."""

    def __init__(self, code: int, message: str, data: dict[str, Any] | None = None,
                 request_id: Id | None = None, http_status: int | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.data = data
        self.request_id = request_id
        self.http_status = http_status  # None: the protocol layer's default for the era


@dataclass(frozen=True)
class Message:
    """One inbound message. ``bare_call`` is the older LangSwarm ``{"name", "arguments"}`` body."""

    kind: Kind
    method: str = ""
    id: Id | None = None
    params: dict[str, Any] = field(default_factory=dict)
    has_params: bool = False


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def loads(body: bytes) -> Any:
    """Strict JSON (no NaN/Infinity). Errors: ProtocolError(PARSE_ERROR)."""
    try:
        return json.loads(body.decode("utf-8"), parse_constant=_reject_constant)
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise ProtocolError(PARSE_ERROR, "Parse error: the body is not valid UTF-8 JSON",
                            {"fix": "send one JSON-RPC request object as the POST body"}) from None


def parse(body: bytes) -> Message:
    """Parse one message. Errors: ProtocolError with PARSE_ERROR, INVALID_REQUEST or
    INVALID_PARAMS (with ``request_id`` set when the id could be read)."""
    data = loads(body)
    if isinstance(data, list):
        raise ProtocolError(INVALID_REQUEST, "Invalid Request: batch requests are not supported",
                            {"fix": "send one request object per POST"})
    if not isinstance(data, dict):
        raise ProtocolError(INVALID_REQUEST, "Invalid Request: the body must be a JSON object",
                            {"fix": 'send {"jsonrpc": "2.0", "id": 1, "method": "...", "params": {...}}'})
    if "jsonrpc" in data and data["jsonrpc"] != "2.0":
        raise ProtocolError(INVALID_REQUEST, 'Invalid Request: "jsonrpc" must be "2.0"')
    has_id = "id" in data
    rid = data.get("id")
    if has_id and (rid is None or isinstance(rid, bool) or not isinstance(rid, str | int | float)):
        raise ProtocolError(INVALID_REQUEST, "Invalid Request: id must be a string or a number",
                            {"fix": "use a string or integer id; omit it only for notifications"})
    if "method" not in data:
        if "name" in data and "result" not in data and "error" not in data:
            return _bare_call(data, rid)
        if has_id and ("result" in data or "error" in data):
            return Message("response", id=rid)
        raise ProtocolError(INVALID_REQUEST, 'Invalid Request: "method" is missing',
                            {"fix": 'add "method", e.g. "tools/list"'}, request_id=rid)
    method = data["method"]
    if not isinstance(method, str) or not method:
        raise ProtocolError(INVALID_REQUEST, 'Invalid Request: "method" must be a non-empty string',
                            request_id=rid)
    params = data.get("params")
    if params is not None and not isinstance(params, dict):
        raise ProtocolError(INVALID_PARAMS, "Invalid params: params must be an object",
                            {"fix": "pass named parameters as a JSON object"}, request_id=rid)
    kind: Kind = "request" if has_id else "notification"
    return Message(kind, method, rid, dict(params or {}), params is not None)


def _bare_call(data: dict[str, Any], rid: Id | None) -> Message:
    name, args = data.get("name"), data.get("arguments", {})
    if not isinstance(name, str) or not isinstance(args, dict | None):
        raise ProtocolError(INVALID_PARAMS, 'Invalid params: "name" must be a string and "arguments" an object',
                            request_id=rid)
    return Message("bare_call", "tools/call", rid, {"name": name, "arguments": args or {}}, True)


def result(rid: Id | None, value: dict[str, Any]) -> dict[str, Any]:
    """A JSON-RPC success response."""
    return {"jsonrpc": "2.0", "id": rid, "result": value}


def error(rid: Id | None, code: int, message: str, data: dict[str, Any] | None = None) -> dict[str, Any]:
    """A JSON-RPC error response; ``data`` only when given."""
    err: dict[str, Any] = {"code": code, "message": message}
    if data:
        err["data"] = data
    return {"jsonrpc": "2.0", "id": rid, "error": err}


def dumps(payload: Any) -> bytes:
    """Compact, strict JSON: NaN/Infinity become null and other values JSON cannot carry
    become strings, so an odd workflow result never turns into an invalid response."""
    try:
        text = json.dumps(payload, separators=(",", ":"), ensure_ascii=False, allow_nan=False, default=str)
    except ValueError:
        text = json.dumps(_finite(payload), separators=(",", ":"), ensure_ascii=False, default=str)
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate (say, in a request id): JSON's \u escapes carry it
        return json.dumps(json.loads(text), separators=(",", ":"), ensure_ascii=True).encode("ascii")


def _finite(value: Any) -> Any:
    if isinstance(value, float) and (value != value or value in (float("inf"), float("-inf"))):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    return value
