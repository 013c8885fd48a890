"""Static checks of ``${...}`` references and condition expressions for the validator: does each
reference name something that exists, and can it have been produced before the step runs?
"""

from __future__ import annotations

import ast
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .expr import _CONSTS, _FUNCS, ExpressionError, compile_expr
from .refs import LANGSWARM_NAMES, REF_RE, Ref, UnresolvedReference, find_refs, parse_ref

# Report(path, message, fix)
Report = Callable[[str, str, str], None]

_BARE_ROOTS = frozenset({"output", "loop", "user_input", "input"})
_ROOTS_HELP = ("user_input, input, context, env, loop, branches, output, previous_output, step_outputs, "
               "user_query, a named input, a step id or the loop var")


@dataclass(frozen=True)
class RefScope:
    """What a reference at one place may name.

    ``visible``: steps that have surely or possibly finished before (ancestors, plus the step
    itself where its own output is meant); ``known``: every step id of the workflow.
    """

    step: str
    visible: frozenset[str]
    known: frozenset[str]
    loop_vars: frozenset[str] = frozenset()
    allowed_env: frozenset[str] = frozenset()
    in_loop: bool = False
    fan_in: bool = False
    output: bool = False
    wait: bool = False  # a wait_for step's output condition: ${wait.timed_out} is readable
    body_only: frozenset[str] = field(default_factory=frozenset)
    inputs: frozenset[str] = frozenset()  # the workflow's named inputs (LangSwarm ``inputs:``)

    def but(self, **changes: Any) -> RefScope:
        return RefScope(**{**self.__dict__, **changes})


def check_value(value: Any, path: str, scope: RefScope, report: Report) -> None:
    """Check every reference inside a (nested) value; dict values get their own path."""
    if isinstance(value, dict):
        for k, v in value.items():
            check_value(v, f"{path}.{k}", scope, report)
        return
    if isinstance(value, list | tuple):
        for i, v in enumerate(value):
            check_value(v, f"{path}[{i}]", scope, report)
        return
    if not isinstance(value, str) or "${" not in value:
        return
    if value.count("${") != len(REF_RE.findall(value)):
        report(path, f"'{value}' has an unclosed or nested '${{'",
               "write each reference as ${name.field}, with no '${' inside it")
    try:
        refs = find_refs(value)
    except UnresolvedReference as exc:
        report(path, exc.message, exc.fix or "fix the reference syntax")
        return
    for ref in refs:
        check_ref(ref, path, scope, report)


def check_ref(ref: Ref, path: str, scope: RefScope, report: Report) -> None:
    """Report a reference that cannot resolve at this place."""
    root, rest = ref.root, ref.path
    where = f"'${{{ref.text}}}'"
    if root in scope.loop_vars or root in ("user_input", "input", "user_query", "previous_output"):
        return
    if root in scope.inputs and root not in scope.known:
        return
    if root == "step_outputs":
        if rest:
            check_step(str(rest[0]), where, path, scope, report)
        else:
            report(path, f"{where}: write ${{step_outputs.<step id>}}", "name the step whose output you read")
        return
    if root == "env":
        name = rest[0] if len(rest) == 1 else None
        if not isinstance(name, str):
            report(path, f"{where}: write ${{env.NAME}}", "name exactly one environment variable")
        elif name not in scope.allowed_env:
            report(path, f"{where}: environment variable {name} is not available to workflows",
                   "the operator must allow it (WFX_ENV_ALLOW), or pass the value as input")
    elif root == "context":
        head = rest[0] if rest else None
        if head == "step_outputs" and len(rest) >= 2:
            check_step(str(rest[1]), where, path, scope, report)
        elif isinstance(head, str) and (head in LANGSWARM_NAMES or head in scope.inputs):
            check_ref(Ref(text=ref.text, root=head, path=rest[1:]), path, scope, report)
        elif head not in ("user_input", "input"):
            report(path, f"{where}: context has user_input, input, previous_output, user_query, the named "
                   "inputs and step_outputs.<step id>",
                   "write e.g. ${context.step_outputs.fetch} or ${context.user_input}, or name the input "
                   "in the workflow's inputs: [...]")
    elif root == "loop":
        if not scope.in_loop:
            report(path, f"{where}: 'loop' exists only inside a loop", "move it into the loop's step or body")
    elif root == "branches":
        if not scope.fan_in:
            report(path, f"{where}: 'branches' exists only in a fan-in step (is_fan_in: true)",
                   "read branch results in the fan-in step, or use ${<step id>.output}")
    elif root == "wait" and "wait" not in scope.known:
        if not scope.wait:
            report(path, f"{where}: 'wait' exists only in the output condition of a wait_for step",
                   "read ${wait.timed_out} in the wait_for step's output: {to: {condition: ...}}")
    elif root == "output":
        if not scope.output:
            report(path, f"{where}: 'output' exists only in output conditions",
                   "use ${<step id>.output} to read a finished step")
    elif root in scope.known:
        check_step(root, where, path, scope, report)
    else:
        report(path, f"{where}: unknown reference root '{root}'",
               f"start the reference with {_ROOTS_HELP}; an input must be named in the workflow's inputs: [...]")


def check_step(step_id: str, where: str, path: str, scope: RefScope, report: Report) -> None:
    """Report a step reference naming no step, or a step that cannot have run yet."""
    if step_id in scope.visible:
        return
    if step_id in scope.body_only:
        report(path, f"{where}: step '{step_id}' is inside a loop body and is not visible here",
               "read the loop step's output instead")
    elif step_id in scope.known:
        report(path, f"{where}: step '{step_id}' cannot have run before '{scope.step}'",
               f"route '{step_id}' to '{scope.step}' (output.to or depends_on), or read an earlier step")
    else:
        report(path, f"{where}: unknown step '{step_id}'", "use the id of a step of this workflow")


def check_expr(text: str, path: str, scope: RefScope, report: Report) -> None:
    """Compile a condition and check its references and bare names."""
    try:
        tree, refs = compile_expr(text)
    except (ExpressionError, UnresolvedReference) as exc:
        report(path, exc.message, exc.fix or "use comparisons, and/or/not, literals and ${...}")
        return
    for text_ref in refs:
        check_ref(parse_ref(text_ref), path, scope, report)
    called = {id(n.func) for n in ast.walk(tree) if isinstance(n, ast.Call)}
    for node in ast.walk(tree):
        if not isinstance(node, ast.Name) or id(node) in called:
            continue
        name = node.id
        if name.startswith("__ref") or name in _CONSTS or name in _FUNCS:
            continue
        if name in _BARE_ROOTS or name in scope.known or name in scope.loop_vars:
            check_ref(Ref(text=name, root=name, path=()), path, scope, report)
        else:
            report(path, f"condition '{text}' uses unknown name '{name}'",
                   f"use ${{...}} references ({_ROOTS_HELP}) or quote text: '{name}'")
