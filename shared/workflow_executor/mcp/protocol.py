"""MCP methods over one parsed message: the handshake era (initialize, ping, 2025-11-25 and
older; mcpremote's bare form) and the stateless 2026-07-28 era (server/discover, the
per-request ``_meta`` envelope, routing headers, ``resultType``). Stateless: nothing is
remembered between requests."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..access import Caller
from . import elicit, jsonrpc, resources, tasks, tools
from .app import McpApp
from .jsonrpc import (
    HEADER_MISMATCH,
    INVALID_PARAMS,
    INVALID_REQUEST,
    METHOD_NOT_FOUND,
    MISSING_CAPABILITY,
    UNSUPPORTED_VERSION,
    Message,
    ProtocolError,
)
from .results import error_result

SERVER_INFO = {"name": "workflow-executor", "title": "Workflow Executor", "version": "0.1.0"}
HANDSHAKE_VERSIONS = ("2025-11-25", "2025-06-18", "2025-03-26", "2024-11-05")
MODERN_VERSIONS = ("2026-07-28",)
PV_KEY = "io.modelcontextprotocol/protocolVersion"
CAPS_KEY = "io.modelcontextprotocol/clientCapabilities"
SERVER_INFO_KEY = "io.modelcontextprotocol/serverInfo"
TOOLS_TTL_MS = 60_000
CAPABILITIES = {"tools": {"listChanged": False}, "resources": {"listChanged": False},
                "prompts": {"listChanged": False}}
INSTRUCTIONS = ("Runs LLM-agent workflows. list_workflows, then execute_workflow (sync waits; async returns "
                "an execution_id to poll with check_execution_status). generate_workflow turns a description "
                "into a stored workflow.")
# JSON-RPC error code -> HTTP status on the 2026-07-28 wire; the handshake era answers 200.
MODERN_HTTP_STATUS = {jsonrpc.PARSE_ERROR: 400, INVALID_REQUEST: 400, INVALID_PARAMS: 400, HEADER_MISMATCH: 400,
                      MISSING_CAPABILITY: 400, UNSUPPORTED_VERSION: 400, METHOD_NOT_FOUND: 404}
_NAMED = {"tools/call": "name", "prompts/get": "name", "tasks/get": "taskId", "tasks/update": "taskId",
          "tasks/cancel": "taskId"}


@dataclass(frozen=True)
class Answer:
    """``payload`` None means 202 Accepted with no body."""

    status: int
    payload: dict[str, Any] | None


@dataclass(frozen=True)
class Call:
    """One request in context: its era and, for 2026-07-28, the per-request capabilities."""

    msg: Message
    modern: bool
    capabilities: Mapping[str, Any]

    @property
    def params(self) -> dict[str, Any]:
        """The request's params (an empty dict when it had none)."""
        return self.msg.params

    def declares(self, extension: str) -> bool:
        """True when the request's per-request capabilities declare ``extension``."""
        ext = self.capabilities.get("extensions")
        return isinstance(ext, Mapping) and extension in ext


def is_modern(msg: Message, headers: Mapping[str, str]) -> bool:
    """True for a 2026-07-28 request: server/discover, the per-request envelope, or its version header."""
    meta = msg.params.get("_meta")
    return (msg.method == "server/discover" or headers.get("mcp-protocol-version") in MODERN_VERSIONS
            or (isinstance(meta, Mapping) and PV_KEY in meta))


def answer(app: McpApp, caller: Caller, msg: Message, headers: Mapping[str, str]) -> Answer:
    """Answer one parsed message. JSON-RPC faults come back as error payloads; nothing raises."""
    if msg.kind in ("notification", "response"):
        return Answer(202, None)
    if msg.kind == "bare_call":  # older LangSwarm: {"name", "arguments"} -> the CallToolResult itself
        name = msg.params["name"]
        if name not in tools.TOOLS:
            return Answer(200, error_result(name, "unknown_tool", f"no tool named '{name[:100]}'",
                                            field="name", fix="use one of: " + ", ".join(tools.TOOLS)).wire())
        return Answer(200, tools.call(app, caller, name, msg.params["arguments"], False).wire())
    modern = is_modern(msg, headers)
    try:
        call = _admit(msg, headers) if modern else _admit_legacy(msg, headers)
        result = _dispatch(app, caller, call, headers)
    except ProtocolError as exc:
        status = exc.http_status or (MODERN_HTTP_STATUS.get(exc.code, 200) if modern else 200)
        return Answer(status, jsonrpc.error(msg.id, exc.code, exc.message, exc.data))
    if modern:
        result.setdefault("resultType", "complete")
        result.setdefault("_meta", {})[SERVER_INFO_KEY] = SERVER_INFO
    return Answer(200, jsonrpc.result(msg.id, result))


