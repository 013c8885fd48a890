"""Step-level normalisation for the loader: every accepted step form -> plain dicts shaped like
``spec.model.Step``. Problems are collected (never raised) so one load reports them all.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..errors import Issue
from .lenient import STEP_NOTES, lenient_keys
from .model import MAX_LOOP_ITERATIONS
from .shorthand import ID_RE, RESERVED_IDS, bare_agent, fresh_id, loop_flag
from .v2 import Route, is_v2, link, translate
from .waits import normalize_wait

ACTION_KEYS = ("agent", "function", "tool", "invoke_workflow")
STEP_KEYS = (
    "id", "agent", "input", "function", "args", "tool", "params", "invoke_workflow", "output",
    "depends_on", "fan_key", "is_fan_in", "loop", "retry", "timeout", "condition", "description",
    "output_schema", "wait_for", "sleep",
)
LOOP_KEYS = ("for_each", "until", "var", "max", "body")
RETRY_KEYS = ("max_attempts", "backoff_s", "max_backoff_s")
MAX_LOOP_NESTING = 8


@dataclass
class Collector:
    """Issues (errors) and warnings found so far, all in one ``file``."""

    source: str
    issues: list[Issue] = field(default_factory=list)
    warnings: list[Issue] = field(default_factory=list)

    def add(self, path: str, message: str, fix: str | None = None) -> None:
        self.issues.append(Issue(path=path, message=message, file=self.source, fix=fix))

    def warn(self, path: str, message: str, fix: str | None = None) -> None:
        self.warnings.append(Issue(path=path, message=message, file=self.source, severity="warning", fix=fix))


def keys_ok(raw: dict[str, Any], allowed: tuple[str, ...], path: str, c: Collector, what: str) -> None:
    """Report each key of ``raw`` that is not in ``allowed`` as an error (our own structures:
    loop, retry, condition, trigger, where a typo would silently change what runs)."""
    for key in raw:
        if key not in allowed:
            c.add(f"{path}.{key}" if path else key, f"unknown {what} key '{key}'",
                  fix=f"use only: {', '.join(allowed)}")


def expr_text(value: Any, path: str, c: Collector) -> str | None:
    """A condition written as text; YAML's bare true/false/numbers become their text."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, str) and value.strip():
        return value
    c.add(path, f"expected a condition expression, got {_show(value)}",
          fix="write e.g. \"${check.output.ok} == true\"")
    return None


def normalize_steps(
    raw: Any, path: str, c: Collector, prefix: str = "", depth: int = 0
) -> list[dict[str, Any]]:
    """Normalise a list of steps; ids are generated as ``<prefix>step_<n>`` where missing."""
    if not isinstance(raw, list) or not raw:
        c.add(path, f"expected a non-empty list of steps, got {_show(raw)}",
              fix="write steps as a YAML list: '- id: first' ...")
        return []
    used = {s["id"] for s in raw if isinstance(s, dict) and isinstance(s.get("id"), str)}
    out: list[dict[str, Any]] = []
    routes: list[Route] = []
    for i, item in enumerate(raw):
        spath = f"{path}[{i}]"
        if isinstance(item, str):
            item = bare_agent(item, spath, used, c)
            if item is None:
                continue
        if not isinstance(item, dict):
            c.add(spath, f"a step must be a mapping, got {_show(item)}",
                  fix="write '- id: name' followed by agent/function/tool/invoke_workflow")
            continue
        sid = item.get("id")
        if not isinstance(sid, str):
            if sid is not None:
                c.add(f"{spath}.id", f"step id must be text, got {_show(sid)}", fix="quote the id")
            sid = fresh_id(f"{prefix}step_{i + 1}", used)
        if is_v2(item):  # LangSwarm V2's type:/dependencies/true_step... in our written form
            item, route = translate(item, sid, spath, c)
            routes += [route] if route else []
        out.append(_step(item, sid, spath, c, depth))
    link(out, routes, c)
    return out


