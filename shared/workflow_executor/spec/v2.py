"""LangSwarm V2 step syntax (``type: agent | tool | condition | transform``, ``dependencies``,
``true_step`` / ``false_step``, ...) rewritten into our written step form before ``spec.normalize``
reads it, so the engine runs V2 files with its own routing, ordering and function steps.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .expr import ExpressionError, compile_expr
from .model import USER
from .refs import UnresolvedReference

if TYPE_CHECKING:
    from .normalize import Collector

TYPES = ("agent", "tool", "condition", "transform")
# V2 step types LangSwarm declares (StepType) but its YAML parser never builds: what to write here
UNBUILT = {
    "parallel": "route to several steps with output: {to: [a, b]} (they run in parallel) and join them "
                "with a step that has depends_on: [a, b]",
    "loop": "write loop: {for_each: ${<step>.output.items}, var: item} on the step to repeat",
    "validate": "use a function step (function: validate_record) or an output condition",
    "delay": "write sleep: <seconds> on a step of its own",
}
# Python code is never run: these are LangSwarm's named transformers, run by the ``transform`` function
TRANSFORMERS = {"identity": "identity", "lambda x, ctx: x": "identity", "to_json": "to_json",
                "to_string": "to_string", "length": "length"}
TRANSFORM_FUNCTION = "transform"
ROUTE_FUNCTION = "noop"  # a condition step's own action: it only routes
_TRUE, _FALSE = ("true_step", "if_true"), ("false_step", "if_false")
_V2_ONLY = ("type", "agent_id", "input_data", "input_template", "parameters", "dependencies", "transform",
            "transformer", "transform_function", "input_source", "source", "retries", "max_retries",
            *_TRUE, *_FALSE)
_ACTIONS = ("agent", "function", "tool", "invoke_workflow", "wait_for", "sleep")


@dataclass(frozen=True)
class Route:
    """A V2 condition step's branches, checked once every step of its list is known."""

    step: str
    path: str
    targets: tuple[tuple[str, str], ...]  # (the key it was written under, target)


def is_v2(raw: dict[str, Any]) -> bool:
    """Whether a step mapping uses any V2-only key."""
    return any(k in raw for k in _V2_ONLY)


def translate(raw: dict[str, Any], sid: str, path: str, c: Collector) -> tuple[dict[str, Any], Route | None]:
    """The step ``raw`` (id ``sid``) in our written form, and its routes when it is a condition.
    The step type comes from ``type:``, else from its keys as LangSwarm's parser infers it
    (``agent`` / ``tool`` / ``condition`` with a branch / ``transform``). Problems go to ``c``."""
    out = {k: v for k, v in raw.items() if k not in _V2_ONLY}
    kind = _kind(raw, sid, path, c)
    _dependencies(raw, out, path, c)
    _retries(raw, out, path, c)
    if kind == "agent":
        out["agent"] = _first(raw, ("agent", "agent_id")) or sid  # LangSwarm: the step's id names the agent
        _input(raw, out)
    elif kind == "tool":
        if raw.get("parameters") is not None and raw.get("params") is None:
            out["params"] = raw["parameters"]
        if raw.get("tool") is None:
            c.add(f"{path}.tool", f"step '{sid}' has type: tool but names no tool", fix="add tool: <tool id>")
    elif kind == "condition":
        return _condition(raw, out, sid, path, c)
    elif kind == "transform":
        _transform(raw, out, sid, path, c)
    elif kind is None:
        _input(raw, out)
    return out, None


def _kind(raw: dict[str, Any], sid: str, path: str, c: Collector) -> str | None:
    given = [k for k in _ACTIONS if raw.get(k) is not None]
    written = raw.get("type")
    if written is None:
        if given:
            return None  # our own action keys decide
        if "condition" in raw and any(k in raw for k in (*_TRUE, *_FALSE)):
            return "condition"
        if any(k in raw for k in ("transform", "transformer", "transform_function")):
            return "transform"
        return "agent" if "agent_id" in raw else None
    if not isinstance(written, str) or written not in TYPES:
        shown = written if isinstance(written, str) else type(written).__name__
        fix = UNBUILT.get(str(written)) or (
            f"write type: {' | '.join(TYPES)}, or leave type out and write the action "
            "(agent:, tool:, function:, invoke_workflow:)")
        c.add(f"{path}.type", f"step '{sid}' has type '{shown}', which is not a step type here", fix=fix)
        return None
    own = {"agent": ("agent",), "tool": ("tool",)}.get(written, ())
    other = [k for k in given if k not in own]
    if other:
        c.add(f"{path}.type", f"step '{sid}' has type: {written} and also {', '.join(other)}",
              fix=f"keep one: type: {written} with its keys, or the {other[0]} action without type")
    return written


def _first(raw: dict[str, Any], keys: tuple[str, ...]) -> Any:
    return next((raw[k] for k in keys if raw.get(k) is not None), None)


def _input(raw: dict[str, Any], out: dict[str, Any]) -> None:
    value = _first(raw, ("input", "input_data", "input_template"))
    if value is not None:
        out["input"] = value


