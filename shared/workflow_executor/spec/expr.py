"""A small safe evaluator for conditions (no ``eval``): comparisons, boolean logic,
arithmetic, literals (``true/false/null`` too), ``${...}`` references, item access and a few
pure functions. Anything else is rejected before it runs.
"""

from __future__ import annotations

import ast
import operator
from collections.abc import Callable, Mapping
from functools import lru_cache
from typing import Any

from ..errors import WfxError
from .refs import REF_RE, ROOT_NAMES, Scope, parse_ref


class ExpressionError(WfxError):
    code = "invalid_expression"


_MAX_REPEAT = 10_000


def _mul(a: Any, b: Any) -> Any:
    # "x" * 10**12 from an untrusted document would exhaust memory: cap sequence repetition.
    for seq, n in ((a, b), (b, a)):
        if isinstance(seq, str | list | tuple) and isinstance(n, int) and n * max(len(seq), 1) > _MAX_REPEAT:
            raise ExpressionError(f"repeating a sequence to more than {_MAX_REPEAT} items is not allowed")
    return operator.mul(a, b)


_BINOPS: dict[type[ast.operator], Callable[[Any, Any], Any]] = {
    ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: _mul,
    ast.Div: operator.truediv, ast.Mod: operator.mod, ast.FloorDiv: operator.floordiv,
}
_CMPOPS: dict[type[ast.cmpop], Callable[[Any, Any], Any]] = {
    ast.Eq: operator.eq, ast.NotEq: operator.ne, ast.Lt: operator.lt, ast.LtE: operator.le,
    ast.Gt: operator.gt, ast.GtE: operator.ge,
    ast.In: lambda a, b: a in b, ast.NotIn: lambda a, b: a not in b,
    ast.Is: lambda a, b: a is b, ast.IsNot: lambda a, b: a is not b,
}
_FUNCS: dict[str, Callable[..., Any]] = {
    "len": len, "int": int, "float": float, "str": str, "bool": bool, "abs": abs,
    "min": min, "max": max, "lower": lambda s: str(s).lower(), "upper": lambda s: str(s).upper(),
    "contains": lambda a, b: b in a,
}
_CONSTS = {"true": True, "false": False, "null": None, "none": None, "True": True, "False": False,
           "None": None}
_MAX_LEN = 2000


@lru_cache(maxsize=1024)
def compile_expr(text: str) -> tuple[ast.Expression, tuple[str, ...]]:
    """Parse and check once; returns the tree and the reference texts it binds.
    Raises ExpressionError naming what is not allowed."""
    if len(text) > _MAX_LEN:
        raise ExpressionError(f"condition is longer than {_MAX_LEN} characters")
    refs: list[str] = []

    def bind(m: Any) -> str:
        parse_ref(m.group(1))  # syntax check now
        refs.append(m.group(1))
        return f"__ref{len(refs) - 1}"

    src = REF_RE.sub(bind, text.strip())
    try:
        tree = ast.parse(src, mode="eval")
    except SyntaxError as exc:
        raise ExpressionError(
            f"condition '{text}' is not a valid expression: {exc.msg}",
            fix="write e.g. ${check.output.valid} == true and len(${fetch.output}) > 0",
        ) from None
    for node in ast.walk(tree):
        _check(node, text)
    return tree, tuple(refs)


def _check(node: ast.AST, text: str) -> None:
    allowed = (ast.Expression, ast.BoolOp, ast.And, ast.Or, ast.UnaryOp, ast.Not, ast.USub, ast.UAdd,
               ast.BinOp, ast.Compare, ast.Constant, ast.Name, ast.Load, ast.Subscript, ast.List,
               ast.Tuple, ast.Call, ast.Attribute, ast.IfExp, *_BINOPS, *_CMPOPS)
    if not isinstance(node, allowed):
        raise ExpressionError(f"condition '{text}' uses {type(node).__name__}, which is not allowed",
                              fix="use comparisons, and/or/not, arithmetic, literals and ${...}")
    if isinstance(node, ast.Call) and not (isinstance(node.func, ast.Name) and node.func.id in _FUNCS):
        raise ExpressionError(f"condition '{text}' calls something other than {sorted(_FUNCS)}")
    if isinstance(node, ast.Attribute) and node.attr.startswith("_"):
        raise ExpressionError(f"condition '{text}' reads a private attribute")
    if isinstance(node, ast.Call) and node.keywords:
        raise ExpressionError(f"condition '{text}' passes keyword arguments")


def evaluate(text: str, scope: Scope, names: Mapping[str, Any] | None = None) -> Any:
    """Evaluate ``text`` against ``scope``. Bare names resolve to constants, then ``names``
    (e.g. ``output``), then step outputs. Errors: ExpressionError, UnresolvedReference."""
    tree, refs = compile_expr(text)
    bound = {f"__ref{i}": scope.lookup(parse_ref(r)) for i, r in enumerate(refs)}
    env: dict[str, Any] = dict(names or {})
    env.update(bound)
    return _eval(tree.body, env, scope, text)


def _eval(node: ast.AST, env: dict[str, Any], scope: Scope, text: str) -> Any:
    def ev(n: ast.AST) -> Any:
        return _eval(n, env, scope, text)

    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, ast.Name):
        if node.id in env:
            return env[node.id]
        if node.id in _CONSTS:
            return _CONSTS[node.id]
        return scope.lookup(parse_ref(node.id))
    if isinstance(node, ast.BoolOp):
        if isinstance(node.op, ast.And):
            result: Any = True
            for v in node.values:
                result = ev(v)
                if not result:
                    return result
            return result
        result = False
        for v in node.values:
            result = ev(v)
            if result:
                return result
        return result
    if isinstance(node, ast.UnaryOp):
        val = ev(node.operand)
        if isinstance(node.op, ast.Not):
            return not val
        return -val if isinstance(node.op, ast.USub) else +val
    try:
        if isinstance(node, ast.BinOp):
            return _BINOPS[type(node.op)](ev(node.left), ev(node.right))
        if isinstance(node, ast.Compare):
            left = ev(node.left)
            for op, comp in zip(node.ops, node.comparators, strict=True):
                right = ev(comp)
                if not _CMPOPS[type(op)](left, right):
                    return False
                left = right
            return True
        if isinstance(node, ast.IfExp):
            return ev(node.body) if ev(node.test) else ev(node.orelse)
        if isinstance(node, ast.List | ast.Tuple):
            return [ev(e) for e in node.elts]
        if isinstance(node, ast.Subscript):
            base, key = ev(node.value), ev(node.slice)
            return base.get(key) if isinstance(base, Mapping) else base[key]
        if isinstance(node, ast.Attribute):
            base = ev(node.value)
            v = node.value
            if (node.attr == "output" and isinstance(v, ast.Name) and v.id not in env and v.id not in _CONSTS
                    and v.id not in ROOT_NAMES):
                return base  # `step.output` is the step's output itself, as in ${step.output}
            if isinstance(base, Mapping):
                return base.get(node.attr)
            raise ExpressionError(f"condition '{text}': .{node.attr} on a {type(base).__name__}")
        if isinstance(node, ast.Call):
            assert isinstance(node.func, ast.Name)
            return _FUNCS[node.func.id](*[ev(a) for a in node.args])
    except ExpressionError:
        raise
    except (TypeError, ValueError, KeyError, IndexError, ZeroDivisionError) as exc:
        raise ExpressionError(f"condition '{text}' failed: {type(exc).__name__}: {exc}") from None
    raise ExpressionError(f"condition '{text}': unsupported element {type(node).__name__}")
