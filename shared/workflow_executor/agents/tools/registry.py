"""The tool registry: every tool type this server can run (the built-ins and those of operator
modules), and the ``ToolHost`` the engine uses for agent steps (``toolbox``) and ``tool:``
steps (``run_tool``). One registry per Engine; nothing here is a module-level global.
"""

from __future__ import annotations

import hashlib
import importlib
import json
import re
import threading
from collections import OrderedDict
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from ...errors import InvalidArgument, LimitExceeded, NotFound
from ...spec.model import Tool, WorkflowDocument
from ..toolbox import ToolCall, ToolSpec
from .base import ToolEnv, ToolInstance, ToolKind, tool_setting

# LangSwarm's generic types: the tool's id (or ``mcp_url``) says which tool it is.
GENERIC_TYPES = ("mcp", "builtin", "mcp_tool", "local", "integration")
_UNSAFE = re.compile(r"[^A-Za-z0-9_-]")


def builtin_kinds() -> list[ToolKind]:
    """The built-in tool types (imported here, so a process that runs no tools loads none)."""
    from . import (
        ask_human,
        bigquery_vector_search,
        codebase,
        dynamic_forms,
        filesystem,
        function_tool,
        gcp_environment,
        github,
        http_request,
        mcpremote,
        mq_consumer,
        mq_publisher,
        sql_database,
        tasklist,
        workflow_tool,
    )

    return [function_tool.KIND, filesystem.KIND, codebase.KIND, http_request.KIND, mcpremote.KIND,
            workflow_tool.KIND, tasklist.KIND, mq_publisher.KIND, mq_consumer.KIND, bigquery_vector_search.KIND,
            sql_database.KIND, gcp_environment.KIND, github.KIND, dynamic_forms.KIND, ask_human.KIND]


