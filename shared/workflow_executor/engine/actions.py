"""Running one step's action: function, tool, agent, child workflow, or a loop of them,
with the step's condition, retries and timeout. Nothing here writes to the store except a
child workflow's own execution record.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from ..agents.toolbox import ToolCall
from ..errors import (
    Cancelled,
    ExecutionTimeout,
    InvalidArgument,
    LimitExceeded,
    NoModelConfigured,
    NotFound,
    StepFailed,
    StepTimeout,
    StoreUnavailable,
    WfxError,
)
from ..models import Usage
from ..spec import expr
from ..spec.model import MAX_LOOP_ITERATIONS, Step
from ..spec.refs import RenderBudget, RenderTooLarge, Scope, render
from . import waits
from .agent_steps import StepAgentContext
from .functions import accepts_context, wants_run
from .outputs import check_output, too_large

if TYPE_CHECKING:
    from .run import Run

LoopVars = dict[str, Any]


MAX_TIMED_ITERATIONS = 1000  # a loop step records the start and end of this many iterations at most


class StepResult:
    __slots__ = ("attempts", "iterations", "output", "skipped", "usage")

    def __init__(self, output: Any, attempts: int, usage: Usage | None, skipped: bool = False,
                 iterations: list[list[float]] | None = None) -> None:
        self.output = output
        self.attempts = attempts
        self.usage = usage
        self.skipped = skipped
        self.iterations = iterations  # a loop's [started_at_s, ended_at_s] per iteration


def run_step(run: Run, step: Step, scope: Scope) -> StepResult:
    """Run ``step`` to its end. Raises WfxError (with the attempts made in ``details``)."""
    if step.condition is not None:
        # The condition counts against the step's and the run's timeout like the action does.
        cond = step.condition
        holds, _ = _with_timeout(run, step, lambda: (expr.evaluate(cond, scope), None))
        if not holds:
            return StepResult(None, 0, None, skipped=True)
    if waits.is_wait(step):  # resolved before this pass ran it (waits.hold parks at unresolved ones)
        return StepResult(waits.step_output(run, step), 1, None)
    if step.loop is not None:
        times: list[list[float]] = []
        try:
            out, usage, attempts = _loop(run, step, scope, times)
        except WfxError as exc:  # the iterations that ran are kept on the failed step's record
            exc.details["iterations"] = times
            raise
        return StepResult(out, attempts, usage, iterations=times)
    out, u, attempts = with_retry(run, step, lambda a: call_action(run, step, scope, a))
    return StepResult(out, attempts, u)


def with_retry(run: Run, step: Step,
               fn: Callable[[int], tuple[Any, Usage | None]]) -> tuple[Any, Usage | None, int]:
    """Call ``fn(attempt)`` under the step's timeout until it succeeds or the retry policy ends."""
    policy = step.retry
    max_attempts = policy.max_attempts if policy else 1
    attempt = 0
    spent: Usage | None = None  # LLM usage of failed attempts: paid for all the same
    cpu = [0.0]
    if step.invoke_workflow is None:  # a child's usage already carries the CPU of its steps
        fn = _cpu_timed(fn, cpu)
    while True:
        attempt += 1
        try:
            out, u = _with_timeout(run, step, lambda n=attempt: fn(n))  # type: ignore[misc]
            if cpu[0] > 0:
                u = Usage(cpu_s=cpu[0]) if u is None else u.model_copy(update={"cpu_s": u.cpu_s + cpu[0]})
            if spent is not None and (spent.prompt_tokens or spent.completion_tokens):
                u = spent.add(u or Usage())
            return out, u, attempt
        except (Cancelled, ExecutionTimeout, StoreUnavailable):
            raise
        except Exception as exc:  # a step's own code may raise anything: classify it
            err = exc if isinstance(exc, WfxError) else StepFailed(f"{type(exc).__name__}: {exc}")
            if not isinstance(exc, WfxError):
                err.retryable = True
            if isinstance(err.details.get("usage"), dict):
                spent = (spent or Usage()).add(Usage(**err.details["usage"]))
                err.details["usage"] = spent.model_dump()
            if attempt >= max_attempts or not err.retryable:
                err.details.setdefault("attempts", attempt)
                raise err from None
            assert policy is not None
            if run.clock.sleep(policy.delay_before(attempt + 1), until=run.cancel_requested):
                raise Cancelled("cancelled while waiting to retry", step=step.id) from None


