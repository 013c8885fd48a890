"""``${...}`` references: parsing (for the validator) and resolution (for the engine).

Accepted forms: ``${user_input}``, ``${input.key}``, ``${context.user_input}``,
``${context.step_outputs.<id>[.field][0]}``, ``${<id>.output[.field]}``, ``${<loop var>}``,
``${loop.index}``, ``${branches.<id>}`` (in a fan-in), ``${env.X}`` (only names the operator
allows), and LangSwarm's ``${user_query}`` / named inputs, ``${previous_output}`` and
``${step_outputs.<id>}`` (each also after ``context.``). A string that is exactly one
reference keeps the value's native type.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..errors import LimitExceeded, WfxError

REF_RE = re.compile(r"\$\{\s*([^${}]+?)\s*\}")
_PART_RE = re.compile(r"\.?([A-Za-z_][\w\-]*)|\[\s*(-?\d+)\s*\]|\[\s*'([^']*)'\s*\]|\[\s*\"([^\"]*)\"\s*\]")


class UnresolvedReference(WfxError):
    code = "unresolved_reference"


@dataclass(frozen=True)
class Ref:
    """A parsed reference: ``root`` then a path of keys (str) and indexes (int)."""

    text: str
    root: str
    path: tuple[str | int, ...]

    def step_id(self) -> str | None:
        """The step this reference reads from, if any."""
        if self.root == "context" and len(self.path) >= 2 and self.path[0] == "step_outputs":
            return str(self.path[1])
        if self.root == "step_outputs" and self.path:
            return str(self.path[0])
        if self.root in ROOT_NAMES or self.root in LANGSWARM_NAMES:
            return None
        return self.root


ROOT_NAMES = frozenset({"user_input", "input", "context", "env", "loop", "branches", "output"})
# LangSwarm's context keys, readable with or without ``context.``
LANGSWARM_NAMES = frozenset({"user_query", "previous_output", "step_outputs"})


def parse_ref(text: str) -> Ref:
    """Parse the inside of ``${...}``. Raises UnresolvedReference on bad syntax."""
    return _parse_ref(text) if len(text) <= 200 else _parse_ref.__wrapped__(text)


@functools.lru_cache(maxsize=4096)  # a workflow's references repeat at every step and run; Ref is frozen
def _parse_ref(text: str) -> Ref:
    parts: list[str | int] = []
    pos = 0
    text = text.strip()
    while pos < len(text):
        m = _PART_RE.match(text, pos)
        if not m or m.end() == pos:
            raise UnresolvedReference(
                f"cannot parse reference '${{{text}}}' at character {pos}",
                fix="use dotted names and [index], e.g. ${context.step_outputs.fetch.items[0]}",
            )
        name, idx, sq, dq = m.groups()
        if idx is not None:
            parts.append(int(idx))
        else:
            parts.append(name if name is not None else (sq if sq is not None else dq or ""))
        pos = m.end()
    if not parts or not isinstance(parts[0], str):
        raise UnresolvedReference(f"reference '${{{text}}}' must start with a name")
    return Ref(text=text, root=parts[0], path=tuple(parts[1:]))


def find_refs(value: Any) -> list[Ref]:
    """Every reference inside a (nested) value, in order."""
    out: list[Ref] = []
    if isinstance(value, str):
        for m in REF_RE.finditer(value):
            out.append(parse_ref(m.group(1)))
    elif isinstance(value, Mapping):
        for v in value.values():
            out.extend(find_refs(v))
    elif isinstance(value, list | tuple):
        for v in value:
            out.extend(find_refs(v))
    return out


class Scope:
    """What references resolve against while one step runs."""

    __slots__ = ("absent", "allowed_env", "branches", "environ", "input", "loop", "loop_path", "names", "notes",
                 "outputs", "previous", "read_env", "rendered", "step_output", "wait")

    def __init__(
        self,
        input: Any,
        outputs: Mapping[str, Any],
        *,
        loop: Mapping[str, Any] | None = None,
        branches: Mapping[str, Any] | None = None,
        allowed_env: frozenset[str] = frozenset(),
        environ: Mapping[str, str] | None = None,
        step_output: Any = None,
        loop_path: tuple[int, ...] = (),
        names: frozenset[str] = frozenset(),
        previous: Any = None,
        absent: frozenset[str] = frozenset(),
    ) -> None:
        self.input = input
        self.outputs = outputs
        self.loop = loop or {}
        self.branches = branches or {}
        self.allowed_env = allowed_env
        self.environ = environ or {}
        self.step_output = step_output
        # the iteration indexes of the enclosing loops, outermost first (child workflow ids use them)
        self.loop_path = loop_path
        # the workflow's named inputs (LangSwarm ``inputs:``) and the output that finished last
        self.names = names
        self.previous = previous
        # steps that may not have run on this path and then read as null (a join's branches),
        # and what such leniency did (for the step record)
        self.absent = absent
        self.notes: list[str] = []
        # the step's input as its action rendered it (None: not rendered yet), for the step record
        self.rendered: Any = None
        self.read_env = False  # set by any ${env.X} lookup: such an input is never kept in a preview
        self.wait: Any = None  # a wait step's outcome ({timed_out, event}) in its output condition

    def replace(self, **changes: Any) -> Scope:
        """A copy with some slots changed (``outputs=``, ``loop=``, ``step_output=`` ...)."""
        new = Scope.__new__(Scope)
        for slot in Scope.__slots__:
            setattr(new, slot, changes[slot] if slot in changes else getattr(self, slot))
        return new

    def with_output(self, output: Any) -> Scope:
        return self.replace(step_output=output)

    def named_input(self, name: str) -> Any:
        """LangSwarm's ``${user_query}`` or a named input: the input mapping's value, or (for
        user_input/user_query) a text input itself; None when it was not given."""
        if isinstance(self.input, Mapping):
            if name in self.input:
                return self.input[name]
            return self.user_input() if name == "user_query" and "user_input" in self.input else None
        return self.input if name in ("user_input", "user_query") else None

    def user_input(self) -> Any:
        if isinstance(self.input, Mapping) and "user_input" in self.input:
            return self.input["user_input"]
        return self.input

    def lookup(self, ref: Ref) -> Any:
        root, path = ref.root, list(ref.path)
        base: Any
        if root == "user_input":
            base = self.user_input()
        elif root == "input":
            base = self.input
        elif root == "output":
            base = self.step_output
        elif root == "branches":
            base = self.branches
        elif root == "env":
            if len(path) != 1 or not isinstance(path[0], str):
                raise UnresolvedReference(f"'${{{ref.text}}}': write ${{env.NAME}}")
            name = path[0]
            if name not in self.allowed_env or name not in self.environ:
                raise UnresolvedReference(
                    f"'${{{ref.text}}}': environment variable {name} is not available to workflows",
                    fix="the operator must list it in WFX_ENV_ALLOW and set it",
                )
            self.read_env = True
            return self.environ[name]
        elif root == "context":
            if path[:1] == ["user_input"]:
                base, path = self.user_input(), path[1:]
            elif path[:1] == ["step_outputs"] and len(path) >= 2:
                base, path = self._step_output(str(path[1]), ref), path[2:]
            elif path[:1] == ["input"]:
                base, path = self.input, path[1:]
            elif path and isinstance(path[0], str) and (path[0] in LANGSWARM_NAMES or path[0] in self.names):
                return self.lookup(Ref(text=ref.text, root=path[0], path=tuple(path[1:])))
            else:
                raise UnresolvedReference(
                    f"'${{{ref.text}}}': context has user_input, input and step_outputs.<step id>"
                )
        elif root == "step_outputs" and path:
            base, path = self._step_output(str(path[0]), ref), path[1:]
        elif root == "previous_output":
            base = self.previous
        elif root == "wait" and self.wait is not None:
            base = self.wait
        elif root == "user_query" or (root in self.names and root not in self.outputs):
            base = self.named_input(root)
        elif root == "loop" or root in self.loop:
            base = self.loop if root == "loop" else self.loop[root]
        else:
            base = self._step_output(root, ref)
            if path[:1] == ["output"]:
                path = path[1:]
        if base is _ABSENT:
            return None
        return _walk(base, path, ref)

    def _step_output(self, step_id: str, ref: Ref) -> Any:
        if step_id not in self.outputs and step_id in self.absent:
            note = f"'${{{ref.text}}}' is null: step '{step_id}' did not run on this path (as in LangSwarm)"
            if note not in self.notes:
                self.notes.append(note)
            return _ABSENT
        if step_id not in self.outputs:
            raise UnresolvedReference(
                f"'${{{ref.text}}}': step '{step_id}' has not produced an output on this path",
                fix=f"make this step depend on '{step_id}' (depends_on or output.to)",
                step=step_id,
            )
        return self.outputs[step_id]


_ABSENT = object()  # a lenient step reference that did not run: the whole reference is null


def _walk(base: Any, path: list[str | int], ref: Ref) -> Any:
    cur = base
    for key in path:
        try:
            if isinstance(cur, Mapping):
                cur = cur[key] if key in cur else cur[str(key)]
            elif isinstance(cur, list | tuple) and isinstance(key, int):
                cur = cur[key]
            else:
                raise KeyError(key)
        except (KeyError, IndexError, TypeError):
            if ref.root == "input" and cur is base:  # the run was not given it: say how
                raise UnresolvedReference(
                    f"'${{{ref.text}}}': the run's input has no '{key}'",
                    fix=f"pass it in the input, e.g. wfx run FILE --input '{{\"{key}\": ...}}' "
                        f"(input_data over MCP)") from None
            raise UnresolvedReference(
                f"'${{{ref.text}}}': no '{key}' in {type(cur).__name__} value",
                fix="check the field name against the producing step's output",
            ) from None
    return cur


class RenderBudget:
    """How many characters of text one render may still build (``${...}`` amplification: a
    string of 100 references to a large output must not build 100 copies first)."""

    __slots__ = ("left", "limit")

    def __init__(self, limit: int) -> None:
        self.limit = self.left = limit

    def spend(self, n: int) -> None:
        self.left -= n
        if self.left < 0:
            raise RenderTooLarge(f"rendering builds more than {self.limit} characters of text",
                                 fix="reference the value whole (\"${step.output}\") instead of repeating it "
                                     "in a string, or raise WFX_MAX_RENDER_CHARS", limit=self.limit)


class RenderTooLarge(LimitExceeded):
    pass


def render(value: Any, scope: Scope, budget: RenderBudget | None = None) -> Any:
    """Interpolate references in a (nested) value. Exact ``${x}`` keeps x's type. With a
    ``budget``, the text built across the whole value is bounded (RenderTooLarge)."""
    if isinstance(value, str):
        if "${" not in value:
            return value
        whole = _whole_ref(value) if len(value) <= 200 else _whole_ref.__wrapped__(value)
        if whole is not None:
            return scope.lookup(whole)
        if budget is None:
            return REF_RE.sub(lambda mm: _to_text(scope.lookup(parse_ref(mm.group(1)))), value)
        budget.spend(len(value))

        def piece(mm: re.Match[str]) -> str:
            text = _to_text(scope.lookup(parse_ref(mm.group(1))))
            budget.spend(len(text))  # checked piece by piece, before the whole string exists
            return text

        return REF_RE.sub(piece, value)
    if isinstance(value, Mapping):
        return {k: render(v, scope, budget) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [render(v, scope, budget) for v in value]
    return value


@functools.lru_cache(maxsize=4096)  # a workflow's arguments repeat at every step and run
def _whole_ref(value: str) -> Ref | None:
    """The reference a string is made of entirely (``"${a.b}"``: its value keeps its type), or None."""
    m = REF_RE.fullmatch(value.strip())
    return parse_ref(m.group(1)) if m else None


def _to_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if value is None:
        return ""
    try:
        return json.dumps(value, ensure_ascii=False, default=str)
    except (TypeError, ValueError):
        return str(value)