class ToolRegistry:
    """Tool types by name and alias; builds tools from a document's ``tools`` section."""

    def __init__(self, kinds: Iterable[ToolKind] = (), env: ToolEnv | None = None) -> None:
        self.env = env or ToolEnv()
        self._kinds: dict[str, ToolKind] = {}
        self._aliases: dict[str, str] = {}
        self._instances: OrderedDict[str, ToolInstance] = OrderedDict()
        self._lock = threading.Lock()
        for kind in kinds:
            self.add(kind)

    @classmethod
    def from_env(cls, env: ToolEnv) -> ToolRegistry:
        """The built-ins, the kinds of each ``WFX_TOOL_MODULES`` module (its ``wfx_tool_kinds()``)
        and one kind per ``WFX_TOOL_SERVERS`` entry (an MCP server's tools).
        Errors: InvalidArgument naming a module that cannot give kinds."""
        reg = cls(builtin_kinds(), env)
        for name in env.settings.modules:
            try:
                module = importlib.import_module(name)
            except ImportError as exc:
                raise InvalidArgument(f"WFX_TOOL_MODULES names '{name}', which cannot be imported: {exc}",
                                      fix="install the module or remove it from WFX_TOOL_MODULES") from None
            provider = getattr(module, "wfx_tool_kinds", None)
            if not callable(provider):
                raise InvalidArgument(f"tool module '{name}' has no wfx_tool_kinds() function",
                                      fix="define wfx_tool_kinds() returning its ToolKind objects")
            for kind in provider():
                reg.add(kind)
        from .tool_servers import ServerKind

        for type_name, url in env.settings.servers.items():  # WFX_TOOL_SERVERS: type=MCP URL
            reg.add(ServerKind(type_name, url))
        return reg

    def add(self, kind: ToolKind) -> None:
        """Register a kind; a later kind with the same name or alias replaces the earlier one."""
        self._kinds[kind.name] = kind
        for alias in kind.aliases:
            self._aliases[alias] = kind.name

    def known(self) -> list[str]:
        return sorted(self._kinds)

    def has(self, name: str) -> bool:
        """True when ``name`` is a tool type (or LangSwarm alias) this server has."""
        return self._lookup(name) is not None

    # -- which kind ------------------------------------------------------------------------

    def kind_of(self, tool: Tool) -> ToolKind:
        """The kind of ``tool`` by its type (or alias); for LangSwarm's generic types (``mcp``...)
        by ``mcp_url`` (remote) or by its id. Errors: InvalidArgument naming the type and the known ones."""
        found = self._lookup(tool.type)
        if found is None and tool.type in GENERIC_TYPES:
            if tool_setting(tool, "mcp_url") and "mcpremote" in self._kinds:
                found = self._kinds["mcpremote"]
            else:
                ident = tool.id.lower().replace("-", "_")
                found = self._lookup(ident) or self._lookup(ident.removeprefix("mcp"))
        if found is None:
            aliases = sorted(a for a in self._aliases if a not in self._kinds)
            raise InvalidArgument(
                f"tool '{tool.id}' has type '{tool.type}', which this server does not know",
                fix=f"use one of: {', '.join(self.known())} (LangSwarm names: {', '.join(aliases) or 'none'}); "
                    f"or the operator provides type '{tool.type}' with WFX_TOOL_MODULES (a Python module whose "
                    f"wfx_tool_kinds() returns it) or WFX_TOOL_SERVERS={tool.type}=https://host/mcp (an MCP "
                    "server, its URL also on WFX_MCP_ALLOW)", field="type")
        return found

    def _lookup(self, name: str) -> ToolKind | None:
        key = name.strip()
        return self._kinds.get(key) or self._kinds.get(self._aliases.get(key, ""))

    def check(self, tool: Tool) -> str | None:
        """Why ``tool`` cannot run here (for validation), else None."""
        try:
            kind = self.kind_of(tool)
        except InvalidArgument as exc:
            return f"{exc.message}; {exc.fix}"
        return kind.check(tool, self.env)

    def discover(self, name: str) -> Tool | None:
        """The tool an agent's undeclared ``tools:`` name stands for (LangSwarm's auto-discovery):
        the type of that name or alias with the operator's defaults, else None."""
        kind = self._lookup(name) if isinstance(name, str) else None
        return None if kind is None else Tool(id=name, type=kind.name)

    def resolve(self, tool_id: str, doc: WorkflowDocument) -> Tool | None:
        """The document's declaration of ``tool_id``, else the built-in of that name, else None."""
        return doc.tools.get(tool_id) or self.discover(tool_id)

    def instance(self, tool: Tool) -> ToolInstance:
        """The built tool for this configuration (cached: a remote tool lists its tools once).
        Errors: the kind's own (InvalidArgument, McpUrlNotAllowed, FunctionNotAllowed ...)."""
        key = hashlib.sha256(json.dumps(tool.model_dump(mode="json"), sort_keys=True, default=str)
                             .encode()).hexdigest()
        with self._lock:
            hit = self._instances.get(key)
            if hit is not None:
                self._instances.move_to_end(key)
                return hit
        kind = self.kind_of(tool)
        built = kind.build(tool, self.env)  # raises its own precise errors (a URL not allowed, ...)
        with self._lock:
            self._instances[key] = built
            while len(self._instances) > 128:
                self._instances.popitem(last=False)
        return built

    # -- ToolHost ---------------------------------------------------------------------------

    def toolbox(self, tool_ids: Sequence[str], document: Any, deadline_s: float | None = None) -> RegistryToolBox:
        """The box for an agent with ``tools: tool_ids``: every operation of every tool, named
        ``<tool>__<operation>`` (a tool with one operation: its id), OpenAI-safe and unique.
        A name the document does not declare is the built-in of that name; one that is no
        built-in is left out (as LangSwarm does; ``wfx validate`` warns about it)."""
        doc: WorkflowDocument = document
        box = RegistryToolBox(self.env.settings.max_result_bytes)
        for tid in tool_ids:
            tool = self.resolve(tid, doc)
            if tool is None:
                continue
            inst = self.instance(tool)
            specs = list(inst.specs(deadline_s))
            for spec in specs:
                name = tid if len(specs) == 1 and spec.name == tid else f"{tid}__{spec.name}"
                box.add(name, spec, inst)
        return box

    def run_tool(self, tool_id: str, params: Mapping[str, Any], document: Any, ctx: ToolCall) -> Any:
        """A ``tool:`` step: call one operation of ``tool_id`` with ``params``. ``params`` name
        the operation as LangSwarm does (``method`` + ``params``, ``tool_name``/``name`` +
        ``arguments``, or ``method: call_tool``); a tool with one operation takes them as its
        arguments. Errors: NotFound, InvalidArgument, LimitExceeded, the tool's own errors."""
        doc: WorkflowDocument = document
        tool = self.resolve(tool_id, doc)
        if tool is None:
            raise NotFound(f"tool '{tool_id}' is not declared in this workflow's tools",
                           fix=f"declare it under tools: or use one of: {', '.join(doc.tools) or '(none)'}")
        inst = self.instance(tool)
        op, args = split_params(params)
        if op is not None and params.get("method") == op:
            names = [s.name for s in inst.specs(ctx.deadline_s)]
            if op not in names and len(names) == 1:
                op, args = None, params  # ``method`` is the tool's own argument (http_request's HTTP method)
        if op is None:
            names = [s.name for s in inst.specs(ctx.deadline_s)]
            if len(names) != 1:
                raise InvalidArgument(f"tool '{tool_id}' has {len(names)} operations; the step must say which",
                                      fix=f"add method: <one of {', '.join(names[:30]) or 'none'}> to params",
                                      field="params.method")
            op = names[0]
        return cap_result(inst.call(op, args, ctx), self.env.settings.max_result_bytes, f"{tool_id}.{op}")