def _cpu_timed(fn: Callable[[int], tuple[Any, Usage | None]],
               total: list[float]) -> Callable[[int], tuple[Any, Usage | None]]:
    """``fn`` adding the CPU time of the thread that runs it (every attempt) to ``total[0]``."""

    def timed(attempt: int) -> tuple[Any, Usage | None]:
        start = time.thread_time()
        try:
            return fn(attempt)
        finally:
            total[0] += time.thread_time() - start

    return timed


def _with_timeout(run: Run, step: Step, fn: Callable[[], tuple[Any, Usage | None]]) -> tuple[Any, Usage | None]:
    limit = step.timeout
    left = run.time_left()
    by_deadline = left is not None and (limit is None or left < limit)
    if by_deadline:
        limit = left
    if limit is None:
        return fn()
    # A thread cannot be killed: on timeout it is abandoned (counted and bounded by engine.strays)
    # and its result dropped.
    finished, result = run.engine.strays.call(fn, limit, f"wfx-step-{step.id}", step.id)
    if not finished:
        if by_deadline:
            raise ExecutionTimeout(f"execution timed out while step '{step.id}' ran")
        raise StepTimeout(f"step '{step.id}' did not finish within {limit:g} s",
                          fix="raise the step's timeout or make the step faster", step=step.id)
    out: tuple[Any, Usage | None] = result
    return out


def call_action(run: Run, step: Step, scope: Scope, attempt: int = 1) -> tuple[Any, Usage | None]:
    """Run the step's single action once; its output is checked before anyone stores it.
    ``attempt`` counts from 1 (an agent step's journal key)."""
    out, usage = _call_action(run, step, scope, attempt)
    check_output(out, step.id, run.engine.config.max_output_bytes)
    return out, usage


def _render(run: Run, step: Step, value: Any, scope: Scope) -> Any:
    limit = run.engine.config.max_render_chars
    try:
        out = render(value, scope, RenderBudget(limit))
        scope.rendered = out  # the step record's input preview reuses it
        return out
    except RenderTooLarge:
        raise LimitExceeded(f"step '{step.id}': its rendered arguments are larger than the limit of {limit} "
                            "characters (WFX_MAX_RENDER_CHARS)",
                            fix="reference a value whole (\"${a.output}\") instead of repeating it inside a "
                                "string", step=step.id, limit=limit) from None


def _call_action(run: Run, step: Step, scope: Scope, attempt: int) -> tuple[Any, Usage | None]:
    if step.function is not None:
        fn = run.engine.functions.resolve(step.function)
        args = _render(run, step, step.args, scope)
        if accepts_context(fn) and "context" not in args:
            args = {**args, "context": context_view(run, step, scope)}  # a new dict: not in the preview
        if wants_run(fn):
            return fn(run, **args), None
        return fn(**args), None
    if step.tool is not None:
        params = _render(run, step, step.params, scope)
        if run.engine.tools is not None:  # the registry also resolves a built-in the document did not declare
            call = tool_call(run, step)
            return run.engine.tools.run_tool(step.tool, params, run.document, call), call.usage()
        tool = run.document.tools.get(step.tool)
        if tool is None:
            raise NotFound(f"tool '{step.tool}' is not declared in this workflow's tools")
        if tool.type == "function" and tool.function:
            return run.engine.functions.resolve(tool.function)(**params), None
        raise InvalidArgument(f"tool '{tool.id}' has type '{tool.type}', which this executor cannot run",
                              fix="use a tool of type 'function' that names an allowed function")
    if step.agent is not None:
        agent = run.document.agents.get(step.agent)
        if agent is None:
            raise NotFound(f"agent '{step.agent}' is not declared in this workflow's agents")
        if run.engine.agents is None:
            raise NoModelConfigured(
                f"step '{step.id}' needs agent '{step.agent}' but no model is configured",
                fix="set OPENAI_API_KEY (and OPENAI_BASE_URL for another endpoint) or WFX_PROVIDERS for the server")
        ctx = StepAgentContext(run, step, scope.loop_path, attempt)
        reply = run.engine.agents.run(agent, _render(run, step, step.input, scope), ctx,
                                      output_schema=step.output_schema)
        return reply.output, reply.usage
    if step.invoke_workflow is not None:
        return run.invoke_child(step, _render(run, step, step.input, scope), scope.loop_path)
    raise InvalidArgument(f"step '{step.id}' has no action")


def tool_call(run: Run, step: Step) -> ToolCall:
    """Where a tool call of ``step`` comes from, with the time it has left (monotonic deadline)."""
    limits = [t for t in (step.timeout, run.time_left()) if t is not None]
    deadline = time.monotonic() + min(limits) if limits else None
    return ToolCall(execution_id=run.ex.id, step_id=step.id, principal=run.ex.principal,
                    deadline_s=deadline, run=run, trigger_hops=run.ex.trigger_hops)


