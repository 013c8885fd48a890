"""The parts every tool type is made of: a ``ToolKind`` (one ``type:`` of the workflow's
``tools`` section, with its LangSwarm aliases) builds a ``ToolInstance`` from one tool's
configuration; an instance offers ``Operation``s, each with a JSON Schema for its arguments.

Operator modules (``WFX_TOOL_MODULES``) add kinds by defining ``wfx_tool_kinds() -> Iterable[ToolKind]``;
``OperationsKind`` makes a kind out of a fixed list of operations.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from pydantic import BaseModel, ConfigDict, ValidationError

from ...engine.functions import FunctionRegistry
from ...errors import InvalidArgument, NotFound
from ...ports import VectorIndex
from ...ports_tools import MessageQueue, ToolRecords
from ...settings_tools import ToolSettings
from ...spec.envrefs import OWN_RULE, SECTIONS, resolved
from ...spec.model import Tool
from ..toolbox import ToolCall, ToolSpec

if TYPE_CHECKING:
    from ..embeddings import Embedded

NAME_RE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


@dataclass(frozen=True)
class ToolEnv:
    """What a tool kind may use to build its tools: the operator's settings and functions."""

    settings: ToolSettings = field(default_factory=ToolSettings)
    functions: FunctionRegistry = field(default_factory=FunctionRegistry)
    # the server's model for generation (an openai client the caller closes, and a model name)
    model: Callable[[], tuple[Any, str] | None] | None = None
    # the backends of the tasklist and message queue tools, made on first use (services.py picks)
    records: Callable[[], ToolRecords] | None = None
    queue: Callable[[], MessageQueue] | None = None
    # bigquery_vector_search: its backend (services.py picks BigQuery or the embedded index; made
    # on first use) and the operator's embeddings: embed(provider, model, texts) -> vectors + usage
    vectors: Callable[[], VectorIndex] | None = None
    embed: Callable[[str | None, str, Sequence[str]], Embedded] | None = None
    # reads a Secret Manager secret (``projects/P/secrets/S``) by name; None where there is none
    secret: Callable[[str], str | None] | None = None


class ToolArgs(BaseModel):
    """The base of every operation's arguments: an unknown argument is an error, never ignored."""

    model_config = ConfigDict(extra="forbid")


@dataclass(frozen=True)
class Operation:
    """One callable operation. ``args`` validates the arguments and gives their JSON Schema;
    ``handler(args, ctx)`` returns a JSON-able result or raises a WfxError with a fix."""

    name: str
    description: str
    args: type[BaseModel]
    handler: Callable[[Any, ToolCall], Any]

    def spec(self) -> ToolSpec:
        return ToolSpec(self.name, self.description, schema_of(self.args))


class ToolInstance(Protocol):
    """One configured tool (an entry of a workflow's ``tools``)."""

    def specs(self, deadline_s: float | None = None) -> Sequence[ToolSpec]:
        """Its operations (names local to the tool; the tool box makes them unique)."""

    def call(self, operation: str, arguments: Mapping[str, Any], ctx: ToolCall) -> Any: ...


class ToolKind(Protocol):
    """A tool ``type``. ``aliases`` are other names for it (LangSwarm's ``mcp...`` types)."""

    name: str
    aliases: tuple[str, ...]
    summary: str

    def check(self, tool: Tool, env: ToolEnv) -> str | None:
        """Why ``tool``'s configuration cannot work here (a message with the fix), else None."""

    def build(self, tool: Tool, env: ToolEnv) -> ToolInstance: ...


class OperationsTool:
    """A tool whose operations are fixed in code."""

    def __init__(self, tool_id: str, operations: Sequence[Operation]) -> None:
        self.tool_id = tool_id
        self.operations = {op.name: op for op in operations}

    def specs(self, deadline_s: float | None = None) -> Sequence[ToolSpec]:
        return [op.spec() for op in self.operations.values()]

    def call(self, operation: str, arguments: Mapping[str, Any], ctx: ToolCall) -> Any:
        op = self.operations.get(operation)
        if op is None:
            raise NotFound(f"tool '{self.tool_id}' has no operation '{operation}'",
                           fix=f"use one of: {', '.join(self.operations)}")
        return op.handler(validate_args(op.args, arguments, f"{self.tool_id}.{operation}"), ctx)


class OperationsKind:
    """A kind whose tools all offer the same operations, built by ``make(tool, env)``."""

    def __init__(self, name: str, summary: str, make: Callable[[Tool, ToolEnv], Sequence[Operation]],
                 aliases: tuple[str, ...] = (), check: Callable[[Tool, ToolEnv], str | None] | None = None) -> None:
        self.name = name
        self.summary = summary
        self.aliases = aliases
        self._make = make
        self._check = check

    def check(self, tool: Tool, env: ToolEnv) -> str | None:
        return self._check(tool, env) if self._check else None

    def build(self, tool: Tool, env: ToolEnv) -> ToolInstance:
        return OperationsTool(tool.id, self._make(tool, env))


def schema_of(model: type[BaseModel]) -> dict[str, Any]:
    """The model's JSON Schema as an OpenAI function's ``parameters`` (an object): a fresh copy
    each call (pydantic builds a schema anew on each ``model_json_schema``: once per class here)."""
    out: dict[str, Any] = json.loads(_schema_text(model))
    return out


@functools.lru_cache(maxsize=512)
def _schema_text(model: type[BaseModel]) -> str:
    schema = model.model_json_schema()
    schema.pop("title", None)
    schema.setdefault("type", "object")
    schema.setdefault("properties", {})
    return json.dumps(schema)


def validate_args(model: type[BaseModel], arguments: Mapping[str, Any], where: str) -> Any:
    """``arguments`` as ``model``. Errors: InvalidArgument naming each bad field and the fix."""
    if not isinstance(arguments, Mapping):
        raise InvalidArgument(f"the arguments of {where} must be an object, got {type(arguments).__name__}",
                              fix="pass the arguments as a JSON object")
    try:
        return model.model_validate(dict(arguments))
    except ValidationError as exc:
        problems = []
        for err in exc.errors(include_url=False)[:5]:
            loc = ".".join(str(p) for p in err["loc"]) or "(arguments)"
            problems.append(f"{loc}: {err['msg']}")
        fields = list(model.model_fields)
        raise InvalidArgument(f"bad arguments for {where}: " + "; ".join(problems),
                              fix=f"pass arguments matching its schema (fields: {', '.join(fields) or 'none'})",
                              field=problems[0].split(":")[0] if problems else None) from None


def tool_setting(tool: Tool, key: str, default: Any = None) -> Any:
    """An extra key of a tool's configuration (LangSwarm puts them at the top, under ``settings``
    or under ``config``); a whole-value ``${VAR:-default}`` is its default."""
    extra = tool.model_extra or {}
    if key in extra:
        found = extra[key]
    else:
        nested = next((n for n in (extra.get(s) for s in SECTIONS) if isinstance(n, Mapping) and key in n), None)
        if nested is None:
            return default
        found = nested[key]
    if key in OWN_RULE:
        return found
    value = resolved(found)  # "${VAR:-x}" is x: a document never reads the environment (spec/envrefs.py)
    return default if value is None else value