class RegistryToolBox:
    """The tools of one agent step (``ToolBox``)."""

    def __init__(self, max_result_bytes: int) -> None:
        self.max_result_bytes = max_result_bytes
        self._specs: list[ToolSpec] = []
        self._entries: dict[str, tuple[ToolInstance, str]] = {}

    def add(self, name: str, spec: ToolSpec, inst: ToolInstance) -> None:
        safe = openai_name(name, self._entries)
        self._entries[safe] = (inst, spec.name)
        self._specs.append(ToolSpec(safe, spec.description[:1024], spec.parameters))

    def specs(self) -> Sequence[ToolSpec]:
        return list(self._specs)

    def call(self, name: str, arguments: Mapping[str, Any], ctx: ToolCall) -> Any:
        entry = self._entries.get(name)
        if entry is None:
            raise NotFound(f"no tool named '{name[:100]}' is offered to this agent",
                           fix=f"call one of: {', '.join(self._entries) or '(none)'}")
        inst, op = entry
        return cap_result(inst.call(op, arguments, ctx), self.max_result_bytes, name)


def openai_name(name: str, taken: Mapping[str, Any] | set[str]) -> str:
    """``name`` made to match ``^[A-Za-z0-9_-]{1,64}$`` and distinct from ``taken``."""
    safe = _UNSAFE.sub("_", name)[:64] or "tool"
    if safe != name or safe in taken:
        digest = hashlib.sha256(name.encode()).hexdigest()
        for n in range(6, 20):
            candidate = f"{safe[:63 - n]}_{digest[:n]}"
            if candidate not in taken:
                return candidate
    return safe


def split_params(params: Mapping[str, Any]) -> tuple[str | None, Mapping[str, Any]]:
    """(operation, arguments) of a ``tool:`` step's params, in LangSwarm's forms."""
    if not isinstance(params, Mapping):
        raise InvalidArgument(f"a tool step's params must be a mapping, got {type(params).__name__}",
                              fix="write params: {method: <operation>, ...arguments}")
    p = dict(params)
    inner = p.get("params")
    if p.get("method") == "call_tool" and isinstance(inner, Mapping):  # LangSwarm's mcpremote form
        name = inner.get("tool_name") or inner.get("name")
        args = inner.get("arguments") or {}
        return (str(name) if name else None), args
    if isinstance(p.get("method"), str):
        op = p.pop("method")
        if set(p) == {"params"} and isinstance(inner, Mapping):
            return op, inner
        return op, p
    if isinstance(p.get("tool_name"), str):
        op = p.pop("tool_name")
        args = p.get("arguments", {})
        return op, args if isinstance(args, Mapping) else {}
    if set(p) == {"name", "arguments"} and isinstance(p["name"], str) and isinstance(p["arguments"], Mapping):
        return p["name"], p["arguments"]
    return None, p


def cap_result(result: Any, limit: int, where: str) -> Any:
    """``result`` as plain JSON data. Errors: LimitExceeded past ``limit`` bytes."""
    text = json.dumps(result, default=str, ensure_ascii=False)
    if len(text.encode("utf-8")) > limit:
        raise LimitExceeded(f"the result of {where} is {len(text):,} characters, over the limit of {limit:,} bytes",
                            fix="ask for less (a narrower path, pattern or range)")
    return json.loads(text)