def _loop(run: Run, step: Step, scope: Scope, times: list[list[float]]) -> tuple[Any, Usage, int]:
    """Run the loop; each iteration's [start, end] goes to ``times`` (the first
    MAX_TIMED_ITERATIONS), a failed iteration's too."""
    loop = step.loop
    assert loop is not None
    usage = Usage()
    attempts = 1  # the step's one attempt, plus every retry any iteration needed
    outputs: list[Any] = []
    body_outputs: dict[str, Any] = {}  # the last iteration's body step outputs

    def iteration(i: int, item: Any, last: Any) -> Any:
        began = run.clock.now()
        try:
            out = one_iteration(i, item, last)
        except WfxError as exc:  # the LLM usage of earlier iterations is paid for all the same
            _timed(times, began, run.clock.now())
            failed = exc.details.get("usage")
            spent = usage.add(Usage(**failed)) if isinstance(failed, dict) else usage
            if spent.prompt_tokens or spent.completion_tokens:
                exc.details["usage"] = spent.model_dump()
            raise
        _timed(times, began, run.clock.now())
        return out

    def one_iteration(i: int, item: Any, last: Any) -> Any:
        nonlocal usage, attempts
        vars_: LoopVars = {loop.var: item, "item": item, "index": i, "last": last}
        path = (*scope.loop_path, i)
        it_scope = scope.replace(loop=vars_, loop_path=path)
        if loop.body:
            local = dict(scope.outputs)
            out: Any = None
            for body_step in loop.body:
                body_scope = scope.replace(outputs=local, loop=vars_, branches={}, loop_path=path)
                res = run_step(run, body_step, body_scope)
                local[body_step.id] = body_outputs[body_step.id] = out = res.output
                attempts += res.attempts - 1  # an iteration is not a retry: count only retries
                if res.usage:
                    usage = usage.add(res.usage)
            return out
        o, u, a = with_retry(run, step, lambda n: call_action(run, step, it_scope, n))
        attempts += a - 1
        if u is not None:
            usage = usage.add(u)
        return o

    if loop.until is not None:
        last: Any = None
        for i in range(loop.max):
            run.check_cancel()
            last = iteration(i, i, last)
            outputs.append(last)
            # `until` sees what the validator lets it name: the loop vars and the body's outputs
            done = scope.replace(outputs={**scope.outputs, **body_outputs},
                                 loop={loop.var: i, "item": i, "index": i, "last": last}, step_output=last)
            if expr.evaluate(loop.until, done, {"output": last, "index": i}):
                return last, usage, attempts
        raise LimitExceeded(f"loop of step '{step.id}' reached max {loop.max} iterations before "
                            f"'{loop.until}' held", fix="raise loop.max or fix the loop body", step=step.id)
    items = _render(run, step, loop.for_each, scope)
    if isinstance(items, dict):
        items = list(items.items())
    if not isinstance(items, list):
        raise InvalidArgument(f"loop.for_each of step '{step.id}' gave a {type(items).__name__}, not a list")
    if len(items) > min(loop.max, MAX_LOOP_ITERATIONS):
        raise LimitExceeded(f"loop of step '{step.id}' has {len(items)} items, more than max {loop.max}",
                            fix="raise loop.max (at most 10000) or pass fewer items", step=step.id)
    prev: Any = None
    size, limit = 2, run.engine.config.max_output_bytes
    for i, item in enumerate(items):
        run.check_cancel()
        prev = iteration(i, item, prev)
        size += check_output(prev, step.id, limit) + 1  # the list of them is the step's output
        if size > limit:
            raise too_large(step.id, limit)
        outputs.append(prev)
    return outputs, usage, attempts


def _timed(times: list[list[float]], began: float, ended: float) -> None:
    if len(times) < MAX_TIMED_ITERATIONS:
        times.append([round(began, 6), round(ended, 6)])


def context_view(run: Run, step: Step, scope: Scope) -> Any:
    """LangSwarm's ``context`` for a function: user_input, user_query, previous_output,
    step_outputs, the workflow and execution ids; read-only all the way down."""
    return _frozen({
        "user_input": scope.user_input(), "user_query": scope.named_input("user_query"), "input": scope.input,
        "previous_output": scope.previous, "step_outputs": dict(scope.outputs),
        "current_workflow_id": run.workflow.id, "execution_id": run.ex.id, "step_id": step.id,
    })


def _frozen(value: Any) -> Any:
    if isinstance(value, dict):
        return MappingProxyType({k: _frozen(v) for k, v in value.items()})
    if isinstance(value, list | tuple):
        return tuple(_frozen(v) for v in value)
    return value
