"""A small safe evaluator for conditions (no ``eval``): comparisons, boolean logic,
arithmetic, literals (``true/false/null`` too), ``${...}`` references, item access and a few
pure functions. Anything else is rejected before it runs.
"""

from __future__ import annotations

import ast
import operator
import re
import time
from collections.abc import Callable, Mapping
from functools import lru_cache
from typing import Any

from ..errors import WfxError
from .refs import REF_RE, ROOT_NAMES, Scope, parse_ref


class ExpressionError(WfxError):
    code = "invalid_expression"


# Bounds on one evaluation (a 50-byte condition must not hold the GIL for seconds):
# the size of every value it builds, in "cells" (an item of a list or dict, a character, 64 bits
# of an integer), checked BEFORE it is built; the work it may do (cells compared, copied or
# scanned, plus one per node); the nesting depth of the expression and of the values it walks;
# and its wall time, checked between operations.
MAX_VALUE_CELLS = 100_000
MAX_WORK = 5_000_000
MAX_DEPTH = 64
MAX_INT_BITS = 8192
MAX_SECONDS = 1.0


class _Meter:
    """Counts the work of one evaluation and measures values (memoised by identity, so a list
    repeated by reference is measured once)."""

    __slots__ = ("deadline", "memo", "text", "work")

    def __init__(self, text: str) -> None:
        self.text = text
        self.work = 0
        self.memo: dict[int, tuple[Any, int]] = {}
        self.deadline = time.monotonic() + MAX_SECONDS

    def fail(self, what: str) -> ExpressionError:
        return ExpressionError(f"condition '{self.text[:200]}' {what}",
                               fix="compare smaller values; conditions are for routing, not computing")

    def charge(self, cells: int) -> None:
        self.work += cells
        if self.work > MAX_WORK:
            raise self.fail(f"does more than {MAX_WORK} units of work")
        if time.monotonic() > self.deadline:
            raise self.fail(f"ran longer than {MAX_SECONDS:g} s")

    def built(self, cells: int) -> int:
        """Admit a value of ``cells`` about to be built (raises past the bound)."""
        if cells > MAX_VALUE_CELLS:
            raise self.fail(f"would build a value of {cells} cells, more than {MAX_VALUE_CELLS}")
        self.charge(cells)
        return cells

    def size(self, value: Any, depth: int = 0) -> int:
        if value is None or isinstance(value, bool | float):
            return 1
        if isinstance(value, int):
            return 1 + value.bit_length() // 64
        if isinstance(value, str):
            return 1 + len(value)
        if depth > MAX_DEPTH:
            raise self.fail(f"reads a value nested deeper than {MAX_DEPTH}")
        hit = self.memo.get(id(value))
        if hit is not None:
            return hit[1]
        if isinstance(value, Mapping):
            n = 1 + sum(self.size(k, depth + 1) + self.size(v, depth + 1) for k, v in value.items())
        elif isinstance(value, list | tuple):
            n = 1 + sum(self.size(v, depth + 1) for v in value)
        else:
            n = 1
        self.memo[id(value)] = (value, n)  # keep the value alive: its id stays its own
        return n


def _mul(m: _Meter, a: Any, b: Any) -> Any:
    for seq, n in ((a, b), (b, a)):
        if isinstance(seq, str | list | tuple) and isinstance(n, int) and not isinstance(n, bool):
            m.built(max(n, 0) * m.size(seq))
    if isinstance(a, int) and isinstance(b, int) and a.bit_length() + b.bit_length() > MAX_INT_BITS:
        raise m.fail(f"would build an integer of more than {MAX_INT_BITS} bits")
    return operator.mul(a, b)


def _add(m: _Meter, a: Any, b: Any) -> Any:
    if isinstance(a, str | list | tuple) and isinstance(b, str | list | tuple):
        m.built(m.size(a) + m.size(b))
    return operator.add(a, b)


def _mod(m: _Meter, a: Any, b: Any) -> Any:
    if isinstance(a, str | bytes):
        raise m.fail("formats a string with %, which is not allowed")
    return operator.mod(a, b)


def _plain(fn: Callable[[Any, Any], Any]) -> Callable[[_Meter, Any, Any], Any]:
    return lambda _m, a, b: fn(a, b)