def _admit(msg: Message, headers: Mapping[str, str]) -> Call:
    """The 2026-07-28 ladder: envelope, routing headers, then the version."""
    meta = msg.params.get("_meta")
    if not isinstance(meta, Mapping) or PV_KEY not in meta or CAPS_KEY not in meta:
        raise ProtocolError(INVALID_PARAMS, f"params._meta must carry '{PV_KEY}' and '{CAPS_KEY}'",
                            {"fix": "send the 2026-07-28 request envelope, or initialize for 2025-11-25"})
    version = meta[PV_KEY]
    if headers.get("mcp-protocol-version") != version:
        raise ProtocolError(HEADER_MISMATCH, "MCP-Protocol-Version header does not match params._meta")
    if headers.get("mcp-method") != msg.method:
        raise ProtocolError(HEADER_MISMATCH, "Mcp-Method header does not match the request's method")
    key = _NAMED.get(msg.method)
    if key is not None and isinstance(msg.params.get(key), str) and (
            _decode_header(headers.get("mcp-name")) != msg.params[key]):
        raise ProtocolError(HEADER_MISMATCH, f"Mcp-Name header does not match params.{key}")
    if not isinstance(version, str) or version not in MODERN_VERSIONS:
        raise ProtocolError(UNSUPPORTED_VERSION, "Unsupported protocol version",
                            {"supported": list(MODERN_VERSIONS), "requested": version if isinstance(version, str)
                             else None})
    caps = meta[CAPS_KEY]
    return Call(msg, True, caps if isinstance(caps, Mapping) else {})


def _admit_legacy(msg: Message, headers: Mapping[str, str]) -> Call:
    version = headers.get("mcp-protocol-version")
    if version is not None and version not in HANDSHAKE_VERSIONS and msg.method != "initialize":
        raise ProtocolError(INVALID_REQUEST, f"Unsupported MCP-Protocol-Version '{version[:40]}'",
                            {"supported": list(HANDSHAKE_VERSIONS + MODERN_VERSIONS)}, http_status=400)
    method_header = headers.get("mcp-method")
    if method_header is not None and method_header != msg.method:
        raise ProtocolError(HEADER_MISMATCH, "Mcp-Method header does not match the request's method",
                            http_status=400)
    return Call(msg, False, {})