def _step(raw: dict[str, Any], sid: str, path: str, c: Collector, depth: int) -> dict[str, Any]:
    lenient_keys(raw, STEP_KEYS, path, c, "step", STEP_NOTES)
    if not ID_RE.match(sid):
        c.add(f"{path}.id", f"step id '{sid}' is not a simple name",
              fix="use letters, digits, '_' and '-', starting with a letter or '_'")
    elif sid in RESERVED_IDS:
        c.add(f"{path}.id", f"step id '{sid}' is reserved", fix=f"rename the step, e.g. '{sid}_step'")
    step: dict[str, Any] = {"id": sid}
    for key in ACTION_KEYS:
        if key in raw and raw[key] is not None:
            if isinstance(raw[key], str) and raw[key].strip():
                step[key] = raw[key].strip()
            else:
                c.add(f"{path}.{key}", f"'{key}' must name something, got {_show(raw[key])}",
                      fix=f"write {key}: <name>")
    if "input" in raw:
        step["input"] = raw["input"]
    elif raw.get("agent") is not None:  # as LangSwarm's parser does: an agent with no input gets the run's input
        step["input"] = "${user_input}"
    for key in ("args", "params"):
        if raw.get(key) is not None:
            if isinstance(raw[key], dict):
                step[key] = raw[key]
            else:
                c.add(f"{path}.{key}", f"'{key}' must be a mapping of names to values, got {_show(raw[key])}",
                      fix=f"write {key}: {{name: value}}")
    normalize_wait(raw, step, path, c)
    if raw.get("output") is not None:
        output = _output(raw["output"], f"{path}.output", c)
        if output is not None:
            step["output"] = output
    if raw.get("depends_on") is not None:
        step["depends_on"] = _ids(raw["depends_on"], f"{path}.depends_on", c)
    if raw.get("fan_key") is not None:
        if isinstance(raw["fan_key"], str) and raw["fan_key"]:
            step["fan_key"] = raw["fan_key"]
        else:
            c.add(f"{path}.fan_key", f"fan_key must be text, got {_show(raw['fan_key'])}", fix="quote it")
    if raw.get("is_fan_in") is not None:
        if isinstance(raw["is_fan_in"], bool):
            step["is_fan_in"] = raw["is_fan_in"]
        else:
            c.add(f"{path}.is_fan_in", f"is_fan_in must be true or false, got {_show(raw['is_fan_in'])}",
                  fix="write is_fan_in: true")
    if raw.get("loop") is not None:
        loop = _loop(raw["loop"], sid, f"{path}.loop", c, depth)
        if loop is not None:
            step["loop"] = loop
    if raw.get("retry") is not None:
        retry = _retry(raw["retry"], f"{path}.retry", c)
        if retry is not None:
            step["retry"] = retry
    if raw.get("timeout") is not None:
        t = raw["timeout"]
        if isinstance(t, int | float) and not isinstance(t, bool) and t > 0:
            step["timeout"] = float(t)
        else:
            c.add(f"{path}.timeout", f"timeout must be a number of seconds above 0, got {_show(t)}",
                  fix="write e.g. timeout: 30, or remove it for no step timeout")
    if raw.get("condition") is not None:
        cond = expr_text(raw["condition"], f"{path}.condition", c)
        if cond is not None:
            step["condition"] = cond
    if raw.get("description") is not None:
        step["description"] = str(raw["description"])
    if raw.get("output_schema") is not None:
        if isinstance(raw["output_schema"], dict):
            step["output_schema"] = raw["output_schema"]
        else:
            c.add(f"{path}.output_schema",
                  f"output_schema must be a JSON Schema object, got {_show(raw['output_schema'])}",
                  fix="write output_schema: {type: object, properties: {...}}")
    return step


def _ids(raw: Any, path: str, c: Collector) -> list[str]:
    items = raw if isinstance(raw, list) else [raw]
    out: list[str] = []
    for item in items:
        if isinstance(item, str) and item:
            out.append(item)
        else:
            c.add(path, f"expected step ids, got {_show(item)}", fix="write a step id or a list of them")
    return out


def _target(item: Any, path: str, c: Collector) -> str | None:
    """One routing target: ``user``, a step id, or ``{step: id}`` (``await`` has no effect here)."""
    if isinstance(item, dict) and "step" in item:
        for key in item:
            if key == "await":
                c.warn(f"{path}.await", "target key 'await': it has no effect here: a step always "
                       "finishes before its targets start", fix="remove 'await' to silence this warning")
            elif key != "step":
                c.warn(f"{path}.{key}", f"unknown target key '{key}' has no effect here", fix="write {step: id}")
        item = item["step"]
    if isinstance(item, str) and item:
        return item
    c.add(path, f"expected a step id, 'user' or a list of them, got {_show(item)}",
          fix="write to: next_step, to: user or to: [a, b]")
    return None


def _targets(raw: Any, path: str, c: Collector) -> list[str] | None:
    """``user``, an id, a list of ids or ``{step: id}`` items."""
    items = raw if isinstance(raw, list) else [raw]
    out: list[str] = []
    for i, item in enumerate(items):
        t = _target(item, f"{path}[{i}]" if isinstance(raw, list) else path, c)
        if t is None:
            return None
        out.append(t)
    return out