_BINOPS: dict[type[ast.operator], Callable[[_Meter, Any, Any], Any]] = {
    ast.Add: _add, ast.Sub: _plain(operator.sub), ast.Mult: _mul,
    ast.Div: _plain(operator.truediv), ast.Mod: _mod, ast.FloorDiv: _plain(operator.floordiv),
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

    src = _js_operators(REF_RE.sub(bind, text.strip()))
    try:
        tree = ast.parse(src, mode="eval")
    except SyntaxError as exc:
        raise ExpressionError(
            f"condition '{text}' is not a valid expression: {exc.msg}",
            fix="write e.g. ${check.output.valid} == true and len(${fetch.output}) > 0",
        ) from None
    for node in ast.walk(tree):
        _check(node, text)
    if _depth(tree.body) > MAX_DEPTH:
        raise ExpressionError(f"condition '{text[:200]}' nests deeper than {MAX_DEPTH} levels",
                              fix="split it into simpler conditions")
    return tree, tuple(refs)


def _depth(root: ast.AST) -> int:
    deepest, todo = 0, [(root, 1)]
    while todo:  # iterative: a 2000-character chain must not exhaust the stack here
        node, d = todo.pop()
        deepest = max(deepest, d)
        todo.extend((child, d + 1) for child in ast.iter_child_nodes(node))
    return deepest


_OPERAND = r"(\w+|'[^']*'|\"[^\"]*\")"
_CONTAINS = re.compile(_OPERAND + r"\s+contains\s+" + _OPERAND)
_QUOTED = re.compile(r"'[^']*'|\"[^\"]*\"")


def _js_operators(src: str) -> str:
    """LangSwarm files write ``a contains 'x' || b && c``: read them as ``'x' in a or b and c``
    (outside quoted text only)."""
    if "contains" not in src and "||" not in src and "&&" not in src:
        return src
    parts: list[str] = []
    pos = 0
    for m in _QUOTED.finditer(src):
        parts.append(src[pos:m.start()].replace("||", " or ").replace("&&", " and "))
        parts.append(m.group(0))
        pos = m.end()
    parts.append(src[pos:].replace("||", " or ").replace("&&", " and "))
    return _CONTAINS.sub(r"(\2 in \1)", "".join(parts))


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
    return _eval(tree.body, env, scope, _Meter(text))


# Functions whose cost (and result) grows with their arguments: charged by the arguments' size.
_SCANNING = frozenset({"str", "min", "max", "lower", "upper", "contains", "int", "float"})


def _eval(node: ast.AST, env: dict[str, Any], scope: Scope, m: _Meter) -> Any:
    text = m.text
    m.charge(1)

    def ev(n: ast.AST) -> Any:
        return _eval(n, env, scope, m)

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
            return _BINOPS[type(node.op)](m, ev(node.left), ev(node.right))
        if isinstance(node, ast.Compare):
            left = ev(node.left)
            for op, comp in zip(node.ops, node.comparators, strict=True):
                right = ev(comp)
                m.charge(m.size(left) + m.size(right))  # a comparison walks both values
                if not _CMPOPS[type(op)](left, right):
                    return False
                left = right
            return True
        if isinstance(node, ast.IfExp):
            return ev(node.body) if ev(node.test) else ev(node.orelse)
        if isinstance(node, ast.List | ast.Tuple):
            items = [ev(e) for e in node.elts]
            m.built(1 + sum(m.size(i) for i in items))
            return items
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
            args = [ev(a) for a in node.args]
            if node.func.id in _SCANNING:
                m.charge(sum(m.size(a) for a in args))
            out = _FUNCS[node.func.id](*args)
            if isinstance(out, str):
                m.built(len(out))  # str() of a large value: the one result measured after the fact
            return out
    except ExpressionError:
        raise
    except RecursionError:
        raise m.fail("compares values nested too deeply") from None
    except (TypeError, ValueError, KeyError, IndexError, ZeroDivisionError, OverflowError) as exc:
        raise ExpressionError(f"condition '{text}' failed: {type(exc).__name__}: {exc}") from None
    raise ExpressionError(f"condition '{text}': unsupported element {type(node).__name__}")
