"""Load a workflow document (YAML text, a file, or an already-parsed object) into the normalised
models of ``spec.model``. Shape problems are collected into one ``SpecError``; cross-reference
checks live in ``spec.validate``.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from ..errors import Issue, LimitExceeded, SpecError
from . import simple
from .jsondata import MAX_DEPTH, NotJsonData, encode
from .lenient import TOP_NOTES, WORKFLOW_NOTES, lenient_keys
from .model import MAX_DOCUMENT_BYTES, WorkflowDocument
from .normalize import Collector, keys_ok, normalize_steps
from .shorthand import ID_RE
from .v2 import agent_fields, workflow_limits
from .yamlsafe import load_yaml

TOP_KEYS = ("version", "project_name", "description", "agents", "tools", "workflows", "triggers", "schedules",
            "schedule", "settings")
WORKFLOW_KEYS = ("id", "steps", "description", "timeout", "inputs", "simple", "workflow", "max_tokens",
                 "max_cost_usd", "max_steps", "config")
TRIGGER_KEYS = ("topic", "workflow", "filter", "input", "max_concurrent", "overlap")
SCHEDULE_KEYS = ("cron", "time_zone", "workflow", "input", "max_concurrent", "overlap")
_UNION_TAGS = frozenset({"IfCondition", "SwitchCondition", "ExistsCondition"})


def load_text(
    text: str, *, source: str = "<string>", max_bytes: int = MAX_DOCUMENT_BYTES,
    warnings: list[Issue] | None = None,
) -> WorkflowDocument:
    """Parse YAML (JSON is YAML too) and normalise it.

    Raises ``LimitExceeded`` for size/depth/alias limits and ``SpecError`` listing every problem,
    each with ``file=source``, a path such as ``workflows.report.steps[2].output.to`` and a fix.
    ``warnings``, when given, receives what was accepted but has no effect here (ignored keys).
    """
    return load_object(load_yaml(text, source=source, max_bytes=max_bytes), source=source, warnings=warnings)


def read_yaml_file(path: str | Path, *, max_bytes: int = MAX_DOCUMENT_BYTES) -> Any:
    """The parsed YAML of a file (size checked before reading). Errors: LimitExceeded, SpecError."""
    p = Path(path)
    source = str(path)
    try:
        size = p.stat().st_size
        if size > max_bytes:
            raise LimitExceeded(
                f"{source}: the document is {size:,} bytes, over the limit of {max_bytes:,} bytes",
                fix="split it into smaller documents or remove unused parts",
                file=source, limit="document_bytes", max=max_bytes, size=size,
            )
        data = p.read_bytes()
    except OSError as exc:
        raise SpecError([Issue(path="<document>", message=f"cannot read the file: {exc.strerror}",
                               file=source, fix="check the path and its permissions")]) from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise SpecError([Issue(path="<document>", message=f"not UTF-8 text (byte {exc.start})",
                               file=source, fix="save the file as UTF-8")]) from None
    return load_yaml(text, source=source, max_bytes=max_bytes)


def load_file(path: str | Path, *, max_bytes: int = MAX_DOCUMENT_BYTES,
              warnings: list[Issue] | None = None) -> WorkflowDocument:
    """Read and load a YAML file; the size is checked before reading. Errors as ``load_text``."""
    return load_object(read_yaml_file(path, max_bytes=max_bytes), source=str(path), warnings=warnings)


def load_object(obj: Any, *, source: str = "<object>", warnings: list[Issue] | None = None) -> WorkflowDocument:
    """Normalise an already-parsed document (e.g. from JSON). Raises ``SpecError`` with all
    problems (and the warnings so far), ``LimitExceeded`` for nesting past ``jsondata.MAX_DEPTH``;
    ``warnings`` as in ``load_text``."""
    _check_data(obj, source)
    c = Collector(source)
    data = _document(obj, c)
    if warnings is not None:
        warnings.extend(c.warnings)
    doc: WorkflowDocument | None = None
    try:
        doc = WorkflowDocument.model_validate(data)
    except ValidationError as exc:
        seen = {(i.path, i.message) for i in c.issues}
        for issue in _pydantic_issues(exc, source):
            if (issue.path, issue.message) not in seen:
                c.issues.append(issue)
    if c.issues or doc is None:
        raise SpecError(c.issues or [Issue("<document>", "invalid document", source)], warnings=c.warnings,
                        partial=doc)
    return doc


def _check_data(obj: Any, source: str) -> None:
    """A document is JSON data by the one rule (``spec.jsondata``) before anything walks, validates,
    serializes or hashes it: an object sent as JSON may nest deeper than YAML text can, or carry
    a lone surrogate from a ``\\ud800`` escape."""
    try:
        encode(obj, "")
    except NotJsonData as bad:
        if bad.too_deep:
            raise LimitExceeded(f"{source}: the document is nested deeper than {MAX_DEPTH} levels",
                                fix="flatten the document; workflows never need this much nesting",
                                file=source, limit="document_depth", max=MAX_DEPTH) from None
        raise SpecError([Issue(path=bad.where or "<document>", message=bad.what, file=source,
                               fix=bad.fix)]) from None


def document_hash(doc: WorkflowDocument) -> str:
    """sha256 hex of the canonical JSON of the normalised document (sorted keys, no spaces)."""
    data = doc.model_dump(mode="json", exclude_defaults=False)
    text = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _document(obj: Any, c: Collector) -> dict[str, Any]:
    if not isinstance(obj, dict):
        c.add("<document>", f"a workflow document must be a mapping, got {type(obj).__name__}",
              fix="start with 'workflows:' (and optionally agents:, tools:, triggers:)")
        return {"workflows": {}}
    lenient_keys(obj, TOP_KEYS, "", c, "top-level", TOP_NOTES)
    out: dict[str, Any] = {}
    for key in ("version", "project_name", "description"):
        value = obj.get(key)
        if isinstance(value, str | int | float) and not isinstance(value, bool):
            out[key] = str(value)
        elif value is not None:
            c.add(key, f"{key} must be text, got {type(value).__name__}", fix="quote it")
    out["tools"] = _keyed(obj.get("tools"), "tools", c)
    out["agents"] = _keyed(obj.get("agents"), "agents", c)
    _agent_tools(out["agents"], out["tools"], c)
    agent_fields(out["agents"], c)
    out["workflows"] = _workflows(obj.get("workflows"), c)
    out["triggers"] = _triggers(obj.get("triggers"), c)
    out["schedules"] = _schedules(obj.get("schedules", obj.get("schedule")), c)
    settings = obj.get("settings")
    if isinstance(settings, dict):
        out["settings"] = settings
    elif settings is not None:
        c.add("settings", f"settings must be a mapping, got {type(settings).__name__}",
              fix="write settings: {}")
    return out


def _keyed(raw: Any, kind: str, c: Collector) -> dict[str, Any]:
    """Agents/tools as a list of ``{id, ...}`` or a mapping keyed by id -> ``{id: {id, ...}}``."""
    out: dict[str, Any] = {}
    if raw is None:
        return out
    items: list[tuple[str, Any, Any]] = []  # (path, declared id, body)
    if isinstance(raw, list):
        for i, item in enumerate(raw):
            if kind == "tools" and isinstance(item, str) and item:
                item = {"id": item}  # LangSwarm's short form: a tool by its name
            items.append((f"{kind}[{i}]", item.get("id") if isinstance(item, dict) else None, item))
    elif isinstance(raw, dict):
        for key, item in raw.items():
            body = {} if item is None else item
            if isinstance(body, dict) and body.get("id", key) != key:
                c.add(f"{kind}.{key}.id", f"id '{body.get('id')}' differs from its key '{key}'",
                      fix="remove the id or make it equal to the key")
            items.append((f"{kind}.{key}", key, body))
    else:
        c.add(kind, f"{kind} must be a list of {{id: ...}} or a mapping keyed by id",
              fix=f"write {kind}: [{{id: name, ...}}]")
        return out
    for path, ident, body in items:
        if not isinstance(body, dict):
            c.add(path, f"expected a mapping, got {type(body).__name__}", fix="write {id: name, ...}")
        elif not isinstance(ident, str) or not ident:
            c.add(f"{path}.id", "missing id (text)", fix="add id: <name>")
        elif ident in out:
            c.add(f"{kind}.{ident}", f"duplicate id '{ident}'", fix="give each one a distinct id")
        else:
            out[ident] = {**body, "id": ident}
            if kind == "tools" and not body.get("type"):
                # unified configs name a tool by its type; one that wraps a function is a function tool
                out[ident]["type"] = "function" if body.get("function") else ident
    return out


def _agent_tools(agents: dict[str, Any], tools: dict[str, Any], c: Collector) -> None:
    """An agent's ``tools`` may hold ``{id, type, ...}`` entries (LangSwarm declares the tool
    inline): keep the id on the agent and declare the tool once for the document."""
    for aid, agent in agents.items():
        listed = agent.get("tools")
        if not isinstance(listed, list):
            continue
        ids: list[Any] = []
        for i, entry in enumerate(listed):
            if isinstance(entry, dict) and isinstance(entry.get("id"), str) and entry["id"]:
                tid = entry["id"]
                if tid not in tools:
                    tools[tid] = {**entry, "type": entry.get("type") or tid}
                elif {**entry, "type": entry.get("type") or tid} != tools[tid]:
                    c.warn(f"agents.{aid}.tools[{i}]", f"tool '{tid}' is declared again with other "
                           "settings; the first declaration is used", fix="declare each tool once under tools:")
                ids.append(tid)
            else:
                ids.append(entry)
        agent["tools"] = ids


def _workflows(raw: Any, c: Collector) -> dict[str, Any]:
    out: dict[str, Any] = {}
    entries: list[tuple[str, Any, Any]] = []  # (path when no id is known, declared id, body)
    if isinstance(raw, list):  # form (c): [{id, steps}] or simple-syntax strings
        for i, item in enumerate(raw):
            # LangSwarm's V2 parser names an entry without an id by its position.
            ident = item.get("id", f"workflow_{i}") if isinstance(item, dict) else f"workflow_{i}"
            entries.append((f"workflows[{i}]", ident, item))
    elif isinstance(raw, dict):
        for key, value in raw.items():
            if isinstance(value, list) and value and all(isinstance(v, dict) and _is_workflow(v) for v in value):
                for i, item in enumerate(value):  # form (a): LangSwarm's main_workflow: [{id, steps}]
                    ident = item.get("id", key if len(value) == 1 else f"{key}_{i}")
                    entries.append((f"workflows.{key}[{i}]", ident, item))
            elif isinstance(value, list) and value and all(isinstance(v, str) and "->" in v for v in value):
                for i, item in enumerate(value):  # simple syntax: name: ["a -> b -> user", ...]
                    entries.append((f"workflows.{key}[{i}]", key if len(value) == 1 else f"{key}_{i}", item))
            elif isinstance(value, list):  # form (b): name: [step, ...]
                entries.append((f"workflows.{key}", key, {"steps": value}))
            else:  # form (b): name: {steps, description?, timeout?} or name: "a -> b -> user"
                if isinstance(value, dict) and value.get("id", key) != key:
                    c.add(f"workflows.{key}.id", f"id '{value.get('id')}' differs from its key '{key}'",
                          fix="remove the id or make it equal to the key")
                entries.append((f"workflows.{key}", key, value))
    else:
        c.add("workflows", "workflows is missing or not a list/mapping" if raw is None
              else f"workflows must be a mapping or a list, got {type(raw).__name__}",
              fix="write workflows: {name: {steps: [...]}} or LangSwarm's {main_workflow: [{id, steps}]}")
        return out
    if not entries:
        c.add("workflows", "no workflows defined", fix="add at least one workflow with steps")
    for path, ident, body in entries:
        if isinstance(body, str):
            body = {"simple": body}
        if not isinstance(body, dict):
            c.add(path, f"a workflow must be a mapping with steps, got {type(body).__name__}",
                  fix="write name: {steps: [...]}")
            continue
        if not isinstance(ident, str) or not ident:
            c.add(f"{path}.id", "workflow id is missing or not text", fix="add id: <name>")
            continue
        wpath = f"workflows.{ident}"
        if ident in out:
            c.add(wpath, f"duplicate workflow id '{ident}'", fix="give each workflow a distinct id")
            continue
        out[ident] = _workflow(ident, body, wpath, c)
    return out


def _is_workflow(item: dict[str, Any]) -> bool:
    return "steps" in item or "simple" in item or isinstance(item.get("workflow"), str)


def _workflow(ident: str, body: dict[str, Any], wpath: str, c: Collector) -> dict[str, Any]:
    lenient_keys(body, WORKFLOW_KEYS, wpath, c, "workflow", WORKFLOW_NOTES)
    text = body.get("simple", body.get("workflow"))
    raw_steps = body.get("steps")
    if isinstance(text, str) and raw_steps is None:
        key = "simple" if "simple" in body else "workflow"
        raw_steps = simple.expand(text, f"{wpath}.{key}", c) or []
        if not raw_steps:
            return {"id": ident, "steps": []}
    elif text is not None:
        key = "simple" if "simple" in body else "workflow"
        c.add(f"{wpath}.{key}", f"'{key}' must be simple-syntax text alone (no steps beside it)",
              fix='write simple: "agent_a -> agent_b -> user", or steps: [...] without it')
    wf: dict[str, Any] = {"id": ident, "steps": normalize_steps(raw_steps, f"{wpath}.steps", c)}
    if body.get("description") is not None:
        wf["description"] = str(body["description"])
    t = body.get("timeout")
    if t is not None:
        if isinstance(t, int | float) and not isinstance(t, bool) and t > 0:
            wf["timeout"] = float(t)
        else:
            c.add(f"{wpath}.timeout", f"timeout must be a number of seconds above 0, got {t!r}",
                  fix="write e.g. timeout: 600")
    workflow_limits(body, wf, wpath, c)
    names = _inputs(body.get("inputs"), f"{wpath}.inputs", c)
    if names:
        wf["inputs"] = names
    for key, kind in (("max_tokens", int), ("max_cost_usd", float)):  # the LLM budget of a run
        v = body.get(key)
        if v is not None:
            if isinstance(v, kind | int) and not isinstance(v, bool) and v > 0:
                wf[key] = v
            else:
                c.add(f"{wpath}.{key}", f"{key} must be a number above 0, got {v!r}",
                      fix=f"write e.g. {key}: {100000 if kind is int else 0.5}")
    return wf


def _inputs(raw: Any, path: str, c: Collector) -> list[str]:
    """Named inputs: ``[user_input, user_query]`` (or a mapping whose keys are the names)."""
    if raw is None:
        return []
    items = list(raw) if isinstance(raw, dict | list) else None
    if items is None or not all(isinstance(n, str) and ID_RE.match(n) for n in items):
        c.add(path, f"inputs must be a list of names, got {raw!r}"[:160], fix="write inputs: [user_input, user_query]")
        return []
    return list(dict.fromkeys(items))


def _triggers(raw: Any, c: Collector) -> list[Any]:
    if raw is None:
        return []
    if not isinstance(raw, list):
        c.add("triggers", "triggers must be a list", fix="write triggers: [{topic: name, workflow: id}]")
        return []
    return _mappings(raw, TRIGGER_KEYS, "triggers", "trigger", "write {topic: name, workflow: id}", c)


def _schedules(raw: Any, c: Collector) -> list[Any]:
    """``schedules: [{cron, time_zone, workflow, input}]``, or one ``schedule: {...}``."""
    if raw is None:
        return []
    items = [raw] if isinstance(raw, dict) else raw
    if not isinstance(items, list):
        c.add("schedules", "schedules must be a list (or schedule: one mapping)",
              fix="write schedules: [{cron: '0 3 * * *', time_zone: UTC}]")
        return []
    return _mappings(items, SCHEDULE_KEYS, "schedules", "schedule", "write {cron: '0 3 * * *'}", c)


def _mappings(items: list[Any], keys: tuple[str, ...], section: str, what: str, fix: str,
              c: Collector) -> list[Any]:
    """Each item of ``section`` as a mapping of its known ``keys``; others are findings."""
    out: list[Any] = []
    for i, item in enumerate(items):
        if isinstance(item, dict):
            keys_ok(item, keys, f"{section}[{i}]", c, what)
            out.append({k: v for k, v in item.items() if k in keys})
        else:
            c.add(f"{section}[{i}]", f"a {what} must be a mapping", fix=fix)
    return out


_FIXES = {
    "missing": "add the field",
    "string_type": "write text (quote it)",
    "bool_type": "write true or false",
    "int_type": "write a whole number",
    "float_type": "write a number",
    "dict_type": "write a mapping",
    "list_type": "write a list",
    "extra_forbidden": "remove the key",
}


def _pydantic_issues(exc: ValidationError, source: str) -> list[Issue]:
    """Pydantic's locations map one-to-one onto our paths because the normalised dicts mirror
    the models (workflows keyed by id, steps as lists)."""
    issues = []
    for err in exc.errors(include_url=False):
        path = ""
        for part in err["loc"]:
            if isinstance(part, int):
                path += f"[{part}]"
            elif part not in _UNION_TAGS:
                path += f".{part}" if path else str(part)
        shown = repr(err.get("input"))
        shown = shown if len(shown) <= 60 else shown[:57] + "..."
        message = err["msg"] if err["type"] == "missing" else f"{err['msg']} (got {shown})"
        issues.append(Issue(path=path or "<document>", message=message, file=source,
                            fix=_FIXES.get(err["type"], "see the workflow language, DESIGN.md §3")))
    return issues