def _output(raw: Any, path: str, c: Collector) -> dict[str, Any] | None:
    if not isinstance(raw, dict):
        c.add(path, f"output must be a mapping, got {_show(raw)}", fix="write output: {to: <step id> | user}")
        return None
    lenient_keys(raw, ("to", "condition"), path, c, "output", {})
    out: dict[str, Any] = {}
    to = raw.get("to")
    if to is not None:
        _route_list(to, f"{path}.to", c, out)
    if raw.get("condition") is not None:
        cond = condition(raw["condition"], f"{path}.condition", c)
        if cond is not None:
            out["condition"] = cond
    return out


def _route_list(to: Any, path: str, c: Collector, out: dict[str, Any]) -> None:
    """``to``: a target, ``{condition: ...}``, or a list mixing both (LangSwarm's MCP tool form).
    As in LangSwarm, the first condition decides and routing stops there: later items never run."""
    items = to if isinstance(to, list) else [to]
    targets: list[str] = []
    for i, item in enumerate(items):
        ipath = f"{path}[{i}]" if isinstance(to, list) else path
        if isinstance(item, dict) and "condition" in item:
            lenient_keys(item, ("condition",), ipath, c, "output.to", {})
            cond = condition(item["condition"], f"{ipath}.condition", c)
            if cond is not None:
                out["condition"] = cond
            if i + 1 < len(items):
                c.warn(f"{path}[{i + 1}]", f"{len(items) - i - 1} target(s) after a condition never run: "
                       "LangSwarm stops routing at the first condition, and so do we",
                       fix="move them before the condition or into its then/else branches")
            break
        if isinstance(item, dict) and ("invoke" in item or "generate_steps" in item):
            c.add(ipath, "LangSwarm's invoke/generate_steps targets are not supported here",
                  fix="call a child workflow with a step that has invoke_workflow: <id>, and route to it")
            continue
        t = _target(item, ipath, c)
        if t is not None:
            targets.append(t)
    if targets or not out.get("condition"):
        out["to"] = targets


def condition(raw: Any, path: str, c: Collector) -> dict[str, Any] | None:
    """``{if, then, else}``, ``{switch, cases, default}`` or ``{exists, then, else}`` (and the
    normalised ``{kind, expr | ref, then, otherwise | cases, default}`` the model dumps)."""
    if isinstance(raw, dict) and "kind" in raw:
        raw = _from_normalised(raw, path, c)
        if raw is None:
            return None
    kinds = [k for k in ("if", "switch", "exists") if isinstance(raw, dict) and k in raw]
    if len(kinds) != 1:
        c.add(path, "a condition needs exactly one of if, switch or exists",
              fix="write {if: <expr>, then: a, else: b} or {switch: <expr>, cases: {x: a}, default: b}")
        return None
    assert isinstance(raw, dict)
    kind = kinds[0]
    if kind == "switch":
        keys_ok(raw, ("switch", "cases", "default"), path, c, "switch")
        cases = raw.get("cases")
        if not isinstance(cases, dict) or not cases:
            c.add(f"{path}.cases", "switch needs cases: {value: target}", fix="write cases: {yes: a, no: b}")
            return None
        out: dict[str, Any] = {"kind": "switch", "expr": expr_text(raw["switch"], f"{path}.switch", c),
                               "cases": {}}
        for key, target in cases.items():
            out["cases"][str(key)] = _targets(target, f"{path}.cases.{key}", c) or []
        if raw.get("default") is not None:
            out["default"] = _targets(raw["default"], f"{path}.default", c) or []
        return out if out["expr"] is not None else None
    keys_ok(raw, (kind, "then", "else"), path, c, kind)
    if raw.get("then") is None:
        c.add(f"{path}.then", f"'{kind}' needs then: <target>", fix="write then: <step id> | user")
        return None
    if kind == "if":
        out = {"kind": "if", "expr": expr_text(raw["if"], f"{path}.if", c)}
    else:
        ref = raw["exists"]
        if not isinstance(ref, str) or not ref.strip():
            c.add(f"{path}.exists", f"exists needs a reference, got {_show(ref)}",
                  fix='write exists: "${fetch.output.items}"')
            return None
        out = {"kind": "exists", "ref": ref.strip()}
    out["then"] = _targets(raw["then"], f"{path}.then", c) or []
    if raw.get("else") is not None:
        out["otherwise"] = _targets(raw["else"], f"{path}.else", c) or []
    return out if out.get("expr", "") is not None else None


