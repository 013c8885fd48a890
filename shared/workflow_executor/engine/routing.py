"""Routing: where a finished step hands over to (``output.to`` and its conditions), evaluated on
the step's own output; LangSwarm's lenient fallbacks when a condition cannot be read."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..spec import expr
from ..spec.model import ExistsCondition, IfCondition, Step, SwitchCondition
from ..spec.refs import Scope, UnresolvedReference, parse_ref
from . import waits
from .frontier import chain_route, split_user

if TYPE_CHECKING:
    from .run import Run


def route(run: Run, step: Step, output: Any, scope: Scope) -> tuple[list[str], bool]:
    """The targets a finished step hands over to (a condition picks), and whether it goes to the user."""
    if run.graph.chain:
        return chain_route(run.workflow, run.index, step)
    if step.output is None:
        return [], False
    targets = list(step.output.to)
    cond = step.output.condition
    if cond is not None:
        # The condition may read this step's own output by id as well as by ``output``.
        s = scope.replace(outputs={**run.outputs, step.id: output}, step_output=output,
                          wait=waits.outcome(run, step) if waits.is_wait(step) else None)
        names = {"output": output}
        try:
            if isinstance(cond, IfCondition):
                targets += cond.then if expr.evaluate(cond.expr, s, names) else cond.otherwise
            elif isinstance(cond, SwitchCondition):
                value = expr.evaluate(cond.expr, s, names)
                key = "null" if value is None else str(value).lower() if isinstance(value, bool) else str(value)
                targets += cond.cases.get(key, cond.default)
            elif isinstance(cond, ExistsCondition):
                targets += cond.then if _exists(cond.ref, s) else cond.otherwise
        except (UnresolvedReference, expr.ExpressionError) as exc:
            # LangSwarm leaves an unreadable placeholder in place and the test is false: take
            # the else branch (the default of a switch) and say so on the step record.
            fallback = cond.default if isinstance(cond, SwitchCondition) else cond.otherwise
            targets += fallback
            scope.notes.append(f"output condition could not be evaluated ({exc.message}); took the "
                               f"{'default' if isinstance(cond, SwitchCondition) else 'else'} branch "
                               f"({', '.join(fallback) or 'nothing'}), as LangSwarm does")
    return split_user(targets)

def _exists(ref_text: str, scope: Scope) -> bool:
    text = ref_text.strip()
    if text.startswith("${") and text.endswith("}"):
        text = text[2:-1]
    try:
        value = scope.lookup(parse_ref(text))
    except UnresolvedReference:
        return False
    return value not in (None, "", [], {})
