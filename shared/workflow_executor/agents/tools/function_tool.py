"""``type: function``: a tool that wraps one callable the operator allows (a built-in or a function
of a ``WFX_FUNCTION_MODULES`` module); its JSON Schema comes from the callable's signature."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, create_model

from ...spec.model import Tool
from ..toolbox import ToolCall
from .base import Operation, OperationsKind, ToolEnv


def _check(tool: Tool, env: ToolEnv) -> str | None:
    if not tool.function:
        return f"tool '{tool.id}' of type function names no function; add function: builtins.echo (or module.func)"
    return env.functions.check(tool.function)


def args_model(fn: Callable[..., Any], name: str) -> type[BaseModel]:
    """A pydantic model of ``fn``'s keyword parameters (untyped ones accept anything)."""
    fields: dict[str, Any] = {}
    extra: Literal["allow", "forbid"] = "forbid"
    try:
        params = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):
        params = ()  # type: ignore[assignment]
        extra = "allow"
    for p in params:
        if p.kind == p.VAR_KEYWORD:
            extra = "allow"
            continue
        if p.kind in (p.VAR_POSITIONAL, p.POSITIONAL_ONLY):
            continue
        ann = Any if p.annotation is inspect.Parameter.empty or isinstance(p.annotation, str) else p.annotation
        fields[p.name] = (ann, ... if p.default is inspect.Parameter.empty else p.default)
    try:
        model: type[BaseModel] = create_model(name, __config__=ConfigDict(extra=extra), **fields)
    except (TypeError, ValueError, NameError):  # a parameter pydantic cannot describe: accept anything
        model = create_model(name, __config__=ConfigDict(extra="allow"))
    return model


def _operations(tool: Tool, env: ToolEnv) -> list[Operation]:
    ref = tool.function or ""
    fn = env.functions.resolve(ref)

    def handler(args: BaseModel, ctx: ToolCall) -> Any:
        values = {k: getattr(args, k) for k in type(args).model_fields}
        return fn(**values, **(args.model_extra or {}))

    return [Operation(tool.id, tool.description or (inspect.getdoc(fn) or ref).split("\n")[0],
                      args_model(fn, f"{tool.id}_args"), handler)]


KIND = OperationsKind("function", "one allowed function (function: builtins.echo or module.func)",
                      _operations, check=_check)