def _decode_header(value: str | None) -> str | None:
    """Undo the ``=?base64?...?=`` wrapping clients use for non-ASCII header values."""
    if value is None or not (value.startswith("=?base64?") and value.endswith("?=")):
        return value
    try:
        return base64.b64decode(value[9:-2], validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None


def _dispatch(app: McpApp, caller: Caller, call: Call, headers: Mapping[str, str]) -> dict[str, Any]:
    method, modern = call.msg.method, call.modern
    if method == "tools/list":
        listed: dict[str, Any] = {"tools": tools.listing(legacy_tasks=not modern)}
        if modern:
            listed.update(ttlMs=TOOLS_TTL_MS, cacheScope="private")
        return listed
    if method == "tools/call":
        return _call_tool(app, caller, call)
    if method.startswith("tasks/"):
        return _task_method(app, caller, call)
    if method.startswith("resources/"):
        return _resource_method(app, caller, call)
    if method == "prompts/list":  # the same six for every caller: cacheable by anyone
        from . import prompts  # the specialists' texts load on first use: cold start stays cheap

        return {**prompts.listing(), **({"ttlMs": TOOLS_TTL_MS, "cacheScope": "public"} if modern else {})}
    if method == "prompts/get":
        from . import prompts

        return prompts.get(app, caller, call.params)
    if not modern and method == "initialize":
        return _initialize(call.params)
    if not modern and method == "ping":
        return {}
    if modern and method == "server/discover":
        return {"supportedVersions": [*MODERN_VERSIONS, *HANDSHAKE_VERSIONS],
                "capabilities": {**CAPABILITIES, "extensions": {tasks.EXTENSION: {}}},
                "instructions": INSTRUCTIONS, "ttlMs": TOOLS_TTL_MS, "cacheScope": "public"}
    raise ProtocolError(METHOD_NOT_FOUND, f"Method not found: {method[:100]}",
                        {"fix": "methods: " + ", ".join(_methods(modern))})


def _methods(modern: bool) -> list[str]:
    res = ["resources/list", "resources/templates/list", "resources/read", "prompts/list", "prompts/get"]
    if modern:
        return ["server/discover", "tools/list", "tools/call", "tasks/get", "tasks/cancel", "tasks/update", *res]
    return ["initialize", "ping", "tools/list", "tools/call", "tasks/get", "tasks/result", "tasks/list",
            "tasks/cancel", *res]


def _resource_method(app: McpApp, caller: Caller, call: Call) -> dict[str, Any]:
    method = call.msg.method
    if method == "resources/list":
        out = resources.listing(app, caller, call.params)
    elif method == "resources/templates/list":
        out = resources.templates()
    elif method == "resources/read":
        out = resources.read(app, caller, call.params)
    else:
        raise ProtocolError(METHOD_NOT_FOUND, f"Method not found: {method[:100]}",
                            {"fix": "methods: " + ", ".join(_methods(call.modern))})
    if call.modern:  # per caller: cacheable only within the same authorization
        out.update(ttlMs=0 if method == "resources/read" else TOOLS_TTL_MS // 6, cacheScope="private")
    return out


def _initialize(params: dict[str, Any]) -> dict[str, Any]:
    requested = params.get("protocolVersion")
    version = requested if requested in HANDSHAKE_VERSIONS else HANDSHAKE_VERSIONS[0]
    caps: dict[str, Any] = dict(CAPABILITIES)
    if version == "2025-11-25":
        caps["tasks"] = {"list": {}, "cancel": {}, "requests": {"tools": {"call": {}}}}
    return {"protocolVersion": version, "capabilities": caps, "serverInfo": SERVER_INFO,
            "instructions": INSTRUCTIONS}


def _call_tool(app: McpApp, caller: Caller, call: Call) -> dict[str, Any]:
    params = call.params
    name, arguments = params.get("name"), params.get("arguments")
    if not isinstance(name, str) or not name:
        raise ProtocolError(INVALID_PARAMS, "Invalid params: name must be the tool's name",
                            {"fix": "call tools/list for the names"})
    spec = tools.TOOLS.get(name)
    if spec is None:
        raise ProtocolError(INVALID_PARAMS, f"Unknown tool: {name[:100]}",
                            {"fix": "use one of: " + ", ".join(tools.TOOLS)})
    if arguments is not None and not isinstance(arguments, dict):
        raise ProtocolError(INVALID_PARAMS, "Invalid params: arguments must be an object",
                            {"fix": "pass the tool's arguments as a JSON object"})
    task_meta = None if call.modern else params.get("task")
    if task_meta is not None and not isinstance(task_meta, dict):
        raise ProtocolError(INVALID_PARAMS, "Invalid params: task must be an object such as {\"ttl\": 60000}")
    if task_meta is not None and not spec.tasks:
        raise ProtocolError(METHOD_NOT_FOUND, f"Tool {name} does not support task-augmented calls",
                            {"fix": "call it without params.task"})
    as_task = task_meta is not None
    if call.modern and spec.tasks and elicit.is_retry(params):  # the answer to an ask of the run's agent
        return elicit.answer(app, caller, name, params)
    res = tools.call(app, caller, name, arguments or {}, as_task)
    ex = res.execution
    if call.modern and elicit.asks(ex) and elicit.can_elicit(call.capabilities):
        assert ex is not None
        return elicit.input_required(ex)
    if as_task and ex is not None:  # the run exists (and is stored): answer with its task
        return tasks.create_legacy(ex, app.now())
    if (call.modern and spec.tasks and ex is not None and not ex.finished
            and call.declares(tasks.EXTENSION)):
        return tasks.create_modern(ex, app.now())
    return res.wire()


def _task_method(app: McpApp, caller: Caller, call: Call) -> dict[str, Any]:
    method, params = call.msg.method, call.params
    if call.modern:
        if method not in ("tasks/get", "tasks/cancel", "tasks/update"):
            raise ProtocolError(METHOD_NOT_FOUND, f"Method not found: {method[:100]} (not in the 2026-07-28 "
                                                  "tasks extension)", {"fix": "poll tasks/get"})
        if not call.declares(tasks.EXTENSION):
            raise ProtocolError(MISSING_CAPABILITY, "Missing required client capability",
                                {"requiredCapabilities": {"extensions": {tasks.EXTENSION: {}}}})
        if method == "tasks/get":
            return tasks.get(app, caller, params, True, elicit.can_elicit(call.capabilities))
        if method == "tasks/cancel":
            return tasks.cancel(app, caller, params, True)
        return tasks.update(app, caller, params)
    if method == "tasks/get":
        return tasks.get(app, caller, params, False)
    if method == "tasks/result":
        return tasks.result(app, caller, params)
    if method == "tasks/list":
        return tasks.list_tasks(app, caller, params)
    if method == "tasks/cancel":
        return tasks.cancel(app, caller, params, False)
    raise ProtocolError(METHOD_NOT_FOUND, f"Method not found: {method[:100]}",
                        {"fix": "methods: " + ", ".join(_methods(False))})