def _from_normalised(raw: dict[str, Any], path: str, c: Collector) -> dict[str, Any] | None:
    """A dumped condition back into the written form (the dump must load unchanged)."""
    kind = raw.get("kind")
    keys = {"if": ("kind", "expr", "then", "otherwise"), "exists": ("kind", "ref", "then", "otherwise"),
            "switch": ("kind", "expr", "cases", "default")}.get(kind if isinstance(kind, str) else "")
    if keys is None:
        c.add(f"{path}.kind", f"condition kind must be if, switch or exists, got {_show(kind)}",
              fix="write {if: <expr>, then: a, else: b}")
        return None
    keys_ok(raw, keys, path, c, f"{kind} condition")
    if kind == "switch":
        return {"switch": raw.get("expr"), "cases": raw.get("cases"), "default": raw.get("default") or None}
    head = "if" if kind == "if" else "exists"
    return {head: raw.get("expr" if kind == "if" else "ref"), "then": raw.get("then"),
            "else": raw.get("otherwise") or None}


def _loop(raw: Any, sid: str, path: str, c: Collector, depth: int) -> dict[str, Any] | None:
    if isinstance(raw, bool):
        loop_flag(raw, path, c)
        return None
    if not isinstance(raw, dict):
        c.add(path, f"loop must be a mapping, got {_show(raw)}",
              fix="write loop: {for_each: ${fetch.output.items}, var: item}")
        return None
    keys_ok(raw, LOOP_KEYS, path, c, "loop")
    out: dict[str, Any] = {}
    if raw.get("for_each") is not None:
        out["for_each"] = raw["for_each"]
    if raw.get("until") is not None:
        until = expr_text(raw["until"], f"{path}.until", c)
        if until is not None:
            out["until"] = until
    if raw.get("var") is not None:
        var = raw["var"]
        if isinstance(var, str) and ID_RE.match(var) and var not in RESERVED_IDS:
            out["var"] = var
        else:
            c.add(f"{path}.var", f"loop var must be a simple, unreserved name, got {_show(var)}",
                  fix="write var: item")
    if raw.get("max") is not None:
        m = raw["max"]
        if isinstance(m, int) and not isinstance(m, bool) and 1 <= m <= MAX_LOOP_ITERATIONS:
            out["max"] = m
        else:
            c.add(f"{path}.max", f"loop max must be a whole number from 1 to {MAX_LOOP_ITERATIONS}, "
                  f"got {_show(m)}", fix="write e.g. max: 100")
    if raw.get("body") is not None and raw["body"] != []:  # [] is the dump of "no body"
        if depth >= MAX_LOOP_NESTING:
            c.add(f"{path}.body", f"loops are nested deeper than {MAX_LOOP_NESTING} levels",
                  fix="move the inner loop into a child workflow (invoke_workflow)")
        else:
            out["body"] = normalize_steps(raw["body"], f"{path}.body", c, prefix=f"{sid}_", depth=depth + 1)
    return out


def _retry(raw: Any, path: str, c: Collector) -> dict[str, Any] | None:
    fix = "write retry: 2 (two retries) or retry: {max_attempts: 3, backoff_s: 1, max_backoff_s: 30}"
    if isinstance(raw, int) and not isinstance(raw, bool):
        if 0 <= raw <= 99:
            return {"max_attempts": raw + 1}
        c.add(path, f"retry must be a number of retries from 0 to 99, got {raw}", fix=fix)
        return None
    if not isinstance(raw, dict):
        c.add(path, f"retry must be a number or a mapping, got {_show(raw)}", fix=fix)
        return None
    keys_ok(raw, RETRY_KEYS, path, c, "retry")
    out: dict[str, Any] = {}
    ok = True
    for key in RETRY_KEYS:
        if raw.get(key) is None:
            continue
        v = raw[key]
        if key == "max_attempts":
            good = isinstance(v, int) and not isinstance(v, bool) and 1 <= v <= 100
        else:
            good = isinstance(v, int | float) and not isinstance(v, bool) and v >= 0
        if good:
            out[key] = v
        else:
            ok = False
            want = "a whole number from 1 to 100" if key == "max_attempts" else "a number of seconds >= 0"
            c.add(f"{path}.{key}", f"{key} must be {want}, got {_show(v)}", fix=fix)
    return out if ok else None


def _show(value: Any) -> str:
    if value is None:
        return "nothing"
    text = repr(value)
    return f"{type(value).__name__} {text[:60]}{'...' if len(text) > 60 else ''}"