def _dependencies(raw: dict[str, Any], out: dict[str, Any], path: str, c: Collector) -> None:
    """``dependencies`` (V2's name) joins ``depends_on``: both list steps that must finish first."""
    deps = raw.get("dependencies")
    if deps is None:
        return
    if isinstance(deps, str):
        deps = [deps]
    if not isinstance(deps, list):
        c.add(f"{path}.dependencies", "dependencies must be a step id or a list of them",
              fix="write dependencies: [step_a, step_b]")
        return
    have = out.get("depends_on")
    have = [have] if isinstance(have, str) else list(have or [])
    out["depends_on"] = list(dict.fromkeys([*have, *deps]))


def _retries(raw: dict[str, Any], out: dict[str, Any], path: str, c: Collector) -> None:
    """``retries`` / ``max_retries``: how many times a failed step is tried again (our ``retry: N``)."""
    for key in ("retries", "max_retries"):
        if raw.get(key) is None:
            continue
        if "retry" in out:
            c.warn(f"{path}.{key}", f"'{key}' is ignored beside retry", fix=f"keep one of retry and {key}")
        else:
            out["retry"] = raw[key]  # checked as retry: N by the normaliser
        return


def _condition(raw: dict[str, Any], out: dict[str, Any], sid: str, path: str,
               c: Collector) -> tuple[dict[str, Any], Route | None]:
    """A V2 condition step routes: ``output: {condition: {if, then: true_step, else: false_step}}``.
    Its expression is untrusted text, read only by the bounded evaluator (``spec.expr``)."""
    text = raw.get("condition", "true")  # LangSwarm's default when none is written
    if isinstance(text, bool):
        text = "true" if text else "false"
    out.pop("condition", None)  # here it decides the route, not whether the step runs
    out["function"] = ROUTE_FUNCTION
    if raw.get("output") is not None:
        c.add(f"{path}.output", f"condition step '{sid}' routes by true_step/false_step; it cannot have output",
              fix="remove output, or write the step as output: {condition: {if, then, else}} on an action step")
    if not isinstance(text, str) or not text.strip():
        c.add(f"{path}.condition", f"condition step '{sid}' needs an expression, got {text!r}"[:160],
              fix="write condition: \"${input} != null\"")
        return out, None
    try:
        compile_expr(text)
    except (ExpressionError, UnresolvedReference) as exc:
        c.add(f"{path}.condition", f"condition step '{sid}': {exc.message}",
              fix=exc.fix or "use comparisons (== != < >), and/or/not, literals (true, false, null, 'text') "
                             "and ${...} references; no other code is run")
        return out, None
    then_key, then = _branch(raw, _TRUE, sid, path, c)
    else_key, otherwise = _branch(raw, _FALSE, sid, path, c)
    if then is None:
        c.add(f"{path}.true_step", f"condition step '{sid}' has no true_step",
              fix="add true_step: <step id> (and false_step: <step id> for the other branch)")
        return out, None
    cond: dict[str, Any] = {"if": text, "then": then}
    targets = [(then_key, then)]
    if otherwise is not None:
        cond["else"] = otherwise
        targets.append((else_key, otherwise))
    out["output"] = {"condition": cond}
    return out, Route(step=sid, path=path, targets=tuple(targets))


def _branch(raw: dict[str, Any], keys: tuple[str, str], sid: str, path: str,
            c: Collector) -> tuple[str, str | None]:
    key = next((k for k in keys if raw.get(k) is not None), keys[0])
    value = raw.get(key)
    if value is None or (isinstance(value, str) and value.strip()):
        return key, value.strip() if isinstance(value, str) else None
    c.add(f"{path}.{key}", f"condition step '{sid}': {key} must be a step id, got {value!r}"[:160],
          fix=f"write {key}: <step id>")
    return key, None


def _transform(raw: dict[str, Any], out: dict[str, Any], sid: str, path: str, c: Collector) -> None:
    """A V2 transform step becomes ``function: transform`` over its input: LangSwarm's named
    transformers, or a ``${...}`` template rendered like any step input; never Python code."""
    how = _first(raw, ("transform", "transformer"))
    value = _first(raw, ("input", "input_data", "input_template"))
    if value is None:
        source = _first(raw, ("input_source", "source")) or "input"
        value = "${input}" if source == "input" else f"${{{source}}}"
    if raw.get("transform_function") is not None:
        c.warn(f"{path}.transform_function", f"transform step '{sid}': LangSwarm does not read "
               "transform_function either; the step passes its input on unchanged",
               fix="to call a function write function: <name> with args: {...} on the step instead")
    using = "identity"
    if how is None:
        pass
    elif isinstance(how, str) and how.strip() in TRANSFORMERS:
        using = TRANSFORMERS[how.strip()]
    elif isinstance(how, str) and "${" in how and not how.lstrip().startswith("lambda"):
        value = how  # a template: rendered like an input, the result is the step's output
    else:
        c.add(f"{path}.transform", f"transform step '{sid}': {str(how)[:60]!r} is not a transformer here "
              "(Python code in a document is never run)",
              fix=f"write transform: {' | '.join(sorted(set(TRANSFORMERS.values())))}, a template such as "
                  "\"${<step>.output.field}\", or a function step (function: <allowed function>, args: {...})")
    out["function"] = TRANSFORM_FUNCTION
    out["args"] = {"value": value, "using": using}


