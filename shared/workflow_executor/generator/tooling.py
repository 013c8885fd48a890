"""The tool catalogue a generated workflow may use: the caller's ``tools_config`` plus every tool
type of the server's registry that the operator's settings can serve (the type exists and its
``check`` passes), and the complexity's tool suite (the seed's: basic, standard, full).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from ..errors import WfxError
from ..spec.model import Tool

# The seed's suites: simple = basic tools, medium = standard tools, complex = the full suite. A
# suite's tools are offered to the agents whose role uses them; a task that asks for a tool gets
# it at every complexity.
SUITES: dict[str, frozenset[str]] = {
    "simple": frozenset({"filesystem", "tasklist"}),
    "medium": frozenset({"filesystem", "tasklist", "codebase_indexer", "mcpremote", "http_request"}),
    "complex": frozenset({"filesystem", "tasklist", "codebase_indexer", "mcpremote", "http_request",
                          "message_queue_publisher"}),
}
# Types the generator declares itself (anything else only from the caller's tools_config).
OFFERED = ("filesystem", "codebase_indexer", "http_request", "tasklist", "message_queue_publisher",
           "workflow_executor")
_DEFINITIONS: dict[str, dict[str, Any]] = {
    "filesystem": {"read_only": True, "description": "read and search files under the server's configured roots"},
    "codebase_indexer": {"description": "search the code under the server's configured roots"},
    "http_request": {"description": "HTTP requests to the hosts the server allows"},
    "tasklist": {"description": "create, list and update tasks"},
    "message_queue_publisher": {"description": "publish messages to the server's queues"},
    "workflow_executor": {"description": "run other workflows and check on them"},
}


def _ready(kind: str, settings: Any) -> bool:
    """Whether the operator configured what a built-in of ``kind`` reaches (its ``check`` only
    looks at a tool's own configuration, not at whether the server opened anything to it)."""
    if kind == "filesystem":
        return bool(getattr(settings, "fs_roots", ()) or getattr(settings, "s3_allow", ()))
    if kind == "codebase_indexer":
        return bool(getattr(settings, "fs_roots", ()))
    if kind == "http_request":
        return bool(getattr(settings, "http_allow", ()))
    if kind == "message_queue_publisher":
        return bool(getattr(settings, "mq_topics", ()))
    return True


@dataclass(frozen=True)
class Catalogue:
    """``tools``: tool id -> definition of every tool a generated document may declare;
    ``by_type``: tool type -> the id that serves it (the caller's first)."""

    tools: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    by_type: Mapping[str, str] = field(default_factory=dict)
    summaries: Mapping[str, str] = field(default_factory=dict)

    def tool_for(self, kinds: tuple[str, ...]) -> str | None:
        """The id of the first of ``kinds`` this catalogue serves."""
        return next((self.by_type[k] for k in kinds if k in self.by_type), None)

    def type_of(self, tool_id: str) -> str | None:
        return next((k for k, t in self.by_type.items() if t == tool_id), None)

    def definitions(self, used: set[str]) -> dict[str, dict[str, Any]]:
        """The ``tools`` section for the used ids (in catalogue order)."""
        return {tid: dict(cfg) for tid, cfg in self.tools.items() if tid in used}

    def describe(self) -> list[str]:
        """One line per tool, for a model's prompt."""
        return [f"{tid} (type {self.tools[tid].get('type')}): {self.summaries.get(tid, '')}".rstrip(": ")
                for tid in self.tools]


def catalogue(registry: Any | None, tools_config: Mapping[str, Mapping[str, Any]] | None = None) -> Catalogue:
    """The tools ``registry`` (a ToolRegistry, or None: no tools) can serve here, the caller's
    ``tools_config`` first. A type is offered when the registry knows it, its ``check`` passes
    for the generated definition and the operator configured what it reaches."""
    tools: dict[str, dict[str, Any]] = {}
    by_type: dict[str, str] = {}
    summaries: dict[str, str] = {}
    kind_of: Callable[[Tool], Any] | None = getattr(registry, "kind_of", None)
    for tid, cfg in (tools_config or {}).items():
        tools[tid] = dict(cfg)
        kind = _kind(kind_of, tid, cfg)
        name = getattr(kind, "name", None) or str(cfg.get("type") or tid)
        by_type.setdefault(name, tid)
        summaries[tid] = str(cfg.get("description") or getattr(kind, "summary", ""))[:200]
    if registry is None or kind_of is None:
        return Catalogue(tools, by_type, summaries)
    settings = getattr(getattr(registry, "env", None), "settings", None)
    for name in OFFERED:
        if name in by_type or name in tools:
            continue
        cfg = {"type": name, **_DEFINITIONS.get(name, {})}
        kind = _kind(kind_of, name, cfg)
        if kind is None or not _ready(name, settings) or registry.check(Tool(id=name, **cfg)) is not None:
            continue
        tools[name], by_type[name] = cfg, name
        summaries[name] = str(getattr(kind, "summary", "") or cfg.get("description", ""))[:200]
    return Catalogue(tools, by_type, summaries)


def _kind(kind_of: Callable[[Tool], Any] | None, tid: str, cfg: Mapping[str, Any]) -> Any:
    if kind_of is None:
        return None
    try:
        return kind_of(Tool(id=tid, **{k: v for k, v in cfg.items() if k != "id"}))
    except (WfxError, ValidationError):  # an unknown type or a bad definition: the validator reports it
        return None
