"""Our counterparts of the functions LangSwarm ships for workflows
(``langswarm.core.utils.workflows.functions.<name>``): a LangSwarm file that names one runs
ours. ``mcp_call`` reaches MCP tools: ``local://workflow_executor`` (our own tools, under the
run's caller), ``local://<tool>`` (the tools registry) and ``http(s)://`` (a remote MCP server
on the operator's allow-list), all through the engine's ``mcp`` bridge.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from .errors import InvalidArgument, NotFound, TerminalStepError

if TYPE_CHECKING:
    from .engine.run import Run

# the module paths under which LangSwarm's workflow functions have lived
MODULES = (
    "langswarm.core.utils.workflows.functions",
    "langswarm.v1.core.utils.workflows.functions",
    "langswarm.core.v2.utils.workflows.functions",
)
# functions marked so receive ``run=`` (the running engine Run) from the action layer
RUN_ATTR = "_wfx_wants_run"


def _wants_run(fn: Callable[..., Any]) -> Callable[..., Any]:
    setattr(fn, RUN_ATTR, True)
    return fn


def task_of(payload: Any) -> tuple[str, dict[str, Any]]:
    """(tool name, arguments) from the payload forms LangSwarm workflows send: JSON-RPC
    ``{method: tools/call, params: {name, arguments}}``, ``{name, arguments | args}``,
    ``{method: <tool>, params}`` (mcpremote) and an agent's ``{mcp: {method | tool, params}}``;
    a JSON text of any of them too. Errors: InvalidArgument."""
    if isinstance(payload, str):
        try:
            payload = json.loads(payload)
        except ValueError:
            raise InvalidArgument("mcp_call payload is text that is not JSON",
                                  fix='pass {name: <tool>, arguments: {...}}') from None
    if isinstance(payload, Mapping) and isinstance(payload.get("mcp"), Mapping):
        inner = payload["mcp"]
        payload = {"name": inner.get("method") or inner.get("tool"), "arguments": inner.get("params", {})}
    if not isinstance(payload, Mapping):
        raise InvalidArgument(f"mcp_call payload must be a mapping, got {type(payload).__name__}",
                              fix='pass {name: <tool>, arguments: {...}}')
    if payload.get("method") == "tools/call":
        params = payload.get("params") or {}
        name, args = params.get("name"), params.get("arguments", {})
    elif "name" in payload:
        name, args = payload.get("name"), payload.get("arguments", payload.get("args", {}))
    elif isinstance(payload.get("method"), str):
        name, args = payload["method"], payload.get("params", {})
    else:
        raise InvalidArgument("mcp_call payload names no tool",
                              fix='pass {name: <tool>, arguments: {...}} or {method: tools/call, params: {...}}')
    if isinstance(args, str):
        try:
            args = json.loads(args)
        except ValueError:
            args = {}
    if not isinstance(name, str) or not name:
        raise InvalidArgument("mcp_call payload has no tool name", fix="set name: <tool>")
    if not isinstance(args, Mapping):
        raise InvalidArgument("mcp_call arguments must be a mapping", fix="pass arguments: {...}")
    return name, dict(args)


@_wants_run
def mcp_call(run: Run, mcp_url: str, payload: Any = None, headers: Mapping[str, str] | None = None,
             **_ignored: Any) -> Any:
    """Call one MCP tool. The result is the tool's structured result with ``success`` set;
    a tool that fails answers ``{success: false, error: {code, message, fix}}`` (as LangSwarm's
    does) so that the workflow can route on it. Errors: InvalidArgument (bad URL or payload),
    NotFound (no bridge for that kind of URL in this process)."""
    url = str(mcp_url or "").strip()
    name, args = task_of(payload)
    bridge = run.engine.mcp
    if bridge is None:
        raise NotFound("MCP calls are not available in this process", fix="run the workflow through wfx or the server")
    if url.startswith("local://"):
        return bridge.local(run, url.removeprefix("local://").strip("/"), name, args)
    if url.startswith(("http://", "https://")):
        return bridge.remote(run, url, name, args, dict(headers or {}))
    raise InvalidArgument(f"mcp_url '{url[:200]}' is not local://<tool> nor an http(s) URL",
                          fix="write mcp_url: local://workflow_executor, local://<tool> or https://host/mcp")


@_wants_run
def mcp_fetch_schema(run: Run, mcp_url: str, **_ignored: Any) -> Any:
    """The tools an MCP server offers (``tools/list``), as ``{tools: [...]}``."""
    url = str(mcp_url or "").strip()
    bridge = run.engine.mcp
    if bridge is None:
        raise NotFound("MCP calls are not available in this process", fix="run the workflow through wfx or the server")
    if url.startswith("local://"):
        return bridge.local(run, url.removeprefix("local://").strip("/"), "", {})
    return bridge.remote(run, url, "", {}, {})


def format_as_json(data: Any = None, **_ignored: Any) -> str:
    """``data`` as JSON text: values are dumped; text that holds a JSON object or list is
    returned as that JSON; anything else becomes ``{}``."""
    if not isinstance(data, str):
        try:
            return json.dumps(data)
        except (TypeError, ValueError):
            return "{}"
    text = data.strip()
    for candidate in (text, *re.findall(r"```(?:json)?\s*(.*?)```", text, re.S)):
        try:
            json.loads(candidate)
            return str(candidate).strip()
        except ValueError:
            continue
    m = re.search(r"(\{.*\}|\[.*\])", text, re.S)
    if m:
        try:
            json.loads(m.group(1))
            return str(m.group(1))
        except ValueError:
            pass
    return "{}"


def split_by_agent_prefix(text: str, prefix_map: Mapping[str, str], fallback: bool = True,
                          **_ignored: Any) -> dict[str, str]:
    """Split ``text`` at agent-name markers (``Name:``, ``Name -``, ``Name ``; any case) into
    ``{step id: chunk}``; with ``fallback`` a step without a chunk gets the whole text."""
    if not isinstance(prefix_map, Mapping) or not prefix_map:
        raise TerminalStepError("split_by_agent_prefix needs prefix_map: {step id: agent name}")
    names = {str(k): str(v).strip() for k, v in prefix_map.items()}
    pattern = "|".join(rf"(?P<g{i}>\b{re.escape(n)}\b\s*(?:[:\-]\s*|\s+))" for i, n in enumerate(names.values()))
    keys = list(names)
    segments: dict[str, str] = {}
    last_key, last_end = None, 0
    src = str(text)
    for m in re.finditer(pattern, src, re.I):
        if last_key is not None:
            segments[last_key] = (segments.get(last_key, "") + src[last_end:m.start()].strip()).strip()
        last_key = keys[int(str(m.lastgroup)[1:])]
        last_end = m.end()
    if last_key is not None:
        segments[last_key] = (segments.get(last_key, "") + src[last_end:].strip()).strip()
    segments = {k: v for k, v in segments.items() if v}
    if fallback:
        for k in keys:
            segments.setdefault(k, src.strip())
    return segments


def find_tool_by_name(response: Mapping[str, Any], tool_name: str, **_ignored: Any) -> Any:
    """The entry of ``tool_name`` in a ``tools/list`` answer (``{result: {tools}}`` or ``{tools}``)."""
    body = response.get("result", response) if isinstance(response, Mapping) else {}
    tools = body.get("tools", []) if isinstance(body, Mapping) else []
    return next((t for t in tools if isinstance(t, Mapping) and t.get("name") == tool_name), None)


def transform(value: Any = None, using: str = "identity") -> Any:
    """LangSwarm V2's named transformers (a ``type: transform`` step runs this): ``identity``,
    ``to_json`` (``"{}"`` for null), ``to_string`` (``""`` for null), ``length`` (0 for null).
    Errors: TerminalStepError for another name, or ``length`` of a value that has none."""
    if using == "identity":
        return value
    if using == "to_json":
        return "{}" if value is None else json.dumps(value, ensure_ascii=False, default=str)
    if using == "to_string":
        return "" if value is None else value if isinstance(value, str) else json.dumps(value, default=str)
    if using == "length":
        if value is None:
            return 0
        if not isinstance(value, str | list | dict):
            raise TerminalStepError(f"transform length: a {type(value).__name__} has no length")
        return len(value)
    raise TerminalStepError(f"unknown transformer {using!r}: use identity, to_json, to_string or length")


REGISTRY: dict[str, Callable[..., Any]] = {
    f.__name__: f for f in (mcp_call, mcp_fetch_schema, format_as_json, split_by_agent_prefix, find_tool_by_name,
                            transform)
}
