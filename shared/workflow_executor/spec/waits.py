"""The wait steps of the workflow language: ``wait_for: {event, match, timeout, payload_schema}``
and ``sleep: SECONDS``, normalised for the loader and checked for the validator."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .model import Step
    from .normalize import Collector

EVENT_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_.:-]{0,99}$")
WAIT_KEYS = ("event", "match", "timeout", "payload_schema")
TIMED_OUT_REF = "wait.timed_out"  # an output condition reading it makes a timeout a route


def normalize_wait(raw: dict[str, Any], step: dict[str, Any], path: str, c: Collector) -> None:
    """Copy a valid ``wait_for`` / ``sleep`` of ``raw`` into ``step``; report what is not."""
    w = raw.get("wait_for")
    if w is not None:
        if isinstance(w, str):
            w = {"event": w}
        if not isinstance(w, dict):
            c.add(f"{path}.wait_for", "wait_for must be a mapping",
                  fix="write wait_for: {event: approval, timeout: 3600}")
        else:
            out = _wait_for(w, f"{path}.wait_for", c)
            if out is not None:
                step["wait_for"] = out
    s = raw.get("sleep")
    if s is not None:
        if isinstance(s, int | float) and not isinstance(s, bool) and s > 0:
            step["sleep"] = float(s)
        else:
            c.add(f"{path}.sleep", f"sleep must be a number of seconds above 0, got {s!r}"[:200],
                  fix="write e.g. sleep: 3600")


def _wait_for(w: dict[str, Any], path: str, c: Collector) -> dict[str, Any] | None:
    ok = True
    for key in w:
        if key not in WAIT_KEYS:
            c.add(f"{path}.{key}", f"unknown wait_for key '{key}'", fix=f"use only: {', '.join(WAIT_KEYS)}")
            ok = False
    event = w.get("event")
    if not isinstance(event, str) or not EVENT_RE.match(event):
        c.add(f"{path}.event", "wait_for needs an event name (a letter, then letters, digits, _ . : -; "
              "100 at most)", fix="write e.g. event: approval")
        ok = False
    match = w.get("match", {})
    if not isinstance(match, dict) or not all(isinstance(k, str) for k in match):
        c.add(f"{path}.match", "match must map payload field names to values",
              fix="write match: {order: ${input.order}}")
        ok = False
    timeout = w.get("timeout")
    if timeout is not None and (not isinstance(timeout, int | float) or isinstance(timeout, bool) or timeout <= 0):
        c.add(f"{path}.timeout", "timeout must be a number of seconds above 0", fix="write e.g. timeout: 3600")
        ok = False
    schema = w.get("payload_schema")
    if schema is not None and not isinstance(schema, dict):
        c.add(f"{path}.payload_schema", "payload_schema must be a JSON Schema object",
              fix="write payload_schema: {type: object, properties: {...}}")
        ok = False
    if not ok:
        return None
    out: dict[str, Any] = {"event": event, "match": match}
    if timeout is not None:
        out["timeout"] = float(timeout)
    if schema is not None:
        out["payload_schema"] = schema
    return out


def routes_timeout(step: Step) -> bool:
    """True when the step's output condition reads ``${wait.timed_out}``: a timeout then
    completes the step (output null) and routes; otherwise it fails the step with ``timeout``."""
    cond = step.output.condition if step.output is not None else None
    return cond is not None and TIMED_OUT_REF in cond.model_dump_json()


def check_wait(step: Step, path: str, max_s: float, in_loop: bool) -> list[tuple[str, str, str]]:
    """What is wrong with a wait step here: (path, message, fix) each."""
    out: list[tuple[str, str, str]] = []
    w = step.wait_for
    if w is None and step.sleep is None:
        return out
    if in_loop or step.loop is not None:
        out.append((path, f"step '{step.id}' waits inside a loop", "wait before or after the loop, in the "
                    "workflow's own steps"))
    for where, seconds in ((f"{path}.wait_for.timeout", w.timeout if w else None), (f"{path}.sleep", step.sleep)):
        if seconds is not None and seconds > max_s:
            out.append((where, f"{seconds:g} s is longer than the longest wait allowed here ({max_s:g} s)",
                        "wait less, or ask the operator to raise WFX_WAIT_MAX_S"))
    if w is not None and step.retry is not None:
        out.append((f"{path}.retry", "a wait step is not retried", "remove retry from the wait step"))
    return out