def link(steps: list[dict[str, Any]], routes: list[Route], c: Collector) -> None:
    """Check each condition's branches against the steps of its list, and drop a branch step's
    ``depends_on`` on its condition: the route already orders them, and a dependency would start
    the step on the other branch too."""
    ids = {s["id"] for s in steps}
    by_id = {s["id"]: s for s in steps}
    for r in routes:
        for key, target in r.targets:
            if target != USER and target not in ids:
                c.add(f"{r.path}.{key}", f"condition step '{r.step}': {key} names unknown step '{target}'",
                      fix=f"name one of: {', '.join(sorted(ids - {r.step}))} (or user)")
            deps = by_id.get(target, {}).get("depends_on")
            if isinstance(deps, list) and r.step in deps:
                deps.remove(r.step)
                if not deps:
                    del by_id[target]["depends_on"]
        sides = [t for _, t in r.targets]
        for i, s in enumerate(steps):
            deps = s.get("depends_on")
            if len(sides) == 2 and isinstance(deps, list) and sides[0] in deps and sides[1] in deps:
                c.warn(f"{r.path.rsplit('[', 1)[0]}[{i}].depends_on", f"step '{s['id']}' depends on both "
                       f"branches of condition '{r.step}' ({sides[0]}, {sides[1]}); only one runs, so it never runs",
                       fix=f"route both branches to it instead: output: {{to: {s['id']}}} on each")


def workflow_limits(body: dict[str, Any], wf: dict[str, Any], wpath: str, c: Collector) -> None:
    """``max_steps`` (a V2 policy field): LangSwarm refuses a workflow with more steps, and so do
    we. ``config: {timeout_seconds}`` is the run's timeout where ``timeout`` is not written; the
    other ``config`` keys are warnings (no effect here)."""
    m = body.get("max_steps")
    if m is not None and (not isinstance(m, int) or isinstance(m, bool) or m < 1):
        c.add(f"{wpath}.max_steps", f"max_steps must be a whole number above 0, got {m!r}"[:120],
              fix="write e.g. max_steps: 20")
    elif m is not None and len(wf["steps"]) > m:
        c.add(f"{wpath}.max_steps", f"the workflow has {len(wf['steps'])} steps, over its max_steps of {m}",
              fix=f"raise max_steps to {len(wf['steps'])} or remove steps")
    config = body.get("config")
    if config is None:
        return
    if not isinstance(config, dict):
        c.warn(f"{wpath}.config", "workflow config has no effect here; it is ignored", fix="remove 'config'")
        return
    t = config.get("timeout_seconds")
    if isinstance(t, int | float) and not isinstance(t, bool) and t > 0 and body.get("timeout") is None:
        wf["timeout"] = float(t)
    rest = [str(k) for k in config if k != "timeout_seconds"]
    if rest:
        c.warn(f"{wpath}.config", f"workflow config keys {', '.join(rest)} have no effect here (a failed step "
               "fails the run; retries are set per step with retry); they are ignored",
               fix="keep timeout_seconds only (the run's timeout), or write timeout: on the workflow")


# an agent's V2 ``config:`` keys that we honour, as our agent fields
_AGENT_CONFIG = {"temperature": "temperature", "max_tokens": "max_tokens", "timeout_seconds": "timeout",
                 "retry_attempts": "retries"}
_AGENT_NOTES = {
    "observability": "it configures LangSwarm's tracing and metrics; here the operator's settings do, so "
                     "it is ignored",
    "middleware": "it configures LangSwarm's middleware pipeline; it has no effect here and is ignored",
}


def agent_fields(agents: dict[str, Any], c: Collector) -> None:
    """A V2 agent's ``config: {temperature, max_tokens, timeout_seconds, retry_attempts}`` become
    its fields (where not written beside it); its other config keys, ``observability`` and
    ``middleware`` are warnings: accepted, with no effect here."""
    for aid, agent in agents.items():
        for key, note in _AGENT_NOTES.items():
            if key in agent:
                c.warn(f"agents.{aid}.{key}", f"agent key '{key}': {note}",
                       fix=f"remove '{key}' to silence this warning")
                del agent[key]
        config = agent.get("config")
        if not isinstance(config, dict):
            continue
        rest = []
        for key, value in config.items():
            field = _AGENT_CONFIG.get(str(key))
            if field is None:
                rest.append(str(key))
            elif agent.get(field) is None:
                agent[field] = value  # checked by the Agent model like a field written on the agent
        if rest:
            c.warn(f"agents.{aid}.config", f"agent config keys {', '.join(rest)} have no effect here; they are "
                   "ignored", fix="keep temperature, max_tokens, timeout_seconds and retry_attempts only")
        del agent["config"]
